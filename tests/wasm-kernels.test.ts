// The wasm backend's replaced kernels (backend/ort-matmul.ts, backend/wasm-kernels.ts) against plain
// JavaScript arithmetic: same products, shared (not copied) identities that stay valid.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backend/select.js';
import { Rng } from '../common/rng.js';

beforeAll(async () => {
  const info = await selectBackend('wasm'); // forced: auto picks tfjs-node where it is installed
  expect(info.name).toBe('wasm');
  expect(info.reason).toContain('matmuls on onnxruntime');
});

const rng = new Rng(3);
const rand = (shape: number[]): tf.Tensor =>
  tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    shape,
  );

/** C = op(A) op(B) for row-major 2-D arrays, in float64. */
function reference(a: Float32Array, [ra, ca]: number[], b: Float32Array, [rb, cb]: number[], tA: boolean, tB: boolean): Float64Array {
  const m = tA ? ca! : ra!;
  const k = tA ? ra! : ca!;
  const n = tB ? rb! : cb!;
  const A = (i: number, p: number): number => (tA ? a[p * ca! + i]! : a[i * ca! + p]!);
  const B = (p: number, j: number): number => (tB ? b[j * cb! + p]! : b[p * cb! + j]!);
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) c[i * n + j] += A(i, p) * B(p, j);
  return c;
}

describe('matmul on onnxruntime', () => {
  for (const [tA, tB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`matches float64 arithmetic with transposeA=${tA} transposeB=${tB}`, () => {
      const [m, k, n] = [37, 53, 29];
      const a = rand(tA ? [k, m] : [m, k]);
      const b = rand(tB ? [n, k] : [k, n]);
      const got = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, tA, tB);
      expect(got.shape).toEqual([m, n]);
      const want = reference(a.dataSync() as Float32Array, a.shape, b.dataSync() as Float32Array, b.shape, tA, tB);
      const g = got.dataSync();
      for (let i = 0; i < want.length; i++) expect(Math.abs(g[i]! - want[i]!)).toBeLessThan(1e-4);
      tf.dispose([a, b, got]);
    });
  }

  it('keeps batch dimensions of 1 and leaves real batches to the original kernel', () => {
    const a = rand([1, 4, 3]);
    const b = rand([1, 3, 5]);
    const single = tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D);
    expect(single.shape).toEqual([1, 4, 5]);
    const want = reference(a.dataSync() as Float32Array, [4, 3], b.dataSync() as Float32Array, [3, 5], false, false);
    expect(Array.from(single.dataSync()).map((v, i) => Math.abs(v - want[i]!) < 1e-5)).not.toContain(false);
    const batched = tf.matMul(rand([2, 4, 3]) as tf.Tensor3D, rand([2, 3, 5]) as tf.Tensor3D);
    expect(batched.shape).toEqual([2, 4, 5]);
  });

  it('reads inputs that live far into the wasm heap after it has grown', () => {
    const big = tf.zeros([64, 1024, 1024]); // 256 MiB: the heap grows and its buffer is replaced
    const a = rand([300, 848]);
    const b = rand([848, 128]);
    const got = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D).dataSync();
    const want = reference(a.dataSync() as Float32Array, a.shape, b.dataSync() as Float32Array, b.shape, false, false);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    expect(worst).toBeLessThan(1e-3);
    tf.dispose([big, a, b]);
  });

  it("still raises tfjs's error on mismatched shapes", () => {
    expect(() => tf.matMul(rand([2, 3]) as tf.Tensor2D, rand([4, 2]) as tf.Tensor2D)).toThrow(/inner shapes/);
  });
});

describe('shared identities', () => {
  it('a clone outlives its source and a same-dtype cast shares without copying', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const before = tf.memory().numDataBuffers;
    const c = tf.clone(x);
    const same = tf.cast(x, 'float32');
    expect(tf.memory().numDataBuffers).toBe(before); // no new buffers
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
    same.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
    const asInt = tf.cast(c, 'int32');
    expect(asInt.dtype).toBe('int32');
    expect(Array.from(asInt.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([c, asInt]);
  });
});
