// The hand-written training step (train/mlp-step.ts) against tfjs's autodiff of the same step
// (trainer.ts): from the same seed, a few steps of each generator kind and lever leave the same
// weights, running statistics, Adam moments and losses, to float rounding.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backend/select.js';
import { Rng } from '../common/rng.js';
import type { ModelKind } from '../common/metadata.js';
import { loadData } from '../data/sources.js';
import { architecture } from '../train/models.js';
import { recipeOptions, referenceOptions, type TrainingOptions } from '../train/options.js';
import { GanTrainer, type StepMetrics } from '../train/trainer.js';
import type { Adam } from '../train/adam.js';
import { captureCheckpoint, restoreCheckpoint } from '../train/checkpoint.js';

beforeAll(async () => {
  await selectBackend('wasm'); // the backend CI trains on (auto picks tfjs-node where installed)
});

const { train } = loadData('mnist');
const N = 48;

function run(kind: ModelKind, options: TrainingOptions, engine: 'hand' | 'tfjs', steps: number) {
  const trainer = new GanTrainer(architecture(kind), options, new Rng(11), engine);
  expect(trainer.engine).toBe(engine);
  const metrics: StepMetrics[] = [];
  for (let s = 0; s < steps; s++) {
    tf.tidy(() => {
      const x = tf.tensor2d(train.images.subarray(s * N * 784, (s + 1) * N * 784), [N, 784]);
      const y = tf.tensor1d(train.labels.subarray(s * N, (s + 1) * N), 'int32');
      metrics.push(trainer.step(x, y));
    });
  }
  return { trainer, metrics };
}

const values = (vars: tf.Variable[]): Map<string, Float32Array> =>
  new Map(vars.map((v) => [v.name.replace(/#\d+$/, ''), v.dataSync() as Float32Array]));

/** Adam's moments in the checkpoint's order (m of each variable, then v). */
function adamState(a: Adam): Float32Array[] {
  const s = a.slots();
  return [...s.m, ...s.v];
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

const cases: { name: string; kind: ModelKind; options: TrainingOptions }[] = [
  { name: 'gan, the chapter', kind: 'gan', options: referenceOptions('gan') },
  {
    name: 'gan, R1 and label smoothing',
    kind: 'gan',
    options: { ...recipeOptions('best', 'gan', { epochs: 4 }), labelSmoothing: 0.2, ema: null },
  },
  { name: 'wgan-gp, the chapter', kind: 'wgan-gp', options: { ...referenceOptions('wgan-gp'), criticSteps: 2 } },
  {
    name: 'cgan, the default recipe (matching-aware critic)',
    kind: 'cgan',
    options: { ...recipeOptions('best', 'cgan', { epochs: 4 }), criticSteps: 2, ema: null },
  },
  {
    name: 'cgan, DiffAugment (interpolates and wrong-label rows augmented)',
    kind: 'cgan',
    options: { ...recipeOptions('best', 'cgan', { epochs: 4 }), criticSteps: 2, ema: null, augment: 'diff' },
  },
  {
    name: 'gan, R1 and DiffAugment',
    kind: 'gan',
    options: { ...recipeOptions('best', 'gan', { epochs: 4 }), ema: null, augment: 'diff' },
  },
];

describe('the hand-written step', () => {
  it('is the default on the wasm backend', () => {
    expect(new GanTrainer(architecture('cgan'), referenceOptions('cgan'), new Rng(1)).engine).toBe('hand');
  });

  for (const c of cases) {
    it(`matches tfjs's autodiff: ${c.name}`, () => {
      const steps = 3;
      const a = run(c.kind, c.options, 'tfjs', steps);
      const b = run(c.kind, c.options, 'hand', steps);
      // Losses, step by step.
      a.metrics.forEach((m, s) => {
        for (const [k, v] of Object.entries(m)) {
          const w = b.metrics[s]![k as keyof StepMetrics]!;
          // The WGAN generator's loss includes the critic's output bias, whose gradient is exactly 0
          // (E[C(real)] - E[C(fake)] does not move with it): Adam turns each path's rounding noise
          // in it into steps of up to the learning rate, differently (see below).
          const tol =
            k === 'gLoss' && c.kind !== 'gan' ? 2 * steps * (c.options.criticSteps + 1) * c.options.dLr : 1e-5 * Math.max(1, Math.abs(v));
          expect(Math.abs(w - v), `step ${s} ${k}: ${v} vs ${w}`).toBeLessThan(tol);
        }
      });
      // Every weight and running statistic.
      const wa = values([...a.trainer.generator.weights, ...a.trainer.critic.weights]);
      const wb = values([...b.trainer.generator.weights, ...b.trainer.critic.weights]);
      const outputBias = [...wa.keys()].filter((k) => k.startsWith('critic/') && k.endsWith('/bias')).at(-1)!;
      for (const [name, va] of wa) {
        const d = maxDiff(va, wb.get(name)!);
        const wganOutputBias = c.kind !== 'gan' && name === outputBias;
        expect(d, name).toBeLessThan(wganOutputBias ? steps * c.options.criticSteps * c.options.dLr * 1.01 : 2e-5);
      }
      // Adam's moments, slot by slot (the checkpoint stores them by position).
      for (const [oa, ob] of [
        [a.trainer.gAdam, b.trainer.gAdam],
        [a.trainer.dAdam, b.trainer.dAdam],
      ] as const) {
        expect(ob.iterations).toBe(oa.iterations);
        const [sa, sb] = [adamState(oa), adamState(ob)];
        expect(sb.length).toBe(sa.length);
        sa.forEach((x, i) =>
          expect(maxDiff(x, sb[i]!), `slot ${i}`).toBeLessThan(1e-4 * Math.max(1e-3, maxDiff(x, new Float32Array(x.length)))),
        );
      }
      a.trainer.dispose();
      b.trainer.dispose();
    }, 60_000);
  }

  it("a checkpoint carries Adam's state: a restored trainer steps exactly as the one it was taken from", async () => {
    const options = { ...referenceOptions('wgan-gp'), criticSteps: 1 };
    const a = run('wgan-gp', options, 'hand', 2);
    const meta = {
      dataset: { name: 'mnist', classes: [], count: 1 },
      seed: 11,
      backend: 'wasm',
      position: { epoch: 0, step: 2, batchInEpoch: 2, epochOrder: null, epochSums: {}, wallTimeMs: 0 },
    };
    const ckpt = JSON.parse(JSON.stringify(await captureCheckpoint(a.trainer, meta)));
    const b = new GanTrainer(architecture('wgan-gp'), options, new Rng(1), 'hand');
    await restoreCheckpoint(b, ckpt, 'test');
    b.rng.setState(ckpt.rngState); // as run.ts: after the networks drew their initial weights
    expect(b.gAdam.slots()).toEqual(a.trainer.gAdam.slots());
    tf.tidy(() => {
      const x = tf.tensor2d(train.images.subarray(0, N * 784), [N, 784]);
      const y = tf.tensor1d(train.labels.subarray(0, N), 'int32');
      expect(b.step(x, y)).toEqual(a.trainer.step(x, y));
    });
    expect(values(b.critic.weights)).toEqual(values(a.trainer.critic.weights));
    a.trainer.dispose();
    b.dispose();
  });

  it('draws the same random numbers as the tfjs path (the runs stay in step)', () => {
    const options = { ...recipeOptions('best', 'cgan', { epochs: 4 }), criticSteps: 1 };
    const a = run('cgan', options, 'tfjs', 2);
    const b = run('cgan', options, 'hand', 2);
    expect(b.trainer.rng.getState()).toEqual(a.trainer.rng.getState());
  });
});
