// Hosting the element without an onnxgan server: docs/web-demo.md's one-folder copy under a sub-path of a
// plain static host, and `import 'onnxgan/element'` in a bundle (esbuild) with the runtime elsewhere.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { expect, test } from '@playwright/test';
import { expectDigitLike, gridStats } from './helpers.js';
import { elementErrors, htmlPage, docSnippet, startSite, watchElements, type Site } from './sites.js';

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

test('the docs self-host route: one folder copied under a sub-path of a plain static host', async ({ page }) => {
  // The docs' commands, run as written from the repository, with the site folder in a temp dir.
  const site = path.join(work, 'www');
  const commands = docSnippet('self-host').replaceAll('/var/www/site', site);
  execFileSync('bash', ['-euc', commands], { cwd: ROOT });
  const s = await startSite({ root: site, pages: { '/some/sub/path/': htmlPage(docSnippet('self-host-page')) } });
  sites.push(s);
  await watchElements(page);
  const origins = new Set<string>();
  page.on('request', (r) => origins.add(new URL(r.url()).origin));
  await page.goto(`${s.url}some/sub/path/`);
  const el = page.locator('onnx-gan');
  await expect(el).toHaveAttribute('data-state', 'ready');
  expectDigitLike(await gridStats(el.locator('canvas'), 8, 8, 3), 'self-hosted cgan');
  expect(
    [...origins].filter((o) => o !== s.origin && !o.startsWith('blob:') && o !== 'null'),
    'everything from the site itself',
  ).toEqual([]);
  expect(s.requests.filter((r) => r.includes('/ort/')).every((r) => r.startsWith('/some/sub/path/onnxgan/ort/'))).toBe(true);
  expect(await elementErrors(page)).toEqual([]);
});

test("import 'onnxgan/element' in a bundle, with the runtime location configured", async ({ page, baseURL }) => {
  // A project that installed onnxgan (a link to this checkout stands in for node_modules/onnxgan).
  const project = path.join(work, 'app');
  mkdirSync(path.join(project, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, path.join(project, 'node_modules', 'onnxgan'));
  writeFileSync(path.join(project, 'main.js'), docSnippet('bundler', baseURL));
  await build({
    entryPoints: [path.join(project, 'main.js')],
    bundle: true,
    format: 'esm',
    outfile: path.join(project, 'public/app.js'),
    absWorkingDir: project,
    logLevel: 'silent',
  });
  const element = docSnippet('cross-origin', baseURL)
    .split('\n')
    .find((l) => l.startsWith('<onnx-gan'))!;
  const s = await startSite({
    root: path.join(project, 'public'),
    pages: { '/': htmlPage(`<script type="module" src="app.js"></script>\n${element}`) },
  });
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
