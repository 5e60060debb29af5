// `onnxgan serve --workers N`: worker processes behind the primary's port, each watching the folder,
// /metrics summed over all of them, a worker SIGKILLed under load losing no request, a dead worker
// replaced and taking traffic only once ready, and SIGTERM draining every worker.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, renameSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, runCli } from './helpers/cli.js';
import { isAlive as alive } from './helpers/process-alive.js';
import { tempDir } from './helpers/temp-dir.js';

const work = tempDir('onnxgan-cluster-');

function spawnCluster(models: string, extra: string[] = []) {
  const child = spawn(process.execPath, [CLI, 'serve', '--models', models, '--port', '0', '--workers', '2', '--no-access-log', ...extra], {
    cwd: ROOT,
  });
  let log = '';
  child.stdout.on('data', (c: Buffer) => (log += c));
  child.stderr.on('data', (c: Buffer) => (log += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    const poll = setInterval(() => {
      const m = /"url":"(http:[^"]+)","workers":2,.*"msg":"listening"/.exec(log);
      if (m) {
        clearInterval(poll);
        resolve(m[1]!);
      }
    }, 50);
    void exited.then(() => {
      clearInterval(poll);
      reject(new Error(`exited before listening:\n${log}`));
    });
  });
  return { child, url, exited, log: () => log };
}

/** One request on a connection of its own: the cluster hands new connections to the workers in turn. */
function fresh(url: string, method = 'GET', body?: string): Promise<{ status: number; body: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: text, retryAfter: res.headers['retry-after'] }));
    });
    req.on('error', reject);
    // A request that gets no answer fails the test instead of hanging it.
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer to ${method} ${url} in 20 s`)));
    req.end(body);
  });
}

const workerPids = (primary: number): number[] =>
  execFileSync('ps', ['--ppid', String(primary), '-o', 'pid='], { encoding: 'utf8' })
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter(Boolean);

async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const metric = (text: string, line: string): number =>
  Number(new RegExp(`^${line.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('--workers 2', () => {
  it('serves from two processes on one port, each watching the folder, with /metrics summed over both', async () => {
    const models = path.join(work, 'a');
    mkdirSync(models);
    copyFileSync(path.join(ROOT, 'models/gan.onnx'), path.join(models, 'gan.onnx'));
    const s = spawnCluster(models);
    try {
      const url = await s.url;
      expect(workerPids(s.child.pid!)).toHaveLength(2);
      const n = 24;
      const answers = await Promise.all(
        Array.from({ length: n }, (_, i) => fresh(`${url}/v1/models/gan/generate`, 'POST', JSON.stringify({ seed: i, format: 'png' }))),
      );
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      const text = (await fresh(`${url}/metrics`)).body;
      expect(metric(text, 'onnxgan_http_requests_total{route="/v1/models/:name/generate",method="POST",status="200"}')).toBe(n);
      expect(metric(text, 'onnxgan_models_loaded')).toBe(1);
      // Both workers pick up a new model: every fresh connection (alternating workers) finds it.
      copyFileSync(path.join(ROOT, 'models/cgan.onnx'), path.join(models, '.cgan.tmp'));
      renameSync(path.join(models, '.cgan.tmp'), path.join(models, 'cgan.onnx'));
      await eventually(async () => metric((await fresh(`${url}/metrics`)).body, 'onnxgan_models_loaded') === 2);
      const cgan = await Promise.all(
        Array.from({ length: 8 }, () => fresh(`${url}/v1/models/cgan/generate`, 'POST', '{"label": 3, "format": "png"}')),
      );
      expect(cgan.map((a) => a.status)).toEqual(cgan.map(() => 200));
      // A worker that dies is replaced; the port keeps answering meanwhile.
      const [victim] = workerPids(s.child.pid!);
      process.kill(victim!, 'SIGKILL');
      await eventually(() => {
        const pids = workerPids(s.child.pid!);
        return pids.length === 2 && !pids.includes(victim!);
      });
      await eventually(async () => (await fresh(`${url}/readyz`)).status === 200 && (await fresh(`${url}/readyz`)).status === 200);
      expect(s.log()).toMatch(/worker died: starting another/);
    } finally {
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    }
  });

  it('a worker SIGKILLed under load loses no request; its replacement takes traffic only once ready; /metrics never fails', async () => {
    const models = path.join(work, 'kill');
    mkdirSync(models);
    for (const m of ['gan', 'cgan']) copyFileSync(path.join(ROOT, `models/${m}.onnx`), path.join(models, `${m}.onnx`));
    // A batching window keeps requests inside the workers when one is killed.
    const s = spawnCluster(models, ['--max-wait-ms', '1000']);
    try {
      const url = await s.url;
      const generate = (i: number, count = 1) =>
        fresh(`${url}/v1/models/cgan/generate`, 'POST', JSON.stringify({ seed: i, label: i % 10, count, format: 'json' }));
      await Promise.all(Array.from({ length: 8 }, (_, i) => generate(i))); // lone requests run at once: expect company
      const inflight = Array.from({ length: 16 }, (_, i) => generate(i, 2));
      await eventually(async () => metric((await fresh(`${url}/metrics`)).body, 'onnxgan_http_requests_in_flight') >= 16);
      const [victim, survivor] = workerPids(s.child.pid!);
      process.kill(victim!, 'SIGKILL');
      // While the replacement boots: requests and scrapes keep coming, each answered by a ready worker.
      const during: { status: number; body: string }[] = [];
      let booting = 0;
      for (const until = Date.now() + 20_000; ;) {
        if (Date.now() > until) throw new Error(`no second ready worker after 20 s:\n${s.log()}`);
        const [a, b, m] = await Promise.all([generate(during.length), fresh(`${url}/v2/models/cgan`), fresh(`${url}/metrics`)]);
        during.push(a, b, m);
        const ready = metric(m.body, 'onnxgan_workers_ready');
        if (ready === 2) break;
        if (workerPids(s.child.pid!).length === 2) booting++; // the new worker exists, loading its models
      }
      const results = await Promise.all(inflight);
      expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
      expect(results.every((r) => JSON.parse(r.body).images.length === 2)).toBe(true);
      expect(
        during.filter((r) => r.status !== 200),
        'answers while the replacement booted',
      ).toEqual([]);
      expect(booting, 'requests sent while the replacement was loading its models').toBeGreaterThan(0);
      const pids = workerPids(s.child.pid!);
      expect(pids).toHaveLength(2);
      expect(pids).toContain(survivor);
      expect(pids).not.toContain(victim);
      const text = (await fresh(`${url}/metrics`)).body;
      // The killed worker held requests: they were sent again, to the survivor.
      expect(metric(text, 'onnxgan_worker_retries_total')).toBeGreaterThanOrEqual(1);
      expect(metric(text, 'onnxgan_worker_restarts_total')).toBe(1);
      expect(metric(text, 'onnxgan_worker_unavailable_total')).toBe(0);
      expect(metric(text, 'onnxgan_models_loaded')).toBe(2);

      // Both killed: every request still gets an answer, from a replacement or a 503 with Retry-After.
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      const orphans = await Promise.all(Array.from({ length: 4 }, (_, i) => generate(i)));
      for (const r of orphans) {
        expect([200, 503], r.body).toContain(r.status);
        if (r.status === 503) expect(r.retryAfter).toBe('1');
      }
      expect((await fresh(`${url}/metrics`)).status).toBe(200);
    } finally {
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    }
  });

  it('the primary SIGKILLed: its workers stop (drained) instead of serving on as orphans', async () => {
    const models = path.join(work, 'orphans');
    mkdirSync(models);
    copyFileSync(path.join(ROOT, 'models/gan.onnx'), path.join(models, 'gan.onnx'));
    const s = spawnCluster(models);
    await s.url;
    const pids = workerPids(s.child.pid!);
    expect(pids).toHaveLength(2);
    s.child.kill('SIGKILL');
    await s.exited;
    await eventually(() => pids.every((pid) => !alive(pid)), 10_000);
    expect(s.log().match(/"msg":"stopped"/g)).toHaveLength(2);
  });

  it('SIGTERM drains every worker: in-flight requests finish, then exit 0', async () => {
    const models = path.join(work, 'b');
    mkdirSync(models);
    copyFileSync(path.join(ROOT, 'models/gan.onnx'), path.join(models, 'gan.onnx'));
    // A long batching window keeps requests inside the workers when the signal arrives.
    const s = spawnCluster(models, ['--max-wait-ms', '1500']);
    const url = await s.url;
    // Lone requests run at once; make each worker expect company first.
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        fresh(`${url}/v1/models/gan/generate`, 'POST', JSON.stringify({ seed: i, count: 1, format: 'json' })),
      ),
    );
    const inflight = Array.from({ length: 12 }, (_, i) =>
      fresh(`${url}/v1/models/gan/generate`, 'POST', JSON.stringify({ seed: i, count: 2, format: 'json' })),
    );
    await eventually(async () => metric((await fresh(`${url}/metrics`)).body, 'onnxgan_http_requests_in_flight') >= 12);
    s.child.kill('SIGTERM');
    const results = await Promise.all(inflight);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    expect(results.every((r) => JSON.parse(r.body).images.length === 2)).toBe(true);
    expect(await s.exited).toBe(0);
    expect(s.log().match(/"msg":"stopped"/g)).toHaveLength(2);
  });

  it(
    'a worker that cannot start stops the cluster with its error; a taken port fails before any worker; ' + 'bad counts are usage errors',
    async () => {
      const r = await runCli(['serve', '--models', path.join(work, 'missing'), '--port', '0', '--workers', '2']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/onnxgan serve: models folder .*missing does not exist/);
      // The primary holds the port: one taken fails at once with listen()'s advice, before any worker starts.
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      try {
        const port = (taken.address() as AddressInfo).port;
        const t = await runCli(['serve', '--models', path.join(ROOT, 'models'), '--port', String(port), '--workers', '2']);
        expect(t.code).toBe(1);
        expect(t.stderr).toMatch(new RegExp(`^onnxgan serve: port ${port} on 127\\.0\\.0\\.1 is already in use .*\n$`));
      } finally {
        taken.close();
      }
      for (const bad of ['0', 'two', '-1']) {
        const u = await runCli(['serve', '--workers', bad]);
        expect(u.code, bad).toBe(2);
        expect(u.stderr).toMatch(/expected a worker count 1\.\.256 or "auto"/);
      }
    },
  );
});
