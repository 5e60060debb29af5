// DiffAugment's pieces (train/diff-augment.ts): the hand-written engine's T, A and A^T against each
// other and against the tfjs engine's ops, for grey and colour images of even and odd sizes.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backend/select.js';
import { Rng } from '../common/rng.js';
import { augment, augmentLinear, augmentTensor, augmentTranspose, drawAugment, type AugmentDraws } from '../train/diff-augment.js';
import { architecture } from '../train/models.js';
import { referenceOptions } from '../train/options.js';
import { GanTrainer } from '../train/trainer.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const SHAPES: [number, number, number][] = [
  [1, 28, 28],
  [1, 24, 24],
  [3, 32, 32],
  [3, 9, 13],
];
const N = 6;

const random = (rng: Rng, size: number): Float32Array => Float32Array.from({ length: size }, () => 2 * rng.uniform() - 1);
const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + v * b[i]!, 0);

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('DiffAugment', () => {
  for (const shape of SHAPES) {
    const size = shape[0] * shape[1] * shape[2];
    const name = shape.join('x');

    it(`${name}: draws in range; the tfjs ops give the hand-written T(x), and tfjs's gradient of <g, T(x)> is A^T g`, () => {
      const rng = new Rng(3);
      const d = drawAugment(rng, N, shape);
      expect(d.saturation === null).toBe(shape[0] === 1);
      for (const b of d.brightness) expect(b >= -0.5 && b < 0.5).toBe(true);
      const [sy, sx] = [Math.floor(shape[1] / 8 + 0.5), Math.floor(shape[2] / 8 + 0.5)];
      for (let i = 0; i < N; i++) {
        expect(Math.abs(d.dy[i]!)).toBeLessThanOrEqual(sy);
        expect(Math.abs(d.dx[i]!)).toBeLessThanOrEqual(sx);
      }
      const x = random(rng, N * size);
      const g = random(rng, N * size);
      const hand = augment(d, x);
      tf.tidy(() => {
        const xt = tf.tensor2d(x, [N, size]);
        expect(maxDiff(augmentTensor(d, xt).dataSync(), hand)).toBeLessThan(1e-5);
        const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(augmentTensor(d, v as tf.Tensor2D), tf.tensor2d(g, [N, size]))))(xt);
        expect(maxDiff(grad.dataSync(), augmentTranspose(d, g))).toBeLessThan(1e-5);
      });
    });

    it(`${name}: T(x) - T(0) = A x, and A^T is A's adjoint`, () => {
      const rng = new Rng(5);
      const d = drawAugment(rng, N, shape);
      const [x, v, g] = [random(rng, N * size), random(rng, N * size), random(rng, N * size)];
      const offset = augment(d, new Float32Array(N * size));
      const Ax = augmentLinear(d, x);
      expect(
        maxDiff(
          augment(d, x).map((t, i) => t - offset[i]!),
          Ax,
        ),
      ).toBeLessThan(1e-5);
      const [left, right] = [dot(augmentLinear(d, v), g), dot(v, augmentTranspose(d, g))];
      expect(Math.abs(left - right)).toBeLessThan(1e-4 * Math.max(1, Math.abs(left)));
    });

    it(`${name}: draws that change nothing leave the image as it is`, () => {
      const identity: AugmentDraws = {
        n: N,
        shape,
        brightness: new Float32Array(N),
        saturation: shape[0] === 3 ? new Float32Array(N).fill(1) : null,
        contrast: new Float32Array(N).fill(1),
        dy: new Int32Array(N),
        dx: new Int32Array(N),
        cutY: new Int32Array(N).fill(shape[1]), // the square below the image
        cutX: new Int32Array(N),
      };
      const x = random(new Rng(9), N * size);
      expect(maxDiff(augment(identity, x), x)).toBeLessThan(1e-6);
      expect(maxDiff(augmentTranspose(identity, x), x)).toBeLessThan(1e-6);
      tf.tidy(() => {
        expect(maxDiff(augmentTensor(identity, tf.tensor2d(x, [N, size])).dataSync(), x)).toBeLessThan(1e-6);
      });
    });
  }

  it('a dcgan cgan step on colour images trains through it on tfjs autodiff (conv critic, penalty of a gradient)', () => {
    const shape: [3, number, number] = [3, 16, 16];
    const options = { ...referenceOptions('cgan'), arch: 'dcgan' as const, criticSteps: 1, augment: 'diff' as const };
    const trainer = new GanTrainer(architecture('cgan', 2, shape, 'dcgan'), options, new Rng(2), 'tfjs');
    const rng = new Rng(4);
    const m = tf.tidy(() => trainer.step(tf.tensor2d(random(rng, 4 * 768), [4, 768]), tf.tensor1d([0, 1, 1, 0], 'int32')));
    for (const v of Object.values(m)) expect(Number.isFinite(v)).toBe(true);
    expect(m.gp).toBeGreaterThan(0);
    trainer.dispose();
  });
});
