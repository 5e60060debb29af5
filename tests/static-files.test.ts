// The server's public static files (serve/static-files.ts) over real HTTP, against the real build in
// web-demo/dist (`npm run build` first): embeddable from other origins, precompressed and negotiated,
// cached by content hash or revalidated by ETag. Raw node:http requests: nothing decodes for us.
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../serve/server.js';
import { negotiateEncoding, parseEmbedOrigins } from '../serve/static-files.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'web-demo/dist');
const work = tempDir('onnxgan-static-');
const models = path.join(work, 'models');
let srv: RunningServer;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${srv.url}${url}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const decode = (r: Reply): Buffer =>
  r.headers['content-encoding'] === 'br'
    ? zlib.brotliDecompressSync(r.body)
    : r.headers['content-encoding'] === 'gzip'
      ? zlib.gunzipSync(r.body)
      : r.body;

/** The hashed runtime files of the build, by onnxruntime-web's own names. */
const manifest = (): Record<string, string> =>
  JSON.parse(readFileSync(path.join(DIST, 'ort/manifest.json'), 'utf8')) as Record<string, string>;

beforeAll(async () => {
  if (!existsSync(path.join(DIST, 'onnx-gan.js'))) throw new Error('web-demo/dist is missing: run npm run build first');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(models);
  copyFileSync(path.join(ROOT, 'models/cgan.onnx'), path.join(models, 'cgan.onnx'));
  srv = await startServer({ models, port: 0, logLevel: 'silent', accessLog: false });
});
afterAll(() => srv?.close());

describe('embeddable by default', () => {
  it('public files carry CORS *, CORP cross-origin and Timing-Allow-Origin; the page and the API do not', async () => {
    const wasm = manifest()['ort-wasm-simd-threaded.wasm']!;
    for (const url of [
      '/dist/onnx-gan.js',
      `/dist/ort/${wasm}`,
      '/ort/ort.wasm.min.mjs',
      '/ort/ort.min.mjs',
      '/models/cgan.onnx',
      '/models/missing.onnx',
    ]) {
      const r = await get(url, { origin: 'https://third-party.example' });
      expect(r.headers['access-control-allow-origin'], url).toBe('*');
      expect(r.headers['cross-origin-resource-policy'], url).toBe('cross-origin');
      expect(r.headers['timing-allow-origin'], url).toBe('*');
    }
    for (const url of ['/', '/v1/models', '/healthz']) {
      const r = await get(url, { origin: 'https://third-party.example' });
      expect(r.headers['access-control-allow-origin'], url).toBeUndefined();
      expect(r.headers['cross-origin-resource-policy'], url).toBe('same-origin');
    }
    // A missing model is a readable 404 for the page (not a CORS failure).
    expect((await get('/models/missing.onnx')).status).toBe(404);
  });

  it('embedOrigins restricts the public files to the listed origins', async () => {
    const only = await startServer({
      models,
      port: 0,
      logLevel: 'silent',
      accessLog: false,
      embedOrigins: ['https://a.example', 'http://localhost:3000/'],
      cors: ['*'],
    });
    try {
      for (const url of ['/dist/onnx-gan.js', '/models/cgan.onnx', '/ort/ort.wasm.min.mjs']) {
        const allowed = await fetch(`${only.url}${url}`, { headers: { origin: 'http://localhost:3000' } });
        expect(allowed.headers.get('access-control-allow-origin'), url).toBe('http://localhost:3000');
        expect(allowed.headers.get('cross-origin-resource-policy'), url).toBe('cross-origin');
        expect(allowed.headers.get('vary'), url).toMatch(/Origin/);
        // Even with --cors * for the API, another origin gets no CORS on the public files.
        const other = await fetch(`${only.url}${url}`, { headers: { origin: 'https://b.example' } });
        expect(other.headers.get('access-control-allow-origin'), url).toBeNull();
        expect(other.headers.get('cross-origin-resource-policy'), url).toBe('same-origin');
      }
      expect(
        (await fetch(`${only.url}/v1/models`, { headers: { origin: 'https://b.example' } })).headers.get('access-control-allow-origin'),
      ).toBe('*');
    } finally {
      await only.close();
    }
    await expect(startServer({ models, port: 0, logLevel: 'silent', embedOrigins: ['a.example'] })).rejects.toThrow(
      'embed origin "a.example" is not an origin like https://example.org',
    );
    await expect(startServer({ models, port: 0, logLevel: 'silent', embedOrigins: ['https://a.example/path'] })).rejects.toThrow(
      /not an origin/,
    );
    expect(parseEmbedOrigins(['*', 'https://a.example'])).toBe('*');
    expect(parseEmbedOrigins(undefined)).toBe('*');
  });

  it('onnxgan serve --embed-origins with a malformed origin: one line naming it, exit 1', async () => {
    const r = await runCli(['serve', '--models', models, '--port', '0', '--embed-origins', 'https://a.example,a.example']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n'), r.stderr).toEqual([
      'onnxgan serve: embed origin "a.example" is not an origin like https://example.org or http://localhost:3000',
    ]);
  });
});

describe('compression', () => {
  it('every js/mjs/wasm/css/json file of the build has .br and .gz copies with the same content', () => {
    const files = [
      ...readdirSync(DIST).map((f) => path.join(DIST, f)),
      ...readdirSync(path.join(DIST, 'ort')).map((f) => path.join(DIST, 'ort', f)),
    ].filter((f) => /\.(m?js|wasm|css|json)$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) {
      const original = readFileSync(f);
      expect(zlib.brotliDecompressSync(readFileSync(`${f}.br`)).equals(original), `${f}.br`).toBe(true);
      expect(zlib.gunzipSync(readFileSync(`${f}.gz`)).equals(original), `${f}.gz`).toBe(true);
    }
  });

  it('negotiates brotli, gzip or identity per request, with the right type and Vary', async () => {
    const m = manifest();
    const cases: [string, string, RegExp][] = [
      ['/dist/onnx-gan.js', path.join(DIST, 'onnx-gan.js'), /^text\/javascript/],
      [`/dist/ort/${m['ort-wasm-simd-threaded.wasm']}`, path.join(DIST, 'ort', m['ort-wasm-simd-threaded.wasm']!), /^application\/wasm$/],
      ['/ort/ort-wasm-simd-threaded.mjs', path.join(DIST, 'ort', m['ort-wasm-simd-threaded.mjs']!), /^text\/javascript/],
      ['/models/cgan.onnx', path.join(models, 'cgan.onnx'), /^application\/octet-stream$/],
    ];
    for (const [url, file, type] of cases) {
      const original = readFileSync(file);
      for (const [accept, encoding] of [
        ['gzip, deflate, br, zstd', 'br'], // Chrome's header: brotli wins the tie
        ['gzip', 'gzip'],
        ['br;q=0, gzip;q=0.5', 'gzip'],
        ['identity', undefined],
        ['*', 'br'],
        ['', undefined],
      ] as const) {
        const r = await get(url, { 'accept-encoding': accept });
        expect(r.status, `${url} ${accept}`).toBe(200);
        expect(r.headers['content-encoding'], `${url} ${accept}`).toBe(encoding);
        expect(r.headers['content-type'], `${url} ${accept}`).toMatch(type);
        expect(r.headers.vary, url).toMatch(/Accept-Encoding/);
        expect(decode(r).equals(original), `${url} ${accept}: same bytes`).toBe(true);
        if (encoding) expect(r.body.length, `${url} ${accept}: smaller`).toBeLessThan(original.length);
      }
    }
    const head = await get('/dist/onnx-gan.js', { 'accept-encoding': 'br' }, 'HEAD');
    expect([head.status, head.headers['content-encoding'], head.body.length]).toEqual([200, 'br', 0]);
  });

  it('encoding names: q-values, wildcards, case and junk', () => {
    expect(negotiateEncoding('BR, GZIP', ['br', 'gzip'])).toBe('br');
    expect(negotiateEncoding('gzip;q=1, br;q=0.9', ['br', 'gzip'])).toBe('gzip');
    expect(negotiateEncoding('*;q=0.1, br;q=0', ['br', 'gzip'])).toBe('gzip');
    expect(negotiateEncoding('br;q=abc', ['br'])).toBeNull();
    expect(negotiateEncoding(undefined, ['br', 'gzip'])).toBeNull();
    expect(negotiateEncoding('br', [])).toBeNull();
  });

  it('paths outside the folders are refused, with or without compressed copies', async () => {
    for (const url of [
      '/dist/..%2F..%2Fpackage.json',
      '/dist/%2e%2e/%2e%2e/package.json',
      '/dist/.%2e/.%2e/package.json',
      '/dist/%ZZ',
      '/ort/..%2F..%2Fpackage.json',
      '/dist/onnx-gan.js%00.br',
    ]) {
      const r = await get(url, { 'accept-encoding': 'br' });
      expect(r.status, url).toBeGreaterThanOrEqual(400);
      expect(r.status, url).toBeLessThan(500);
      expect(r.body.toString(), url).not.toContain('"name": "onnxgan"');
    }
  });
});

describe('caching', () => {
  it('content-hashed files are immutable; entry files and /ort/ names are revalidated by ETag', async () => {
    const chunk = readdirSync(DIST).find((f) => /^chunk-[A-Z2-7]{8}\.js$/.test(f))!;
    for (const url of [`/dist/${chunk}`, `/dist/ort/${manifest()['ort-wasm-simd-threaded.wasm']}`]) {
      expect((await get(url, { 'accept-encoding': 'br' })).headers['cache-control'], url).toBe('public, max-age=31536000, immutable');
    }
    for (const url of ['/dist/onnx-gan.js', '/dist/demo.js', '/ort/ort-wasm-simd-threaded.wasm', '/', '/style.css']) {
      for (const accept of ['br', 'identity']) {
        const r = await get(url, { 'accept-encoding': accept });
        expect(r.headers['cache-control'], url).toBe('no-cache');
        const again = await get(url, { 'accept-encoding': accept, 'if-none-match': String(r.headers.etag) });
        expect(again.status, `${url} revalidated (${accept})`).toBe(304);
        expect(again.body.length).toBe(0);
      }
    }
    // Each encoding is its own representation with its own ETag.
    const [br, identity] = await Promise.all([get('/dist/onnx-gan.js', { 'accept-encoding': 'br' }), get('/dist/onnx-gan.js')]);
    expect(br.headers.etag).not.toBe(identity.headers.etag);
  });

  it('model files: ETag per encoding, 304 while unchanged, new bytes and ETag once the file is replaced', async () => {
    const first = await get('/models/cgan.onnx', { 'accept-encoding': 'br' });
    const plain = await get('/models/cgan.onnx');
    expect(first.headers['cache-control']).toBe('no-cache');
    expect(first.headers.etag).toMatch(/^"[\w-]+-br"$/);
    expect(plain.headers.etag).not.toBe(first.headers.etag);
    expect((await get('/models/cgan.onnx', { 'accept-encoding': 'br', 'if-none-match': String(first.headers.etag) })).status).toBe(304);
    expect((await get('/models/cgan.onnx', { 'if-none-match': String(first.headers.etag) })).status, 'another encoding').toBe(200);

    // Replace the model (atomically, as `onnxgan export` writes) with another generator.
    const replacement = readFileSync(path.join(ROOT, 'models/fashion-cgan.onnx'));
    copyFileSync(path.join(ROOT, 'models/fashion-cgan.onnx'), path.join(models, '.cgan.tmp'));
    renameSync(path.join(models, '.cgan.tmp'), path.join(models, 'cgan.onnx'));
    let after: Reply | undefined;
    for (let i = 0; i < 100 && !after; i++) {
      const r = await get('/models/cgan.onnx', { 'accept-encoding': 'br', 'if-none-match': String(first.headers.etag) });
      if (r.status === 200) after = r;
      else await new Promise((res) => setTimeout(res, 100));
    }
    expect(after, 'the replaced file is served').toBeDefined();
    expect(after!.headers.etag).not.toBe(first.headers.etag);
    expect(decode(after!).equals(replacement)).toBe(true);
  });
});
