// <onnx-gan> on pages of other origins (other local ports) embedding from the onnxgan server that
// Playwright starts without flags: docs/web-demo.md's snippet, a page with COOP/COEP on its HTML only,
// the documented CSP, and `onnxgan serve --embed-origins` restricting the embedding origins.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { docBlockTags } from '../helpers/doc-blocks.js';
import { expectDigitLike, gridStats } from './helpers.js';
import { cspViolations, elementErrors, htmlPage, docSnippet, startSite, watchElements, type Site } from './sites.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const sites: Site[] = [];
const folders: string[] = [];
test.afterEach(async () => {
  await Promise.all(sites.splice(0).map((s) => s.close()));
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

/** A site's folder with the build at /dist/ and the shipped models at /models/. */
function selfHostRoot(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'onnxgan-site-'));
  folders.push(root);
  symlinkSync(path.join(ROOT, 'web-demo/dist'), path.join(root, 'dist'));
  symlinkSync(path.join(ROOT, 'models'), path.join(root, 'models'));
  return root;
}

async function site(pages: Record<string, string>, pageHeaders?: Record<string, string>, root?: string): Promise<Site> {
  const s = await startSite({ pages, pageHeaders, root });
  sites.push(s);
  return s;
}

async function expectDigits(page: Page, selector = 'onnx-gan'): Promise<void> {
  const el = page.locator(selector);
  await expect(el).toHaveAttribute('data-state', 'ready');
  expectDigitLike(await gridStats(el.locator('canvas'), 8, 8, 3), selector);
}

test('a third-party page embeds with the docs snippet from the server started without flags', async ({ page, baseURL }) => {
  const snippet = docSnippet('cross-origin', baseURL);
  expect(snippet).toContain(`${baseURL}/dist/onnx-gan.js`);
  const s = await site({ '/': htmlPage(snippet) });
  await watchElements(page);
  await page.goto(s.url);
  await expectDigits(page);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
  expect(page.workers(), 'one thread: no worker without cross-origin isolation').toHaveLength(0);
  // The generate API's CORS stays opt-in (--cors): the page may not call it.
  const api = await page.evaluate(
    (u) =>
      fetch(`${u}/v1/models`).then(
        () => 'allowed',
        () => 'blocked',
      ),
    baseURL,
  );
  expect(api).toBe('blocked');
  expect(await elementErrors(page)).toEqual([]);
});

test('COOP/COEP on the HTML only: cross-origin isolated, threads, draws', async ({ page, baseURL }) => {
  const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  // The element from the onnxgan server (CORP cross-origin) ...
  const embedding = await site({ '/': htmlPage(docSnippet('cross-origin', baseURL)) }, isolation);
  await page.goto(embedding.url);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  await expectDigits(page);
  expect(page.workers().length, 'worker threads').toBeGreaterThan(0);

  // ... and a self-hosted copy whose files carry no COEP/CORP (the case that used to hang: a worker
  // of an isolated page needs COEP on its own script's response, which such a host does not send).
  const root = selfHostRoot();
  const hosting = await site(
    {
      '/': htmlPage(
        '<script type="module" src="/dist/onnx-gan.js"></script>\n<onnx-gan src="/models/cgan.onnx" ' +
          'label="7" seed="42" count="8"></onnx-gan>',
      ),
    },
    isolation,
    root,
  );
  await page.goto(hosting.url);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  await expectDigits(page);
  expect(page.workers().length, 'worker threads').toBeGreaterThan(0);
});

test('a page with the documented CSP draws, with no violation', async ({ page, baseURL }) => {
  await watchElements(page);
  for (const tag of ['csp', 'csp-isolated']) {
    await test.step(tag, async () => {
      const line = docSnippet(tag, baseURL).trim();
      const [name, value] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()];
      expect(name).toBe('Content-Security-Policy');
      expect(value).toMatch(/^default-src 'none'; /);
      const headers: Record<string, string> = { [name]: value };
      if (tag === 'csp-isolated')
        Object.assign(headers, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
      const s = await site({ '/': htmlPage(docSnippet('cross-origin', baseURL)) }, headers);
      await page.goto(s.url);
      await expectDigits(page);
      expect(await cspViolations(page)).toEqual([]);
      if (tag === 'csp-isolated') expect(page.workers().length, 'threads under the CSP').toBeGreaterThan(0);
    });
  }
});

test('an isolated page whose CSP forbids blob: workers runs one thread and still draws', async ({ page, baseURL }) => {
  // The non-isolated CSP of the docs on an isolated page: no blob:, so no threads (and no hang).
  const line = docSnippet('csp', baseURL).trim();
  const headers = {
    'Content-Security-Policy': line.slice(line.indexOf(':') + 1).trim(),
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
  };
  const s = await site({ '/': htmlPage(docSnippet('cross-origin', baseURL)) }, headers);
  await watchElements(page);
  await page.goto(s.url);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  await expectDigits(page);
  expect(page.workers(), 'one thread').toHaveLength(0);
  expect(await elementErrors(page)).toEqual([]);
});

test('a strict CSP without the documented directives: a short reason and an error event within 10 s', async ({ page, baseURL }) => {
  const cases: [string, string, RegExp][] = [
    [
      "no 'wasm-unsafe-eval'",
      `script-src ${baseURL}; connect-src ${baseURL}`,
      /Content-Security-Policy blocks WebAssembly: add 'wasm-unsafe-eval'/,
    ],
    [
      'no connect-src for the server',
      `script-src ${baseURL} 'wasm-unsafe-eval'; connect-src 'self'`,
      /Content-Security-Policy \(connect-src\) blocks/,
    ],
  ];
  await watchElements(page);
  for (const [what, csp, reason] of cases) {
    await test.step(what, async () => {
      const s = await site(
        { '/': htmlPage(docSnippet('cross-origin', baseURL)) },
        { 'Content-Security-Policy': `default-src 'none'; ${csp}` },
      );
      await page.goto(s.url);
      const el = page.locator('onnx-gan');
      await expect(el).toHaveAttribute('data-state', 'error', { timeout: 10_000 });
      await expect(el.getByRole('alert')).toHaveText(reason);
      const errors = await elementErrors(page);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.ms).toBeLessThan(10_000);
      expect(errors[0]!.message).toMatch(reason);
    });
  }
});

/** `onnxgan serve` (the built CLI) on a free port with `flags`, once its models are loaded. */
async function serveCli(flags: string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'dist/cli.js'),
      'serve',
      '--models',
      path.join(ROOT, 'models'),
      '--port',
      '0',
      '--log-format',
      'json',
      '--no-access-log',
      ...flags,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((r) => child.on('close', r));
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /"url":"(http:[^"]+)"[^\n]*"msg":"listening"/.exec((out += d.toString()));
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then((code) => reject(new Error(`onnxgan serve exited (${code}):\n${out}`)));
  });
  await expect.poll(() => fetch(`${url}/readyz`).then((r) => r.status), { timeout: 60_000 }).toBe(200);
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

test('onnxgan serve --embed-origins: the listed origin embeds, any other does not', async ({ page }) => {
  const allowed = await site({});
  const other = await site({});
  const server = await serveCli(['--embed-origins', `${allowed.origin}, https://another.example`]);
  try {
    const html = htmlPage(docSnippet('cross-origin', server.url));
    allowed.pages['/'] = html;
    await watchElements(page);
    await page.goto(allowed.url);
    await expectDigits(page);
    expect(await elementErrors(page)).toEqual([]);
    // Any other origin gets no CORS: the element's module script does not load there.
    other.pages['/'] = html;
    const failed = page.waitForEvent('requestfailed', (r) => r.url().endsWith('/dist/onnx-gan.js'));
    await page.goto(other.url);
    await failed;
    expect(await page.evaluate(() => customElements.get('onnx-gan') === undefined)).toBe(true);
    // Nor can it fetch the model or the runtime.
    for (const file of ['/models/cgan.onnx', '/ort/ort.wasm.min.mjs']) {
      expect(
        await page.evaluate(
          (u) =>
            fetch(u).then(
              () => 'allowed',
              () => 'blocked',
            ),
          `${server.url}${file}`,
        ),
        file,
      ).toBe('blocked');
    }
  } finally {
    await server.stop();
  }
});

test("every code block of the docs' Embed section is one these specs run", () => {
  // cross-origin and csp*: this file; self-host, self-host-page and bundler: self-host.spec.ts.
  expect(docBlockTags('Embed a generator in any page')).toEqual([
    'cross-origin',
    'csp',
    'csp-isolated',
    'self-host',
    'self-host-page',
    'bundler',
  ]);
});
