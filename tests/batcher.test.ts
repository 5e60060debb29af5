// The dynamic batching policy (serve/batcher.ts) against a fake model: which requests share a run,
// how many rows a run takes, which rows go back to whom, when a request waits, and draining.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IMAGE_PIXELS } from '../common/metadata.js';
import { Batcher, type BatchInput, type BatcherOptions } from '../serve/batcher.js';

const NOISE_DIM = 3;

/** A model whose image row r is filled with noise[r][0]; runs can be held open to test queueing. */
function fakeModel() {
  const runs: BatchInput[] = [];
  const holds: (() => void)[] = [];
  let holding = false;
  let fail: Error | null = null;
  const run = async (input: BatchInput): Promise<Float32Array> => {
    runs.push({ noise: input.noise.slice(), labels: input.labels?.slice() ?? null, rows: input.rows });
    if (holding) await new Promise<void>((resolve) => holds.push(resolve));
    if (fail) throw fail;
    const out = new Float32Array(input.rows * IMAGE_PIXELS);
    for (let r = 0; r < input.rows; r++) out.fill(input.noise[r * NOISE_DIM]!, r * IMAGE_PIXELS, (r + 1) * IMAGE_PIXELS);
    return out;
  };
  return {
    run,
    runs,
    /** Hold every run from now on until release(). */
    hold: () => (holding = true),
    release: () => {
      holding = false;
      holds.splice(0).forEach((r) => r());
    },
    failWith: (e: Error | null) => (fail = e),
  };
}

/** Request `id` of `rows` rows: row i's noise starts with id * 100 + i, its label is id. */
function request(id: number, rows: number, conditional = false): BatchInput {
  const noise = new Float32Array(rows * NOISE_DIM);
  for (let i = 0; i < rows; i++) noise[i * NOISE_DIM] = id * 100 + i;
  return { noise, labels: conditional ? new Int32Array(rows).fill(id) : null, rows };
}

/** The first pixel of each image row: which request rows a response holds. */
const rowIds = (images: Float32Array): number[] =>
  Array.from({ length: images.length / IMAGE_PIXELS }, (_, r) => images[r * IMAGE_PIXELS]!);

const make = (model: ReturnType<typeof fakeModel>, opts: Partial<BatcherOptions> = {}): Batcher =>
  new Batcher(model.run, { maxBatch: 64, maxWaitMs: 10, noiseDim: NOISE_DIM, conditional: false, valuesPerRow: IMAGE_PIXELS, ...opts });

/** Lets the batcher's promise chains (run, resolve, the next flush) settle without moving the clock. */
const settle = (): Promise<void> => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

// A short timeout: a broken drain or flush shows as a hang, which should fail fast.
describe('Batcher', { timeout: 5_000 }, () => {
  it('merges concurrent requests into one run and splits the rows back in order', async () => {
    const model = fakeModel();
    const onBatch = vi.fn();
    const b = make(model, { conditional: true, onBatch });
    const pending = [b.submit(request(1, 2, true)), b.submit(request(2, 1, true)), b.submit(request(3, 3, true))];
    await settle();
    expect(model.runs).toHaveLength(0); // waiting maxWaitMs for company
    await vi.advanceTimersByTimeAsync(10);
    const results = await Promise.all(pending);
    expect(model.runs.map((r) => r.rows)).toEqual([6]);
    expect(Array.from(model.runs[0]!.noise.filter((_, i) => i % NOISE_DIM === 0))).toEqual([100, 101, 200, 300, 301, 302]);
    expect(Array.from(model.runs[0]!.labels!, Number)).toEqual([1, 1, 2, 3, 3, 3]);
    expect(results.map(rowIds)).toEqual([[100, 101], [200], [300, 301, 302]]);
    expect(onBatch).toHaveBeenCalledExactlyOnceWith(6, 3, expect.any(Number));
  });

  it('takes whole requests up to maxBatch rows per run; a larger request runs alone', async () => {
    const model = fakeModel();
    const b = make(model, { maxBatch: 4, maxWaitMs: 1000 });
    model.hold();
    // 2 + 2 rows fill a run at once (no wait); the third request (2) and the oversized one (5) queue.
    const pending = [b.submit(request(1, 2)), b.submit(request(2, 2)), b.submit(request(3, 2)), b.submit(request(4, 5))];
    await settle();
    expect(model.runs.map((r) => r.rows)).toEqual([4]);
    model.release();
    const results = await Promise.all(pending);
    expect(model.runs.map((r) => r.rows)).toEqual([4, 2, 5]);
    expect(results.map(rowIds)).toEqual([
      [100, 101],
      [200, 201],
      [300, 301],
      [400, 401, 402, 403, 404],
    ]);
  });

  it('requests that arrive during a run form the next batch, without waiting maxWaitMs', async () => {
    const model = fakeModel();
    const b = make(model, { maxWaitMs: 1000 });
    model.hold();
    const first = b.submit(request(1, 1));
    await vi.advanceTimersByTimeAsync(1000);
    expect(model.runs).toHaveLength(1);
    const later = [b.submit(request(2, 1)), b.submit(request(3, 2))];
    await settle();
    expect(model.runs).toHaveLength(1); // one run at a time
    model.release();
    await first;
    await settle();
    expect(model.runs.map((r) => r.rows)).toEqual([1, 3]);
    expect((await Promise.all(later)).map(rowIds)).toEqual([[200], [300, 301]]);
  });

  it('after a lone request the next one runs at once: a single client never waits maxWaitMs', async () => {
    const model = fakeModel();
    const b = make(model, { maxWaitMs: 60_000 });
    // The first request of a fresh batcher assumes company and waits.
    const first = b.submit(request(1, 1));
    await vi.advanceTimersByTimeAsync(59_999);
    expect(model.runs).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(rowIds(await first)).toEqual([100]);
    // That run held one request: the following ones run without the timer.
    for (const id of [2, 3]) {
      const p = b.submit(request(id, 2));
      await settle();
      expect(model.runs).toHaveLength(id);
      expect(rowIds(await p)).toEqual([id * 100, id * 100 + 1]);
    }
    expect(vi.getTimerCount()).toBe(0);
  });

  it('maxWaitMs 0 never waits', async () => {
    const model = fakeModel();
    const b = make(model, { maxWaitMs: 0 });
    const p = b.submit(request(1, 1));
    await settle();
    expect(model.runs).toHaveLength(1);
    expect(rowIds(await p)).toEqual([100]);
  });

  it('a failed run rejects the requests in it, and the next run goes on', async () => {
    const model = fakeModel();
    const b = make(model);
    model.failWith(new Error('onnxruntime exploded'));
    const failed = [b.submit(request(1, 1)), b.submit(request(2, 1))];
    const checks = failed.map((p) => expect(p).rejects.toThrow('onnxruntime exploded'));
    await vi.advanceTimersByTimeAsync(10);
    await Promise.all(checks);
    model.failWith(null);
    const ok = b.submit(request(3, 1));
    await vi.advanceTimersByTimeAsync(10);
    expect(rowIds(await ok)).toEqual([300]);
  });

  it('a failed merged run retries each request alone: only the one whose rows fail gets the error', async () => {
    // A model that fails whenever a run holds a row of request 2, like a model that overflows on some inputs.
    const runs: number[][] = [];
    const run = async (input: BatchInput): Promise<Float32Array> => {
      const ids = Array.from({ length: input.rows }, (_, r) => Math.floor(input.noise[r * NOISE_DIM]! / 100));
      runs.push(ids);
      if (ids.includes(2)) throw new Error('non-finite output');
      const out = new Float32Array(input.rows * IMAGE_PIXELS);
      for (let r = 0; r < input.rows; r++) out.fill(input.noise[r * NOISE_DIM]!, r * IMAGE_PIXELS, (r + 1) * IMAGE_PIXELS);
      return out;
    };
    const retried: number[] = [];
    let failures = 0;
    const b = new Batcher(run, {
      maxBatch: 64,
      maxWaitMs: 10,
      noiseDim: NOISE_DIM,
      conditional: false,
      valuesPerRow: IMAGE_PIXELS,
      onRetry: (n) => retried.push(n),
      onFailure: () => failures++,
    });
    const [p1, p2, p3] = [b.submit(request(1, 2)), b.submit(request(2, 1)), b.submit(request(3, 3))];
    const bad = expect(p2).rejects.toThrow('non-finite output');
    await vi.advanceTimersByTimeAsync(10);
    expect(rowIds(await p1)).toEqual([100, 101]);
    expect(rowIds(await p3)).toEqual([300, 301, 302]);
    await bad;
    // One merged run, then each request once on its own, in order; nothing is retried twice.
    expect(runs).toEqual([[1, 1, 2, 3, 3, 3], [1, 1], [2], [3, 3, 3]]);
    expect(retried).toEqual([3]);
    expect(failures).toBe(1);
    // The batcher goes on merging afterwards.
    const [q1, q2] = [b.submit(request(4, 1)), b.submit(request(5, 1))];
    await vi.advanceTimersByTimeAsync(10);
    expect([rowIds(await q1), rowIds(await q2)]).toEqual([[400], [500]]);
    expect(runs.at(-1)).toEqual([4, 5]);
  });

  it('refuses a model output of the wrong size', async () => {
    const b = new Batcher(async () => new Float32Array(IMAGE_PIXELS), {
      maxBatch: 64,
      maxWaitMs: 0,
      noiseDim: NOISE_DIM,
      conditional: false,
      valuesPerRow: IMAGE_PIXELS,
    });
    const p = b.submit(request(1, 2));
    const check = expect(p).rejects.toThrow(`model returned ${IMAGE_PIXELS} values for 2 rows`);
    await settle();
    await check;
  });

  it('drain() runs what is queued at once, waits for the running batch, then refuses new requests', async () => {
    const model = fakeModel();
    const b = make(model, { maxBatch: 2, maxWaitMs: 60_000 });
    model.hold();
    const running = b.submit(request(1, 2)); // a full batch: runs at once
    const queued = b.submit(request(2, 1)); // waits behind it
    await settle();
    let drained = false;
    const drain = b.drain().then(() => (drained = true));
    await settle();
    expect(drained).toBe(false); // the running batch is not done
    await expect(b.submit(request(3, 1))).rejects.toThrow('model unloaded');
    model.release();
    await drain; // no clock moved: the queued request did not wait for maxWaitMs
    expect(rowIds(await running)).toEqual([100, 101]);
    expect(rowIds(await queued)).toEqual([200]);
    expect(model.runs.map((r) => r.rows)).toEqual([2, 1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drain() of an idle batcher returns at once, and flushes a request waiting for company', async () => {
    const model = fakeModel();
    const idle = make(model);
    await idle.drain();
    const b = make(model, { maxWaitMs: 60_000 });
    const waiting = b.submit(request(1, 1));
    await b.drain();
    expect(rowIds(await waiting)).toEqual([100]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
