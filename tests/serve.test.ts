// `onnxgan serve` end to end: real HTTP against real models (trained for one epoch and exported here).
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { imagePng } from '../common/png.js';
import { startServer, type RunningServer } from '../serve/server.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'dist/cli.js');

let work: string;
let models: string;
let srv: RunningServer;
let base: string;

const post = (name: string, body: unknown, raw?: { body: string; type?: string }) =>
  fetch(`${base}/v1/models/${name}/generate`, {
    method: 'POST',
    headers: { 'content-type': raw?.type ?? 'application/json' },
    body: raw ? raw.body : JSON.stringify(body),
  });
const bytes = async (r: Response): Promise<Buffer> => Buffer.from(await r.arrayBuffer());
const json = async (url: string): Promise<any> => (await fetch(`${base}${url}`)).json();

/** Polls until `check` passes (for the folder watcher, which reacts asynchronously). */
async function eventually<T>(check: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sum and count of a Prometheus histogram series. */
async function histogram(name: string, model: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (suffix: string): number =>
    Number(new RegExp(`^${name}_${suffix}\\{model="${model}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: value('sum'), count: value('count') };
}

/** An atomic copy, like `onnxgan export` writes: the watcher never sees half a file. */
function dropModel(from: string, name: string): void {
  const tmp = path.join(models, `.${name}.tmp`);
  copyFileSync(from, tmp);
  renameSync(tmp, path.join(models, name));
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'onnxgan-serve-'));
  models = path.join(work, 'models');
  await Promise.all(
    ['gan', 'cgan'].map(async (kind) => {
      await run('node', [CLI, 'train', '--model', kind, '--limit', '300', '--epochs', '1', '--out', path.join(work, kind)], { cwd: ROOT });
      await run('node', [CLI, 'export', path.join(work, kind), '--out', path.join(models, `${kind}.onnx`)], { cwd: ROOT });
    }),
  );
  mkdirSync(path.join(work, 'web'));
  writeFileSync(path.join(work, 'web/index.html'), '<!doctype html><title>demo</title>');
  // A long batching window makes concurrent requests reliably share a run.
  srv = await startServer({ models, port: 0, logLevel: 'silent', maxBatch: 64, maxWaitMs: 15, webRoot: path.join(work, 'web') });
  base = srv.url;
});

afterAll(async () => {
  await srv?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('endpoints', () => {
  it('reports health, readiness and the models with their metadata', async () => {
    expect(await json('/healthz')).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, loaded: ['cgan', 'gan'], failed: [], pending: 0 });
    const list = await json('/v1/models');
    const byName = Object.fromEntries(list.models.map((m: any) => [m.name, m]));
    expect(byName.cgan).toMatchObject({
      kind: 'cgan',
      classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      noise_dim: 100,
      dataset: 'mnist',
      epochs: 1,
    });
    expect(byName.gan).toMatchObject({ kind: 'gan', classes: null, noise_dim: 100 });
    expect(byName.gan.size).toBe(readFileSync(path.join(models, 'gan.onnx')).length);
    expect(byName.gan.steps).toBeGreaterThan(0);
    expect(list.failed).toEqual([]);
  });

  it('generates png, grid, json and tensor', async () => {
    const png = await post('cgan', { label: 4, seed: 11, format: 'png' });
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(png.headers.get('x-seed')).toBe('11');
    const img = PNG.sync.read(await bytes(png));
    expect([img.width, img.height]).toEqual([28, 28]);

    const grid = PNG.sync.read(await bytes(await post('cgan', { label: 4, seed: 11, count: 9, format: 'grid' })));
    expect(grid.width).toBe(3 * 28 + 4 * 2);

    const j = await (await post('cgan', { label: '4', seed: 11, count: 3, format: 'json' })).json();
    expect(j).toMatchObject({ seed: 11, label: 4 });
    expect(j.images).toHaveLength(3);
    for (const b64 of j.images) expect(PNG.sync.read(Buffer.from(b64, 'base64')).width).toBe(28);

    const t = await post('cgan', { label: 4, seed: 11, count: 3, format: 'tensor' });
    expect(t.headers.get('x-seed')).toBe('11');
    const tensor = await t.json();
    expect(tensor.shape).toEqual([3, 1, 28, 28]);
    expect(tensor.data).toHaveLength(3 * 784);
    expect(tensor.data.every((v: number) => v >= -1 && v <= 1)).toBe(true);
    // tensor = the raw values behind the PNGs: quantising them reproduces the png/json bytes.
    const first = Float32Array.from(tensor.data.slice(0, 784));
    expect(imagePng(first).toString('base64')).toBe(j.images[0]);
  });

  it('serves metrics in the Prometheus format', async () => {
    expect((await post('gan', { seed: 1, format: 'png' })).status).toBe(200); // batch and request series exist from the first generate
    const r = await fetch(`${base}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await r.text();
    for (const m of [
      'onnxgan_http_requests_total',
      'onnxgan_http_request_duration_seconds_bucket',
      'onnxgan_batch_size_bucket',
      'onnxgan_model_load_errors_total',
      'onnxgan_process_resident_memory_bytes',
    ])
      expect(text).toContain(m);
    expect(text).toMatch(/onnxgan_http_requests_total\{route="\/v1\/models\/:name\/generate",method="POST",status="200"\} \d+/);
  });

  it('hosts the web demo, onnxruntime-web and the model files, cross-origin isolated', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>demo</title>');
    const wasm = await fetch(`${base}/ort/ort-wasm-simd-threaded.wasm`);
    expect(wasm.status).toBe(200);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    const mjs = await fetch(`${base}/ort/ort.min.mjs`);
    expect(mjs.headers.get('content-type')).toMatch(/^text\/javascript/);
    const onnx = await fetch(`${base}/models/cgan.onnx`);
    expect(onnx.status).toBe(200);
    expect((await bytes(onnx)).equals(readFileSync(path.join(models, 'cgan.onnx')))).toBe(true);
    for (const url of ['/', '/healthz', '/v1/models', '/ort/ort.min.mjs', '/models/gan.onnx', '/nope']) {
      const r = await fetch(`${base}${url}`);
      expect(r.headers.get('cross-origin-opener-policy'), url).toBe('same-origin');
      expect(r.headers.get('cross-origin-embedder-policy'), url).toBe('require-corp');
    }
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'self' 'wasm-unsafe-eval' blob:/);
    expect(csp).toMatch(/worker-src 'self' blob:/);
    expect(csp).toMatch(/img-src 'self' data: blob:/);
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(page.headers.get('access-control-allow-origin')).toBeNull(); // CORS is off by default
  });

  it("answers the inference routes (plain node:http) with helmet's security headers, like every Express route", async () => {
    // Per-response headers aside, what helmet sets: run by helmet itself on a bare response here.
    const { default: helmet } = await import('helmet');
    const { IncomingMessage, ServerResponse } = await import('node:http');
    const { Socket } = await import('node:net');
    const probe = new ServerResponse(new IncomingMessage(new Socket()));
    helmet()(probe.req as never, probe as never, () => {});
    const helmetNames = Object.keys(probe.getHeaders()).sort();
    const security = (r: Response): Record<string, string> =>
      Object.fromEntries([...r.headers].filter(([k]) => helmetNames.includes(k) || k.startsWith('cross-origin-')));
    const page = security(await fetch(`${base}/v1/models`));
    expect(Object.keys(page).sort()).toEqual([...new Set([...helmetNames, 'cross-origin-embedder-policy'])].sort());
    const infer = (model: string) =>
      fetch(`${base}/v2/models/${model}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'noise', shape: [1, 100], datatype: 'FP32', data: Array(100).fill(0) }] }),
      });
    for (const [what, r] of [
      ['v1 png', await post('gan', { seed: 1, format: 'png' })],
      ['v1 error', await post('nope', { format: 'png' })],
      ['v2 infer', await infer('gan')],
      ['v2 error', await infer('nope')],
    ] as const) {
      expect(security(r), what).toEqual(page);
    }
  });

  it('allows configured CORS origins', async () => {
    const other = await startServer({
      models,
      port: 0,
      logLevel: 'silent',
      cors: ['http://example.test'],
      webRoot: path.join(work, 'web'),
    });
    try {
      const r = await fetch(`${other.url}/v1/models`, { headers: { origin: 'http://example.test' } });
      expect(r.headers.get('access-control-allow-origin')).toBe('http://example.test');
      const pre = await fetch(`${other.url}/v1/models/gan/generate`, {
        method: 'OPTIONS',
        headers: { origin: 'http://example.test', 'access-control-request-method': 'POST' },
      });
      expect(pre.status).toBe(204);
      const denied = await fetch(`${other.url}/v1/models`, { headers: { origin: 'http://evil.test' } });
      expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await other.close();
    }
  });
});

describe('determinism', () => {
  it('same model, seed, label and count give the same bytes; another seed differs', async () => {
    const a = await bytes(await post('cgan', { label: 7, seed: 1234, count: 4, format: 'grid' }));
    const b = await bytes(await post('cgan', { label: '7', seed: 1234, count: 4, format: 'grid' }));
    const c = await bytes(await post('cgan', { label: 7, seed: 1235, count: 4, format: 'grid' }));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    const d = await bytes(await post('cgan', { label: 8, seed: 1234, count: 4, format: 'grid' }));
    expect(a.equals(d)).toBe(false);
  });

  it('a random seed is reported in X-Seed and replays to the same image', async () => {
    const r = await post('gan', { format: 'png' });
    const seed = Number(r.headers.get('x-seed'));
    expect(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff).toBe(true);
    const again = await post('gan', { seed, format: 'png' });
    expect((await bytes(again)).equals(await bytes(r))).toBe(true);
  });
});

describe('dynamic batching', () => {
  it('N concurrent requests give the same images as N sequential ones, in fewer runs', async () => {
    const bodies = Array.from({ length: 24 }, (_, i) => ({ seed: 100 + i, label: i % 10, count: 1 + (i % 5), format: 'tensor' }));
    const sequential: string[] = [];
    for (const b of bodies) sequential.push(JSON.stringify((await (await post('cgan', b)).json()).data));
    // Open the client's connection pool first: otherwise connection setup spreads the arrivals out.
    await Promise.all(bodies.map(async () => (await fetch(`${base}/healthz`)).text()));
    const before = await histogram('onnxgan_batch_requests', 'cgan');
    const responses = await Promise.all(bodies.map((b) => post('cgan', b)));
    const concurrent = await Promise.all(responses.map(async (r) => JSON.stringify((await r.json()).data)));
    const after = await histogram('onnxgan_batch_requests', 'cgan');
    expect(concurrent).toEqual(sequential);
    const runs = after.count - before.count;
    expect(after.sum - before.sum).toBe(bodies.length); // every request went through the batcher once
    expect(runs).toBeLessThan(bodies.length / 2); // ... and they shared onnxruntime runs
    const rows = await histogram('onnxgan_batch_size', 'cgan');
    expect(rows.sum / rows.count).toBeGreaterThan(1);
  });
});

describe('bad input', () => {
  const cases: [string, string, unknown, number, string][] = [
    ['count too large', 'gan', { count: 65 }, 400, 'count'],
    ['count zero', 'gan', { count: 0 }, 400, 'count'],
    ['count not an integer', 'gan', { count: 1.5 }, 400, 'count'],
    ['count as a string', 'gan', { count: '2' }, 400, 'count'],
    ['png with count > 1', 'gan', { count: 2, format: 'png' }, 400, 'count'],
    ['unknown format', 'gan', { format: 'jpeg' }, 400, 'format'],
    ['negative seed', 'gan', { seed: -1 }, 400, 'seed'],
    ['seed above uint32', 'gan', { seed: 2 ** 32 }, 400, 'seed'],
    ['seed as a string', 'gan', { seed: '5' }, 400, 'seed'],
    ['label on an unconditional model', 'gan', { label: 3 }, 400, 'label'],
    ['missing label on a conditional model', 'cgan', {}, 400, 'label'],
    ['label out of range', 'cgan', { label: 10 }, 400, 'label'],
    ['negative label', 'cgan', { label: -1 }, 400, 'label'],
    ['unknown class name', 'cgan', { label: 'seven' }, 400, 'label'],
    ['unknown field', 'gan', { count: 1, colour: 'red' }, 400, 'colour'],
    ['an array body', 'gan', [1, 2], 400, '(body)'],
    ['unknown model', 'nope', { count: 1 }, 404, 'name'],
  ];
  it.each(cases)('%s', async (_title, model, body, status, field) => {
    const r = await post(model, body);
    expect(r.status).toBe(status);
    const e = await r.json();
    expect(e.field).toBe(field);
    expect(typeof e.error).toBe('string');
    expect(e.detail).toContain(field === '(body)' ? 'expected object' : field);
  });

  it('malformed JSON, a wrong content type and an oversized body', async () => {
    const malformed = await post('gan', null, { body: '{"count": 1' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: 'malformed_json', field: '(body)' });
    const text = await post('gan', null, { body: 'count=1', type: 'text/plain' });
    expect(text.status).toBe(415);
    const big = await post('gan', null, { body: JSON.stringify({ count: 1, pad: 'x'.repeat(5000) }) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: 'body_too_large' });
  });

  it('refuses path traversal and invalid names', async () => {
    const pkg = readFileSync(path.join(ROOT, 'package.json'), 'utf8');
    for (const url of [
      '/models/..%2Fpackage.json',
      '/models/%2e%2e%2fpackage.json',
      '/models/..%2F..%2Fpackage.json',
      '/ort/..%2F..%2F..%2Fpackage.json',
      '/v1/models/..%2Fpackage.json',
      '/models/gan.onnx%00',
    ]) {
      const r = await fetch(`${base}${url}`);
      expect(r.status, url).toBeGreaterThanOrEqual(400);
      expect(r.status, url).toBeLessThan(500);
      expect(await r.text(), url).not.toContain('"name": "onnxgan"');
    }
    // Unnormalised paths, which fetch() would clean up before sending.
    for (const raw of ['/models/../package.json', '/../package.json', '/ort/../../package.json']) {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${base}${raw}`, { path: raw }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(status, raw).toBeGreaterThanOrEqual(400);
      expect(body).not.toBe(pkg);
    }
    const gen = await post('..%2Fgan', { count: 1 });
    expect(gen.status).toBe(400);
    expect((await gen.json()).field).toBe('name');
  });

  it('never answered 500 and is still serving', async () => {
    // The bad requests again (this test may run first). 503 is a legitimate answer (a model that
    // failed to load, in the models folder tests); no other 5xx is.
    for (const [, model, body] of cases) await post(model, body);
    await post('gan', null, { body: '{"count": 1' });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).not.toMatch(/status="(?!503)5\d\d"/);
    expect((await post('gan', { seed: 1, format: 'png' })).status).toBe(200);
  });
});

describe('models folder', () => {
  // Each test adds its own files and removes them again, so the folder holds gan and cgan only
  // between tests, whatever their order.
  const writeCorrupt = (name: string): void =>
    writeFileSync(path.join(models, `${name}.onnx`), Buffer.from('this is not an onnx model at all, just text'));
  const failedEntry = (name: string) => eventually(async () => (await json('/v1/models')).failed.find((f: any) => f.name === name));
  /** Removes the test's model files when it ends (passed or failed) and waits until they are gone. */
  const removeAfterTest = (...names: string[]): void =>
    onTestFinished(async () => {
      for (const name of names) rmSync(path.join(models, `${name}.onnx`), { force: true });
      await eventually(async () => {
        const list = await json('/v1/models');
        return ![...list.models, ...list.failed].some((m: any) => names.includes(m.name));
      });
    });

  it('reports a corrupt file while the other models keep serving', async () => {
    removeAfterTest('broken');
    writeCorrupt('broken');
    const failed = await failedEntry('broken');
    expect(failed.error).toMatch(/broken\.onnx/);
    const ready = await (await fetch(`${base}/readyz`)).json();
    expect(ready.ready).toBe(true);
    expect(ready.failed.map((f: any) => f.name)).toContain('broken');
    expect((await post('gan', { seed: 3, format: 'png' })).status).toBe(200);
    expect((await post('cgan', { seed: 3, label: 1, format: 'png' })).status).toBe(200);
    const r = await post('broken', {});
    expect(r.status).toBe(503);
    expect((await r.json()).detail).toContain('failed to load');
    expect((await fetch(`${base}/models/broken.onnx`)).status).toBe(404);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/onnxgan_model_load_errors_total\{model="broken"\} [1-9]/);
  });

  it('replacing a corrupt file with a model loads it', async () => {
    removeAfterTest('mended');
    writeCorrupt('mended');
    await failedEntry('mended');
    dropModel(path.join(models, 'gan.onnx'), 'mended.onnx');
    await eventually(async () => (await json('/v1/models')).models.some((m: any) => m.name === 'mended'));
    expect((await json('/v1/models')).failed).toEqual([]);
    expect((await post('mended', { seed: 3, format: 'png' })).status).toBe(200);
  });

  it('picks up a new model without restart and drops a removed one', async () => {
    removeAfterTest('gan-copy');
    dropModel(path.join(models, 'gan.onnx'), 'gan-copy.onnx');
    await eventually(async () => (await json('/v1/models')).models.some((m: any) => m.name === 'gan-copy'));
    const original = await bytes(await post('gan', { seed: 77, count: 4, format: 'grid' }));
    const copy = await bytes(await post('gan-copy', { seed: 77, count: 4, format: 'grid' }));
    expect(copy.equals(original)).toBe(true);
    unlinkSync(path.join(models, 'gan-copy.onnx'));
    await eventually(async () => !(await json('/v1/models')).models.some((m: any) => m.name === 'gan-copy'));
    expect((await post('gan-copy', {})).status).toBe(404);
  });

  it('refuses file names that are not valid model names', async () => {
    removeAfterTest('bad name');
    dropModel(path.join(models, 'gan.onnx'), 'bad name.onnx');
    const failed = await eventually(async () => (await json('/v1/models')).failed.find((f: any) => f.name === 'bad name'));
    expect(failed.error).toMatch(/invalid model name/);
  });
});

describe('process', () => {
  /** Spawns `onnxgan serve` on an ephemeral port; resolves with its URL once it logged "listening". */
  function spawnServer(extra: string[] = []) {
    const child = spawn('node', [CLI, 'serve', '--models', models, '--port', '0', ...extra], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /"url":"(http:[^"]+)".*"msg":"listening"/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      void exited.then(() => reject(new Error(`server exited early:\n${out}`)));
    });
    return { child, url, exited, log: () => out };
  }

  it('finishes in-flight requests on SIGTERM and exits 0', async () => {
    // A long batching window keeps the requests inside the server while the signal arrives.
    const s = spawnServer(['--max-wait-ms', '1500', '--max-batch', '64']);
    const url = await s.url;
    const bodies = Array.from({ length: 16 }, (_, i) => ({ seed: i, count: 2, format: 'json' }));
    const inflight = bodies.map((b) =>
      fetch(`${url}/v1/models/gan/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(b),
      }).then(async (r) => ({
        status: r.status,
        body: await r.json(),
      })),
    );
    // Signal only once the server holds all of them (16 + this /metrics request).
    await eventually(async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(/^onnxgan_http_requests_in_flight (\S+)$/m.exec(text)?.[1]) >= bodies.length + 1;
    });
    s.child.kill('SIGTERM');
    const results = await Promise.all(inflight);
    expect(results.map((r) => r.status)).toEqual(bodies.map(() => 200));
    expect(results.every((r) => r.body.images.length === 2)).toBe(true);
    expect(await s.exited).toBe(0);
    expect(s.log()).toMatch(/"signal":"SIGTERM"/);
    expect(s.log()).toMatch(/"msg":"stopped"/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow(); // no longer accepting connections
  });

  it('exits 0 on SIGINT', async () => {
    const s = spawnServer();
    const url = await s.url;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(0);
  });
});
