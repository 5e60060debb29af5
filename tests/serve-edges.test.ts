// Edges a user hits on the inference routes, against a real server on small real models: bodies in
// another charset, a chunked body that never ends, informational metadata that is malformed, and a
// model file replaced while a request's body is arriving.
import { renameSync } from 'node:fs';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../serve/server.js';
import { tempDir } from './helpers/temp-dir.js';
import { writeTinyGenerator } from './helpers/tiny-generator.js';

const work = tempDir('onnxgan-edges-');
const logLines: string[] = [];
let srv: RunningServer;

const v1 = (model: string) => `/v1/models/${model}/generate`;
const v2 = (model: string) => `/v2/models/${model}/infer`;
const inferBody = (dim = 8): string =>
  JSON.stringify({ inputs: [{ name: 'noise', shape: [1, dim], datatype: 'FP32', data: new Array(dim).fill(0.5) }] });

beforeAll(async () => {
  writeTinyGenerator(path.join(work, 'tiny.onnx'));
  writeTinyGenerator(path.join(work, 'swap.onnx'), { seed: 1 });
  writeTinyGenerator(path.join(work, 'odd-meta.onnx'), {
    props: { 'onnxgan.epochs': 'many', 'onnxgan.dataset': 'line\nbreak', 'onnxgan.ema': '2' },
  });
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) });
  srv = await startServer({ models: work, port: 0, logger, accessLog: false, maxWaitMs: 0, webRoot: work });
});
afterAll(async () => {
  await srv?.close();
});

const send = (url: string, body: string, headers: Record<string, string>) => fetch(`${srv.url}${url}`, { method: 'POST', headers, body });

describe('charsets', () => {
  it('a JSON body in a charset other than UTF-8 is a 415 JSON error on every POST route; utf-8 or none is taken', async () => {
    for (const charset of ['latin1', 'utf-16', 'UTF-16LE', '"iso-8859-1"']) {
      const type = `application/json; charset=${charset}`;
      const a = await send(v1('tiny'), '{"seed": 1}', { 'content-type': type });
      expect(a.status, type).toBe(415);
      expect(await a.json()).toMatchObject({
        error: 'unsupported_media_type',
        detail: expect.stringMatching(/charset .* is not supported/),
      });
      const b = await send(v2('tiny'), inferBody(), { 'content-type': type });
      expect(b.status, type).toBe(415);
      expect((await b.json()).error).toMatch(/charset .* is not supported/);
    }
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON;Charset="UTF-8"',
      'application/json; charset=utf8',
    ]) {
      expect((await send(v1('tiny'), '{"seed": 1}', { 'content-type': type })).status, type).toBe(200);
      expect((await send(v2('tiny'), inferBody(), { 'content-type': type })).status, type).toBe(200);
    }
  });
});

/**
 * A chunked POST that keeps writing, also after the answer: resolves with the answer (a reset or
 * EPIPE before it rejects) and how long after it the server closed the connection (null: not in 6 s).
 */
function flood(url: string, headers: Record<string, string>): Promise<{ status: number; body: string; closedAfterMs: number | null }> {
  return new Promise((resolve, reject) => {
    const req = request(`${srv.url}${url}`, { method: 'POST', headers });
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    let answer: { status: number; body: string; at: number } | null = null;
    const finish = (closedAfterMs: number | null): void => {
      clearTimeout(timer);
      req.destroy();
      resolve({ ...answer!, closedAfterMs });
    };
    const closed = (): void => {
      if (answer) finish(performance.now() - answer.at);
    };
    let timer: NodeJS.Timeout;
    const pump = (): void => {
      if (req.destroyed) return;
      // Paced after the answer: the client keeps sending, the server must not read it forever.
      if (answer) return void setTimeout(() => req.write(chunk, () => pump()), 5);
      while (!answer && req.write(chunk));
      if (!answer) req.once('drain', pump);
    };
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        answer = { status: res.statusCode!, body, at: performance.now() };
        timer = setTimeout(() => finish(null), 6000);
        res.socket.once('end', closed);
        pump();
      });
    });
    req.on('error', (e) => (answer ? closed() : reject(e)));
    req.on('close', closed);
    pump();
  });
}

describe('a chunked body over the limit', () => {
  it('is answered 413 in JSON, not reset, then the connection closes; the server serves on', async () => {
    const a = await flood(v1('tiny'), { 'content-type': 'application/json' });
    expect(a.status).toBe(413);
    expect(JSON.parse(a.body)).toMatchObject({ error: 'body_too_large' });
    expect(a.closedAfterMs).not.toBeNull();
    const b = await flood(v2('tiny'), { 'content-type': 'application/octet-stream', 'inference-header-content-length': '10' });
    expect(b.status).toBe(413);
    expect(JSON.parse(b.body).error).toMatch(/larger than the \d+ byte limit/);
    expect(b.closedAfterMs).not.toBeNull();
    expect((await send(v1('tiny'), '{"seed": 1}', { 'content-type': 'application/json' })).status).toBe(200);
  });
});

describe('bodies that lie about their size', () => {
  it('a gzip bomb and a declared length past the limit are 413s, decided before what they declare is held', async () => {
    const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024, 0x20));
    for (const url of [v1('tiny'), v2('tiny')]) {
      const r = await fetch(`${srv.url}${url}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: bomb,
      });
      expect(r.status, url).toBe(413);
    }
    const declared = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${srv.url}${v2('tiny')}`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(10 ** 12) } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
          req.destroy();
        },
      );
      req.on('error', reject);
      req.write('{"inputs": [');
    });
    expect(declared).toBe(413);
  });
});

describe('informational metadata', () => {
  it('malformed epochs, dataset text or ema: served without them, each named in the log and in /v1/models', async () => {
    const list = await (await fetch(`${srv.url}/v1/models`)).json();
    const m = list.models.find((x: { name: string }) => x.name === 'odd-meta');
    expect(m).toBeDefined();
    expect(m.epochs).toBeUndefined();
    expect(m.dataset).toBeUndefined();
    expect(m.steps).toBe(1);
    expect(m.dropped_metadata.map((d: { key: string }) => d.key).sort()).toEqual(['onnxgan.dataset', 'onnxgan.ema', 'onnxgan.epochs']);
    expect(m.dropped_metadata.find((d: { key: string }) => d.key === 'onnxgan.epochs').reason).toMatch(
      /expected a whole number, got "many"/,
    );
    expect(list.models.find((x: { name: string }) => x.name === 'tiny').dropped_metadata).toBeUndefined();
    const warned = logLines.map((l) => JSON.parse(l)).filter((l) => l.level === 40 && l.model === 'odd-meta');
    expect(warned.map((l) => l.key).sort()).toEqual(['onnxgan.dataset', 'onnxgan.ema', 'onnxgan.epochs']);
    expect((await send(v1('odd-meta'), '{"seed": 1}', { 'content-type': 'application/json' })).status).toBe(200);
  });
});

/** A POST whose body arrives in two halves; `between` runs after the first half reached the server. */
function slowPost(url: string, body: string, between: Promise<void>): Promise<number> {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.from(body);
    const req = request(
      `${srv.url}${url}`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': bytes.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.write(bytes.subarray(0, 10));
    void between.then(() => req.end(bytes.subarray(10)), reject);
  });
}

describe('a model replaced while a request arrives', () => {
  it('/v1 and /v2 both answer 200 (from the new model)', async () => {
    const loadedAt = async (): Promise<string> => (await (await fetch(`${srv.url}/v1/models/swap`)).json()).loaded_at;
    const before = await loadedAt();
    let swapped!: () => void;
    const swap = new Promise<void>((r) => (swapped = r));
    const answers = Promise.all([slowPost(v1('swap'), '{"seed": 3, "format": "png"}', swap), slowPost(v2('swap'), inferBody(), swap)]);
    await new Promise((r) => setTimeout(r, 200)); // both requests accepted, their bodies half read
    const tmp = path.join(work, '.swap.tmp');
    writeTinyGenerator(tmp, { seed: 2 });
    renameSync(tmp, path.join(work, 'swap.onnx'));
    for (const until = Date.now() + 10_000; (await loadedAt()) === before;) {
      if (Date.now() > until) throw new Error('the replaced model was not reloaded');
      await new Promise((r) => setTimeout(r, 50));
    }
    swapped();
    expect(await answers).toEqual([200, 200]);
  });
});

describe('the route table', () => {
  it(
    'HEAD, trailing slashes, any case; versioned OIP paths count with the unversioned; bad ' + 'percent-encoding is a 400 in each dialect',
    async () => {
      const head = await fetch(`${srv.url}/v1/models`, { method: 'HEAD' });
      expect([head.status, await head.text()]).toEqual([200, '']);
      expect((await fetch(`${srv.url}/V1/Models/tiny/`)).status).toBe(200);
      expect((await send('/v2/models/tiny/versions/1/infer', inferBody(), { 'content-type': 'application/json' })).status).toBe(200);
      const metrics = await (await fetch(`${srv.url}/metrics`)).text();
      expect(metrics).toMatch(/onnxgan_http_requests_total\{route="\/v2\/models\/:name\/infer",method="POST",status="200"\} [1-9]/);
      expect(metrics).not.toContain('versions/:version');
      const v1bad = await send('/v1/models/%E0%A4%A/generate', '{}', { 'content-type': 'application/json' });
      expect([v1bad.status, await v1bad.json()]).toEqual([
        400,
        { error: 'invalid_model_name', detail: 'name: not valid percent-encoding', field: 'name' },
      ]);
      const v2bad = await fetch(`${srv.url}/v2/models/%E0%A4%A/ready`);
      expect([v2bad.status, await v2bad.json()]).toEqual([400, { error: 'not valid percent-encoding' }]);
      const unmatched = await fetch(`${srv.url}/v2/no/such/route`);
      expect([unmatched.status, await unmatched.json()]).toEqual([404, { error: 'no route GET /v2/no/such/route' }]);
    },
  );
});
