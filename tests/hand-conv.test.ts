// The hand-written forward of the --arch dcgan layers (each kind's handForward, train/hand-forward.ts)
// against tfjs's forward of the same networks, layer by layer, and their hand-written backward
// (handBackward) and the critic's penalty double backward (handPenalty) against tfjs's autodiff: a tiny dcgan at 8x8, batch 4,
// within 2e-5 / 1e-4.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backend/select.js';
import { ortGemm, type Gemm } from '../backend/ort-matmul.js';
import { Rng } from '../common/rng.js';
import type { ModelKind } from '../common/metadata.js';
import { Sequential } from '../train/layers.js';
import { architecture } from '../train/models.js';
import { handBackward, handForward, inputGradient, penaltyGrads } from '../train/hand-forward.js';
import { penaltyLoss } from '../train/gradient-penalty.js';
import { wganPenalty } from '../train/algorithms.js';

let gemm: Gemm;
beforeAll(async () => {
  await selectBackend('wasm');
  const g = ortGemm();
  if (!('gemm' in g)) throw new Error(g.why);
  gemm = g.gemm;
});

const N = 4;

/** tfjs's training-mode output of every layer (batch statistics, running ones left alone). */
function tfjsOutputs(net: Sequential, x: Float32Array, labels: Int32Array): Float32Array[] {
  return tf.tidy(() => {
    const ctx = { training: true, updateStats: false, labels: tf.tensor1d(labels, 'int32') };
    let h: tf.Tensor = tf.tensor2d(x, [N, net.config.inputDim]);
    return net.layers.map((l) => {
      h = l.apply(h, ctx);
      return h.dataSync() as Float32Array;
    });
  });
}

/** max |a - b| below tol * max(1, max |a|). */
function close(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  expect(b.length, what).toBe(a.length);
  let d = 0;
  let scale = 0;
  for (let j = 0; j < a.length; j++) {
    d = Math.max(d, Math.abs(a[j]! - b[j]!));
    scale = Math.max(scale, Math.abs(a[j]!));
  }
  expect(d, `${what}: max |tfjs - hand| of max ${scale}`).toBeLessThan(tol * Math.max(1, scale));
}

/** Every layer's output by hand and by tfjs. */
function check(net: Sequential, rng: Rng): void {
  const x = Float32Array.from({ length: N * net.config.inputDim }, () => rng.uniform() * 2 - 1);
  const labels = Int32Array.from({ length: N }, (_, i) => i % 3);
  const want = tfjsOutputs(net, x, labels);
  const got = handForward(net, gemm, x, N, labels);
  net.layers.forEach((l, i) => close(want[i]!, got[i]!, 2e-5, l.name));
}

/** The gradients of <r, G(x)> (r random) by hand and by tfjs's autodiff. */
function checkBackward(net: Sequential, rng: Rng): void {
  const x = Float32Array.from({ length: N * net.config.inputDim }, () => rng.uniform() * 2 - 1);
  const labels = Int32Array.from({ length: N }, (_, i) => i % 3);
  const r = Float32Array.from({ length: N * net.outputDim }, () => rng.uniform() * 2 - 1);
  const want = tf.tidy(() => {
    const ctx = { training: true, updateStats: false, labels: tf.tensor1d(labels, 'int32') };
    const xt = tf.tensor2d(x, [N, net.config.inputDim]);
    const f = (xx: tf.Tensor) => tf.sum(tf.mul(net.apply(xx as tf.Tensor2D, ctx), tf.tensor2d(r, [N, net.outputDim])));
    const { grads } = tf.variableGrads(() => f(xt) as tf.Scalar, net.trainable);
    return { grads: net.trainable.map((v) => grads[v.name]!.dataSync() as Float32Array), dx: tf.grad(f)(xt).dataSync() as Float32Array };
  });
  const outs = handForward(net, gemm, x, N, labels);
  const got = handBackward(net, gemm, x, outs, r, N, labels);
  net.trainable.forEach((v, i) => close(want.grads[i]!, got.grads[i]!, 1e-4, v.name));
  close(want.dx, got.dx, 1e-4, 'input');
}

/** WGAN-GP's penalty gradients of the critic by hand (input gradient, then the double backward) and by tfjs's gradient of a gradient. */
function checkPenalty(net: Sequential, rng: Rng): void {
  const d = net.config.inputDim;
  const rand = (k: number) => Float32Array.from({ length: k }, () => rng.uniform() * 2 - 1);
  const [real, fake, eps] = [rand(N * d), rand(N * d), rand(N).map(Math.abs)];
  const labels = Int32Array.from({ length: N }, (_, i) => i % 3);
  const penalty = wganPenalty(10);
  const want = tf.tidy(() => {
    const ctx = { training: true, updateStats: false, labels: tf.tensor1d(labels, 'int32') };
    const t = (v: Float32Array, cols: number) => tf.tensor2d(v, [N, cols]);
    const { grads } = tf.variableGrads(
      () => penaltyLoss(penalty, (x) => net.apply(x, ctx), t(real, d), t(fake, d), t(eps, 1)),
      net.trainable,
    );
    return net.trainable.map((v) => (grads[v.name] ? (grads[v.name]!.dataSync() as Float32Array) : new Float32Array(v.size)));
  });
  const x = real.map((r, j) => eps[Math.floor(j / d)]! * r + (1 - eps[Math.floor(j / d)]!) * fake[j]!);
  const outs = handForward(net, gemm, x, N, labels);
  const { gx, upstream } = inputGradient(net, gemm, x, outs, penalty.weights, N, labels);
  const sq = Float32Array.from({ length: N }, (_, i) => gx.subarray(i * d, (i + 1) * d).reduce((a, v) => a + v * v, 0));
  const dsq = penalty.value(sq).grad;
  const got = penaltyGrads(
    net,
    gemm,
    x,
    outs,
    upstream,
    gx.map((v, j) => 2 * v * dsq[Math.floor(j / d)]!),
    N,
    labels,
  );
  net.trainable.forEach((v, i) => close(want[i]!, got[i]!, 1e-4, `penalty ${v.name}`));
}

describe('the hand-written forward of the dcgan layers', () => {
  for (const kind of ['wgan-gp', 'cgan'] as ModelKind[]) {
    it(
      "equals tfjs's, layer by layer (and the backward and the critic's penalty double backward its autodiff): " +
        `${kind}, 8x8 grey and RGB`,
      () => {
        for (const shape of [
          [1, 8, 8],
          [3, 8, 8],
        ] as [1 | 3, number, number][]) {
          const arch = architecture(kind, 3, shape, 'dcgan');
          const rng = new Rng(5);
          const G = new Sequential('generator', arch.generator, rng);
          const D = new Sequential('critic', arch.critic, rng);
          expect(G.config.layers.map((c) => c.type)).toContain('ConvTranspose2D');
          check(G, rng);
          check(D, rng);
          checkBackward(G, rng);
          checkBackward(D, rng);
          checkPenalty(D, rng);
          G.dispose();
          D.dispose();
        }
      },
    );
  }
});
