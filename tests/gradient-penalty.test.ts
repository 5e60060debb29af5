// The gradient penalty's parameter gradients (a gradient of a gradient) on the backend training picks
// (wasm on CI; tfjs-node's where it is installed).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backend/select.js';
import { Sequential, type LayerConfig } from '../train/layers.js';
import { penaltyLoss } from '../train/gradient-penalty.js';
import { r1Penalty, wganPenalty } from '../train/algorithms.js';
import { Rng } from '../common/rng.js';
import { architecture } from '../train/models.js';
import type { ModelKind } from '../common/metadata.js';
import { referenceOptions, type TrainingOptions } from '../train/options.js';
import { GanTrainer } from '../train/trainer.js';
import { loadData } from '../data/sources.js';

beforeAll(async () => {
  await selectBackend('auto');
});

const penalty = (net: Sequential, real: tf.Tensor2D, fake: tf.Tensor2D, eps: tf.Tensor2D): tf.Scalar =>
  penaltyLoss(wganPenalty(10), (x) => net.apply(x, { training: false }), real, fake, eps);

function setup(layers: LayerConfig[], inputDim: number, n = 5) {
  const rng = new Rng(7);
  const net = new Sequential('critic', { inputDim, layers }, rng);
  const rand = (rows: number, cols: number) =>
    tf.tensor2d(
      Float32Array.from({ length: rows * cols }, () => rng.normal()),
      [rows, cols],
    );
  return {
    net,
    real: rand(n, inputDim),
    fake: rand(n, inputDim),
    eps: tf.tensor2d(
      Float32Array.from({ length: n }, () => rng.uniform()),
      [n, 1],
    ),
  };
}

describe('gradient penalty', () => {
  it('matches the analytic gradient for a linear critic', () => {
    const { net, real, fake, eps } = setup([{ type: 'Dense', inputDim: 6, units: 1 }], 6);
    const { value, grads } = tf.variableGrads(() => penalty(net, real, fake, eps), net.trainable);
    // C(x) = x.w + b: dC/dx = w for every sample, GP = 10 (|w| - 1)^2, dGP/dw = 20 (|w| - 1) w / |w|.
    const w = net.trainable[0]!.dataSync();
    const norm = Math.hypot(...w);
    expect(value.dataSync()[0]).toBeCloseTo(10 * (norm - 1) ** 2, 4);
    const gw = grads[net.trainable[0]!.name]!.dataSync();
    w.forEach((wi, i) => expect(gw[i]).toBeCloseTo((20 * (norm - 1) * wi) / norm, 4));
    expect(grads[net.trainable[1]!.name]).toBeUndefined(); // the bias does not move dC/dx
  });

  it('R1: matches the analytic gradient for a linear two-logit discriminator', () => {
    const { net, real } = setup([{ type: 'Dense', inputDim: 6, units: 2 }], 6);
    const { value, grads } = tf.variableGrads(
      () => penaltyLoss(r1Penalty(10)!, (x) => net.apply(x, { training: false }), real),
      net.trainable,
    );
    // D(x) = x.(w1 - w0) + c: dD/dx = d = w1 - w0 for every sample, R1 = 5 |d|^2,
    // dR1/dw1 = 10 d and dR1/dw0 = -10 d (kernel [6, 2], row-major: column 0 is w0).
    const k = net.trainable[0]!.dataSync();
    const d = Array.from({ length: 6 }, (_, i) => k[i * 2 + 1]! - k[i * 2]!);
    expect(value.dataSync()[0]).toBeCloseTo(5 * d.reduce((a, x) => a + x * x, 0), 4);
    const gk = grads[net.trainable[0]!.name]!.dataSync();
    d.forEach((di, i) => {
      expect(gk[i * 2 + 1]).toBeCloseTo(10 * di, 4);
      expect(gk[i * 2]).toBeCloseTo(-10 * di, 4);
    });
  });

  it('matches central finite differences on a small LeakyReLU critic (away from kinks)', () => {
    const layers: LayerConfig[] = [
      { type: 'Dense', inputDim: 4, units: 6 },
      { type: 'LeakyReLU', alpha: 0.3 },
      { type: 'Dense', inputDim: 6, units: 5 },
      { type: 'LeakyReLU', alpha: 0.3 },
      { type: 'Dense', inputDim: 5, units: 1 },
    ];
    const { net, real, fake, eps } = setup(layers, 4);
    const { grads } = tf.variableGrads(() => penalty(net, real, fake, eps), net.trainable);
    const h = 1e-2;
    let checked = 0;
    for (const v of net.trainable) {
      const base = v.dataSync().slice();
      const analytic = grads[v.name]?.dataSync() ?? new Float32Array(base.length); // absent = no effect
      for (let i = 0; i < base.length; i++) {
        const at = (d: number): number => {
          const p = base.slice();
          p[i]! += d;
          v.assign(tf.tensor(p, v.shape));
          return penalty(net, real, fake, eps).dataSync()[0]!;
        };
        const numeric = (at(h) - at(-h)) / (2 * h);
        v.assign(tf.tensor(base, v.shape));
        // A kink crossed within +-h shows as a jump between the one-sided differences: skip those.
        const left = (penalty(net, real, fake, eps).dataSync()[0]! - at(-h)) / h;
        v.assign(tf.tensor(base, v.shape));
        if (Math.abs(left - numeric) > 0.05 * (Math.abs(numeric) + 1e-2)) continue;
        expect(analytic[i]!).toBeCloseTo(numeric, 1);
        expect(Math.abs(analytic[i]! - numeric)).toBeLessThan(2e-2 * Math.max(1, Math.abs(numeric)));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40); // of 67 parameters
  });

  it('the stock tf.leakyRelu has no second derivative here (why LeakyReLU is written with relu)', () => {
    const x = tf.tensor2d([[0.5, -0.2]]);
    const w = tf.variable(
      tf.tensor2d([
        [1, -1],
        [2, 0.5],
      ]),
    );
    const inner = (xx: tf.Tensor) => tf.sum(tf.leakyRelu(tf.matMul(xx as tf.Tensor2D, w), 0.3));
    const f = () => tf.sum(tf.square(tf.grad(inner)(x))) as tf.Scalar;
    expect(() => tf.variableGrads(f, [w])).toThrow(/gradient function not found|Cannot compute gradient/);
  });
});

describe('training step', () => {
  it('leaks no tensors across steps, for every model', () => {
    const cases: [ModelKind, Partial<TrainingOptions>][] = [
      ['gan', {}],
      ['wgan-gp', {}],
      ['cgan', {}],
      ['cgan', { mismatch: 1 }],
    ];
    for (const [model, extra] of cases) {
      const kind = `${model}${extra.mismatch ? ' --mismatch' : ''}`;
      const trainer = new GanTrainer(architecture(model), { ...referenceOptions(model), ...extra, ema: 0.99 }, new Rng(1));
      trainer.startEma();
      const real = tf.randomUniform([32, 784], -1, 1) as tf.Tensor2D;
      const labels = tf.tensor1d(
        Int32Array.from({ length: 32 }, (_, i) => i % 10),
        'int32',
      );
      trainer.step(real, labels); // optimiser slots are created on the first step
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) trainer.step(real, labels);
      expect(tf.memory().numTensors, kind).toBe(before);
      trainer.dispose();
      tf.dispose([real, labels]);
    }
  });

  it('the matching-aware term trains the critic to rank right labels above wrong ones', () => {
    const { images, labels: y } = loadData('mnist').train;
    const n = 200;
    const real = tf.tensor2d(images.subarray(0, n * 784), [n, 784]);
    const labels = tf.tensor1d(y.subarray(0, n), 'int32');
    const wrong = tf.tensor1d(
      Int32Array.from(y.subarray(0, n), (c) => (c + 5) % 10),
      'int32',
    );
    // Mean C(x, y) - C(x, y') after a few steps from the same start, with and without the term.
    const margin = (mismatch: number): number => {
      const trainer = new GanTrainer(architecture('cgan'), { ...referenceOptions('cgan'), mismatch }, new Rng(3));
      for (let i = 0; i < 4; i++) trainer.step(real, labels);
      const m = tf.tidy(() => {
        const c = (l: tf.Tensor1D) => trainer.critic.apply(real, { training: false, labels: l });
        return tf.mean(tf.sub(c(labels), c(wrong))).dataSync()[0]!;
      });
      trainer.dispose();
      return m;
    };
    const [without, withTerm] = [margin(0), margin(5)];
    expect(withTerm).toBeGreaterThan(without + 0.1); // 0.05 vs 0.20 when written
    tf.dispose([real, labels, wrong]);
  });

  it('a learning-rate scale of 0 freezes both networks, and 1 trains them', () => {
    const trainer = new GanTrainer(architecture('wgan-gp'), referenceOptions('wgan-gp'), new Rng(2));
    const real = tf.randomUniform([16, 784], -1, 1) as tf.Tensor2D;
    const labels = tf.zeros([16], 'int32') as tf.Tensor1D;
    const trainable = () => [...trainer.generator.trainable, ...trainer.critic.trainable].map((w) => Array.from(w.dataSync()));
    const start = trainable();
    trainer.setLearningRateScale(0);
    trainer.step(real, labels);
    expect(trainable()).toEqual(start);
    trainer.setLearningRateScale(1);
    trainer.step(real, labels);
    const trained = trainable();
    expect(trained[0], 'generator').not.toEqual(start[0]);
    expect(trained[trainer.generator.trainable.length], 'critic').not.toEqual(start[trainer.generator.trainable.length]);
    trainer.dispose();
    tf.dispose([real, labels]);
  });
});
