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

const values = (vars: tf.Variable[]): Map<string, Float32Array> => new Map(vars.map((v) => [v.name.replace(/#\d+$/, ''), v.dataSync() as Float32Array]));

async function adamState(o: tf.Optimizer): Promise<Float32Array[]> {
  return (await o.getWeights()).map((w) => w.tensor.dataSync() as Float32Array);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

const cases: { name: string; kind: ModelKind; options: TrainingOptions }[] = [
  { name: 'gan, the chapter', kind: 'gan', options: referenceOptions('gan') },
  { name: 'gan, R1 and label smoothing', kind: 'gan', options: { ...recipeOptions('best', 'gan', { epochs: 4 }), labelSmoothing: 0.2, ema: null } },
  { name: 'wgan-gp, the chapter', kind: 'wgan-gp', options: { ...referenceOptions('wgan-gp'), criticSteps: 2 } },
  { name: 'cgan, the default recipe (matching-aware critic)', kind: 'cgan', options: { ...recipeOptions('best', 'cgan', { epochs: 4 }), criticSteps: 2, ema: null } },
];

describe('the hand-written step', () => {
  it('is the default on the wasm backend', () => {
    expect(new GanTrainer(architecture('cgan'), referenceOptions('cgan'), new Rng(1)).engine).toBe('hand');
  });

  for (const c of cases) {
    it(`matches tfjs's autodiff: ${c.name}`, async () => {
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
          const tol = k === 'gLoss' && c.kind !== 'gan' ? 2 * steps * (c.options.criticSteps + 1) * c.options.dLr : 1e-5 * Math.max(1, Math.abs(v));
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
      b.trainer.syncOptimizers(); // the hand-written step keeps Adam's moments in JavaScript until asked
      for (const [oa, ob] of [[a.trainer.gOpt, b.trainer.gOpt], [a.trainer.dOpt, b.trainer.dOpt]] as const) {
        const [sa, sb] = [await adamState(oa), await adamState(ob)];
        expect(sb.length).toBe(sa.length);
        sa.forEach((x, i) => expect(maxDiff(x, sb[i]!), `slot ${i}`).toBeLessThan(1e-4 * Math.max(1e-3, maxDiff(x, new Float32Array(x.length)))));
      }
      a.trainer.dispose();
      b.trainer.dispose();
    }, 60_000);
  }

  it('draws the same random numbers as the tfjs path (the runs stay in step)', () => {
    const options = { ...recipeOptions('best', 'cgan', { epochs: 4 }), criticSteps: 1 };
    const a = run('cgan', options, 'tfjs', 2);
    const b = run('cgan', options, 'hand', 2);
    expect(b.trainer.rng.getState()).toEqual(a.trainer.rng.getState());
  });
});
