// What a models folder can hold, against a real server: entries that are not regular files, models
// whose metadata disagrees with their graph, and a model that fails for some inputs while it is
// batched with requests that succeed.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatorNoise } from '../common/rng.js';
import { startServer, type RunningServer } from '../serve/server.js';
import { CLI, ROOT } from './helpers/cli.js';
import { OipClient } from './helpers/oip-client.js';
import { tempDir } from './helpers/temp-dir.js';
import { writeTinyGenerator } from './helpers/tiny-generator.js';

const work = tempDir('onnxgan-models-');
const json = async (url: string): Promise<any> => (await fetch(url)).json();
const post = (base: string, model: string, body: object) =>
  fetch(`${base}/v1/models/${model}/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const bytes = async (r: Response): Promise<Buffer> => Buffer.from(await r.arrayBuffer());

async function eventually<T>(check: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('entries that are not regular files', () => {
  // The server runs as an unprivileged user (root reads every folder), from the built CLI, and must
  // start, report each entry as failed with what it is, and serve the good model.
  it('never stop the server from starting, nor serving the others', async () => {
    const dir = path.join(work, 'odd');
    const locked = path.join(work, 'locked');
    mkdirSync(dir);
    mkdirSync(locked);
    chmodSync(work, 0o755);
    copyFileSync(path.join(ROOT, 'models/gan.onnx'), path.join(dir, 'good.onnx'));
    copyFileSync(path.join(ROOT, 'models/gan.onnx'), path.join(locked, 'secret.onnx'));
    chmodSync(locked, 0o700);
    execFileSync('mkfifo', [path.join(dir, 'fifo.onnx')]);
    symlinkSync('loop.onnx', path.join(dir, 'loop.onnx'));
    symlinkSync(path.join(work, 'missing.onnx'), path.join(dir, 'dangling.onnx'));
    symlinkSync('/dev/zero', path.join(dir, 'device.onnx'));
    symlinkSync(path.join(locked, 'secret.onnx'), path.join(dir, 'locked.onnx'));
    mkdirSync(path.join(dir, 'folder.onnx'));
    writeFileSync(path.join(dir, 'empty.onnx'), '');
    const asRoot = process.getuid?.() === 0;
    const cmd = [process.execPath, CLI, 'serve', '--models', dir, '--port', '0'];
    const child = asRoot
      ? spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...cmd], { cwd: ROOT })
      : spawn(cmd[0]!, cmd.slice(1), { cwd: ROOT });
    try {
      let log = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not listening after 60 s:\n${log}`)), 60_000);
        child.stdout.on('data', (c: Buffer) => {
          log += c;
          const m = /"url":"(http:[^"]+)".*"msg":"listening"/.exec(log);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.stderr.on('data', (c: Buffer) => (log += c));
        child.on('exit', (code) => reject(new Error(`exited ${code}:\n${log}`)));
      });
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      const body = await ready.json();
      expect(body.loaded).toEqual(['good']);
      const failed = Object.fromEntries(body.failed.map((f: { name: string; error: string }) => [f.name, f.error]));
      expect(failed).toEqual({
        fifo: expect.stringMatching(/fifo\.onnx: cannot read: a FIFO, not a model file/),
        loop: expect.stringMatching(/loop\.onnx: cannot read: a symbolic link loop/),
        dangling: expect.stringMatching(/dangling\.onnx: cannot read: a link to nothing/),
        device: expect.stringMatching(/device\.onnx: cannot read: a device, not a model file/),
        locked: expect.stringMatching(/locked\.onnx: cannot read: permission denied/),
        folder: expect.stringMatching(/folder\.onnx: cannot read: a folder, not a model file/),
        empty: expect.stringMatching(/empty\.onnx: empty file/),
      });
      for (const error of Object.values(failed)) expect(error).not.toContain(work); // the file name, not the server's paths
      expect((await post(url, 'good', { seed: 1, format: 'png' })).status).toBe(200);
      expect((await post(url, 'fifo', { seed: 1 })).status).toBe(503);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('a running server', () => {
  let srv: RunningServer;
  const dir = path.join(work, 'live');
  beforeAll(async () => {
    mkdirSync(dir);
    writeTinyGenerator(path.join(dir, 'tiny.onnx'));
    // A model whose image is NaN when a row's first noise value is above 0.97 (about 1 row in 70).
    // (A hidden layer makes its runs slow enough that a burst of requests queues up behind them.)
    writeTinyGenerator(path.join(dir, 'flaky.onnx'), { failAbove: 0.97, hidden: 2048 });
    // A long batching window: on a loaded machine a burst of requests can take a while to arrive.
    srv = await startServer({ models: dir, port: 0, logLevel: 'silent', maxBatch: 64, maxWaitMs: 200, webRoot: work });
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('a FIFO dropped in while serving neither blocks the event loop nor loads', async () => {
    execFileSync('mkfifo', [path.join(dir, 'pipe.onnx')]);
    const failed = await eventually(async () =>
      (await json(`${srv.url}/v1/models`)).failed.find((f: { name: string }) => f.name === 'pipe'),
    );
    expect(failed.error).toMatch(/a FIFO/);
    const started = performance.now();
    expect((await post(srv.url, 'tiny', { seed: 1, format: 'png' })).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(2_000);
    rmSync(path.join(dir, 'pipe.onnx'));
    await eventually(async () => !(await json(`${srv.url}/v1/models`)).failed.length);
  });

  describe('metadata that disagrees with the graph is refused at load time, with the reason', () => {
    const classes = ['a', 'b', 'c', 'd'];
    const cases: [string, Parameters<typeof writeTinyGenerator>[1], RegExp][] = [
      [
        'noise size',
        { noiseDim: 8, props: { 'onnxgan.noise_dim': '16' } },
        /onnxgan\.noise_dim is 16 but input "noise" takes 8 values per row/,
      ],
      ['classes vs embedding rows', { classes, embeddingRows: 6 }, /names 4 classes but the label embedding has 6 rows/],
      [
        'a class the embedding lacks (found by running it)',
        { classes, embeddingRows: 3, hideEmbedding: true },
        /class 3 \("d"\): running the generator failed/,
      ],
      [
        'image shape vs output',
        { props: { 'onnxgan.image_shape': '[1, 32, 32]' } },
        /onnxgan\.image_shape is \[1, 32, 32\] but output "image" is \[N, 1, 28, 28\]/,
      ],
      [
        'value range vs outputs',
        { props: { 'onnxgan.value_range': '[0, 1]' } },
        /gives the value -[\d.]+(e-\d+)?, outside the metadata's value_range \[0, 1\]/,
      ],
      [
        'classes not a list of strings',
        { classes, props: { 'onnxgan.classes': '{"a": 1}' } },
        /bad onnxgan\.classes: expected a non-empty list of class names/,
      ],
      ['classes of numbers', { classes, props: { 'onnxgan.classes': '[1, 2, 3, 4]' } }, /bad onnxgan\.classes/],
      ['repeated class names', { classes, props: { 'onnxgan.classes': '["a", "b", "a", "c"]' } }, /bad onnxgan\.classes: names repeat/],
      ['value range not numbers', { props: { 'onnxgan.value_range': '["-1", "1"]' } }, /bad onnxgan\.value_range/],
      ['a model whose outputs are not finite', { failAbove: -2 }, /non-finite value/],
    ];
    it.each(cases)('%s', async (title, options, reason) => {
      const name = `bad-${title.replace(/\W+/g, '-')}`;
      writeTinyGenerator(path.join(dir, `${name}.onnx`), options);
      try {
        const failed = await eventually(async () =>
          (await json(`${srv.url}/v1/models`)).failed.find((f: { name: string }) => f.name === name),
        );
        expect(failed.error).toMatch(reason);
        const v1 = await post(srv.url, name, { seed: 1, label: 0 });
        expect(v1.status).toBe(503);
        expect((await v1.json()).detail).toMatch(reason);
        const v2 = await new OipClient(srv.url).infer(name, {
          inputs: [{ name: 'noise', shape: [1, 8], datatype: 'FP32', data: new Array(8).fill(0) }],
        });
        expect(v2.status).toBe(503);
        expect(v2.json.error).toMatch(reason);
      } finally {
        rmSync(path.join(dir, `${name}.onnx`));
      }
    });

    it('a colour model that agrees with itself serves', async () => {
      writeTinyGenerator(path.join(dir, 'colour.onnx'), { imageShape: [3, 16, 16], classes });
      await eventually(async () => (await json(`${srv.url}/v1/models`)).models.some((m: { name: string }) => m.name === 'colour'));
      const t = await (await post(srv.url, 'colour', { seed: 1, label: 'c', count: 2, format: 'tensor' })).json();
      expect(t.shape).toEqual([2, 3, 16, 16]);
      expect(t.data).toHaveLength(2 * 3 * 16 * 16);
    });
  });

  describe('one bad request does not fail the requests batched with it', () => {
    const firstNoise = (seed: number): number => generatorNoise(seed, 1, 8)[0]!;
    const bad = Array.from({ length: 3000 }, (_, i) => i + 1)
      .filter((s) => firstNoise(s) > 0.97)
      .slice(0, 4);
    const good = Array.from({ length: 24 }, (_, i) => 5000 + i).filter((s) => firstNoise(s) <= 0.97);
    const counter = async (name: string): Promise<number> =>
      Number(new RegExp(`^${name}\\{model="flaky"\\} (\\S+)$`, 'm').exec(await (await fetch(`${srv.url}/metrics`)).text())?.[1] ?? 0);

    /**
     * Sends `order` at once and checks every answer; repeats (up to 5 bursts) until a merged run
     * held a failing request, which depends on how the arrivals fall on a loaded machine.
     */
    async function bursts(order: number[], send: (seed: number) => Promise<{ ok: boolean; check: () => Promise<void> }>): Promise<void> {
      const retriesBefore = await counter('onnxgan_batch_retries_total');
      const failuresBefore = await counter('onnxgan_inference_failures_total');
      let sent = 0;
      for (let attempt = 0; attempt < 5 && (await counter('onnxgan_batch_retries_total')) === retriesBefore; attempt++) {
        await Promise.all(order.map(async () => (await fetch(`${srv.url}/healthz`)).text())); // open the connections first
        const answers = await Promise.all(order.map(send));
        for (const [i, a] of answers.entries()) {
          expect(a.ok, `seed ${order[i]}`).toBe(!bad.includes(order[i]!));
          await a.check();
        }
        sent++;
      }
      expect((await counter('onnxgan_batch_retries_total')) - retriesBefore).toBeGreaterThan(0);
      // Each failing request failed once, on its own; the merged runs it spoiled were retried.
      expect((await counter('onnxgan_inference_failures_total')) - failuresBefore).toBe(sent * bad.length);
    }
    const order = (): number[] => [...good.slice(0, 8), bad[0]!, ...good.slice(8, 14), bad[1]!, bad[2]!, ...good.slice(14), bad[3]!];

    it('v1: concurrent valid and failing requests; every valid one gets the bytes it gets alone', async () => {
      expect(bad).toHaveLength(4);
      const alone = new Map<number, Buffer>();
      for (const s of good) {
        const r = await post(srv.url, 'flaky', { seed: s, format: 'png' });
        expect(r.status).toBe(200);
        alone.set(s, await bytes(r));
      }
      for (const s of bad) expect((await post(srv.url, 'flaky', { seed: s, format: 'png' })).status).toBe(503);
      await bursts(order(), async (seed) => {
        const r = await post(srv.url, 'flaky', { seed, format: 'png' });
        const body = await bytes(r);
        return {
          ok: r.status === 200,
          check: async () => {
            if (bad.includes(seed))
              expect([r.status, JSON.parse(body.toString()).detail]).toEqual([503, expect.stringMatching(/non-finite value/)]);
            else expect(body.equals(alone.get(seed)!), `seed ${seed}`).toBe(true);
          },
        };
      });
    });

    it('OIP: the same, with the failing rows given as noise', async () => {
      const oip = new OipClient(srv.url);
      const noiseOf = (seed: number) => ({
        name: 'noise',
        shape: [1, 8],
        datatype: 'FP32' as const,
        data: Array.from(generatorNoise(seed, 1, 8)),
      });
      const alone = new Map<number, unknown>();
      for (const s of good) alone.set(s, (await oip.infer('flaky', { inputs: [noiseOf(s)] })).json.outputs![0]!.data);
      await bursts(order(), async (seed) => {
        const r = await oip.infer('flaky', { id: String(seed), inputs: [noiseOf(seed)] });
        return {
          ok: r.status === 200,
          check: async () => {
            if (bad.includes(seed)) expect(r.json.error).toMatch(/could not run these inputs: .*non-finite/);
            else expect([r.json.id, r.json.outputs![0]!.data]).toEqual([String(seed), alone.get(seed)]);
          },
        };
      });
    });
  });
});
