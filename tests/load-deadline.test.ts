// The start-up deadline of the web runtime (web-demo/src/load-failures.ts): a step that waits for
// what never comes fails after the deadline; one that keeps the thread busy (compiling onnxruntime-web
// on a slow or loaded CPU) is given the time, so a busy machine is not mistaken for a hang.
import { describe, expect, it } from 'vitest';
import { withIdleDeadline } from '../web-demo/src/load-failures.js';

/** Keeps this thread busy for `ms`, as a synchronous wasm compile does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('withIdleDeadline', () => {
  it('fails a step that never settles while the thread waits', async () => {
    const started = performance.now();
    await expect(withIdleDeadline(new Promise(() => {}), 400, 'stuck')).rejects.toThrow('stuck');
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('gives a step that keeps the thread busy longer than the deadline the time it needs', async () => {
    const work = new Promise<string>((resolve) =>
      setTimeout(() => {
        busy(2000);
        resolve('done');
      }, 20),
    );
    await expect(withIdleDeadline(work, 600, 'stuck')).resolves.toBe('done');
  });

  it('passes a step that settles in time, and its failure, through unchanged', async () => {
    await expect(withIdleDeadline(Promise.resolve(7), 400, 'stuck')).resolves.toBe(7);
    await expect(withIdleDeadline(Promise.reject(new Error('bad model')), 400, 'stuck')).rejects.toThrow('bad model');
  });
});
