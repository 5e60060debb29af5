// Every way loading can fail shows a short reason inside the element within 10 s of navigation and
// fires one `error` event: refused and stalled servers, missing CORS, COEP, a wrong runtime location,
// a file that is not a model, a runtime whose wasm stalls or is not WebAssembly. The element itself
// comes from a self-hosted copy on the page's origin.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { closedOrigin, elementErrors, htmlPage, startSite, startStalledServer, watchElements, type Site } from './sites.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let root: string;
const sites: Site[] = [];
test.beforeAll(() => {
  // The site: the build at /dist/, and a file that is not a model.
  root = mkdtempSync(path.join(tmpdir(), 'onnxgan-failures-'));
  symlinkSync(path.join(ROOT, 'web-demo/dist'), path.join(root, 'dist'));
  mkdirSync(path.join(root, 'models'));
  writeFileSync(path.join(root, 'models/not-a-model.onnx'), '<!doctype html><title>404</title>');
});
test.afterAll(() => rmSync(root, { recursive: true, force: true }));
test.afterEach(async () => {
  await Promise.all(sites.splice(0).map((s) => s.close()));
});

async function expectReason(page: Page, site: Site, element: string, reason: RegExp): Promise<void> {
  site.pages['/'] = htmlPage(`<script type="module" src="/dist/onnx-gan.js"></script>\n${element}`);
  await watchElements(page);
  await page.goto(site.url);
  const el = page.locator('onnx-gan');
  await expect(el).toHaveAttribute('data-state', 'error', { timeout: 10_000 });
  await expect(el.getByRole('alert')).toHaveText(reason);
  const errors = await elementErrors(page);
  expect(errors, 'one error event').toHaveLength(1);
  expect(errors[0]!.message).toMatch(reason);
  expect(errors[0]!.ms, 'ms from navigation to the error event').toBeLessThan(10_000);
  const canvas = el.locator('canvas');
  expect(await canvas.evaluate((c: HTMLCanvasElement) => c.width * c.height), 'the reason is drawn, not a blank space').toBeGreaterThan(0);
}

async function site(options: Parameters<typeof startSite>[0] = {}): Promise<Site> {
  const s = await startSite({ root, ...options });
  sites.push(s);
  return s;
}

test('a model server that refuses connections', async ({ page }) => {
  const down = await closedOrigin();
  await expectReason(
    page,
    await site(),
    `<onnx-gan src="${down}/models/cgan.onnx"></onnx-gan>`,
    /^could not download model .*: offline, or the server does not allow/,
  );
});

test('a model server without CORS headers (a plain static host on another origin)', async ({ page }) => {
  const plain = await startSite({ root: ROOT });
  sites.push(plain);
  await expectReason(page, await site(), `<onnx-gan src="${plain.origin}/models/cgan.onnx"></onnx-gan>`, /no Access-Control-Allow-Origin/);
});

test('a model server that accepts the connection and never answers', async ({ page }) => {
  const stalled = await startStalledServer();
  sites.push(stalled);
  await expectReason(
    page,
    await site(),
    `<onnx-gan src="${stalled.origin}/models/cgan.onnx"></onnx-gan>`,
    /^could not download model .*: no data for 6 s$/,
  );
});

test('a runtime location that never answers, or has no runtime', async ({ page, baseURL }) => {
  const stalled = await startStalledServer();
  sites.push(stalled);
  await expectReason(
    page,
    await site(),
    `<onnx-gan src="${baseURL}/models/cgan.onnx" ort="${stalled.origin}/ort/"></onnx-gan>`,
    /^could not (load|download) onnxruntime-web.*(no answer within 6 s|no data for 6 s)/,
  );
  await expectReason(
    page,
    await site(),
    `<onnx-gan src="${baseURL}/models/cgan.onnx" ort="/nowhere/"></onnx-gan>`,
    /^could not (load|download) onnxruntime-web.*HTTP 404/,
  );
});

test('a file that is not an onnxgan model', async ({ page }) => {
  await expectReason(
    page,
    await site(),
    '<onnx-gan src="/models/not-a-model.onnx"></onnx-gan>',
    /not-a-model\.onnx is not an onnxgan generator/,
  );
});

test('a COOP/COEP page whose model host sends neither CORS nor CORP', async ({ page }) => {
  const plain = await startSite({ root: ROOT });
  sites.push(plain);
  const isolated = await site({
    pageHeaders: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  });
  await expectReason(
    page,
    isolated,
    `<onnx-gan src="${plain.origin}/models/cgan.onnx"></onnx-gan>`,
    /^could not download model .*no Access-Control-Allow-Origin/,
  );
});

test("the runtime's wasm stalls midway, or is not WebAssembly", async ({ page, baseURL }) => {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'web-demo/dist/ort/manifest.json'), 'utf8')) as Record<string, string>;
  const name = manifest['ort-wasm-simd-threaded.wasm']!;
  const wasm = readFileSync(path.join(ROOT, 'web-demo/dist/ort', name));
  const element = `<onnx-gan src="${baseURL}/models/cgan.onnx"></onnx-gan>`;
  // The headers and the first 256 kB, then nothing.
  const stalls = await site({
    handlers: {
      [`/dist/ort/${name}`]: (_req, res) => res.writeHead(200, { 'content-type': 'application/wasm' }).write(wasm.subarray(0, 256 * 1024)),
    },
  });
  await expectReason(page, stalls, element, /^could not download onnxruntime-web's \S+\.wasm: no data for 6 s$/);
  const junk = await site({
    handlers: {
      [`/dist/ort/${name}`]: (_req, res) =>
        res.writeHead(200, { 'content-type': 'application/wasm' }).end('<!doctype html><title>not here</title>'),
    },
  });
  await expectReason(
    page,
    junk,
    element,
    /^could not download onnxruntime-web's \S+\.wasm: not WebAssembly \(it starts with "<!doctype html><"\)$/,
  );
});
