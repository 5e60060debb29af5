// The training state (networks, optimisers, EMA) and one generator step of algorithms.ts's
// algorithms, on the hand-written engine (mlp-step.ts) or here on tfjs's autodiff.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../common/rng.js';
import { Sequential, weightKey, type ForwardContext } from './layers.js';
import type { Architecture } from './models.js';
import { Adam } from './adam.js';
import type { TrainingOptions } from './options.js';
import { lossOf, penaltyLoss, watched } from './gradient-penalty.js';
import { emaDecayAt, useAveragedWeights } from './ema.js';
import { ortGemm } from '../backend/ort-matmul.js';
import { HandStep, notStepByHand } from './mlp-step.js';
import type { StepEngine, StepHost, StepMetrics } from './step.js';
import { augmentRows, augmentTensor, criticAugment, type AugmentDraws } from './diff-augment.js';
import {
  criticStepsAt,
  drawNoise,
  ganCriticLoss,
  ganGeneratorLoss,
  r1Penalty,
  wganCriticDraws,
  wganCriticLoss,
  wganGeneratorDraws,
  wganGeneratorLoss,
  wganPenalty,
} from './algorithms.js';

export type { StepEngine, StepMetrics } from './step.js';

/** d loss / d vars by tfjs's autodiff, handed to `adam`; returns the loss. */
function minimize(adam: Adam, vars: tf.Variable[], f: () => tf.Scalar): number {
  const { value, grads } = tf.variableGrads(f, vars);
  adam.applyTensors(grads);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return loss;
}

export class GanTrainer implements StepHost {
  readonly generator: Sequential;
  readonly critic: Sequential;
  readonly gAdam: Adam;
  readonly dAdam: Adam;
  /** Exponential moving average of the generator's weights (--ema; its decay is options.ema). */
  ema: tf.Variable[] | null = null;
  readonly engine: StepEngine;
  /** Why the step runs on tfjs's autodiff though the hand-written one was not ruled out (null: it does not, or was asked to). */
  readonly engineNote: string | null = null;
  private readonly hand: HandStep | null = null;

  constructor(
    readonly arch: Architecture,
    readonly options: TrainingOptions,
    readonly rng: Rng,
    engine?: StepEngine,
  ) {
    this.generator = new Sequential('generator', arch.generator, rng);
    this.critic = new Sequential('critic', arch.critic, rng);
    this.gAdam = new Adam(this.generator.trainable, options.gLr, arch.generatorAdam);
    this.dAdam = new Adam(this.critic.trainable, options.dLr, arch.criticAdam);
    const gemm = engine === 'tfjs' || (!engine && tf.getBackend() === 'tensorflow') ? null : ortGemm();
    const notHand = notStepByHand(this);
    if (gemm && 'gemm' in gemm && !notHand) this.hand = new HandStep(this, gemm.gemm);
    else if (engine === 'hand')
      throw new Error(`the hand-written step is not available here (${gemm && 'why' in gemm ? gemm.why : notHand})`);
    else if (gemm && notHand) this.engineNote = notHand;
    this.engine = this.hand ? 'hand' : 'tfjs';
  }

  /** Scale both learning rates (a schedule); Adam reads its rate at every update. */
  setLearningRateScale(scale: number): void {
    this.gAdam.learningRate = this.options.gLr * scale;
    this.dAdam.learningRate = this.options.dLr * scale;
  }

  get conditional(): boolean {
    return this.generator.conditional;
  }

  /** Start averaging from the current weights (when options.ema asks for an average and none runs yet). */
  startEma(): void {
    if (this.options.ema !== null && !this.ema) this.ema = this.generator.weights.map((w) => tf.variable(w.clone(), false));
  }

  /** One generator update preceded by options.criticSteps critic updates on the same real batch. */
  step(real: tf.Tensor2D, labels: tf.Tensor1D): StepMetrics {
    const m = this.hand ? this.hand.step(real, labels) : this.arch.gpLambda > 0 ? this.wganStep(real, labels) : this.ganStep(real);
    this.updateEma();
    return m;
  }

  /** options.augment's draws for n critic rows (null when off: nothing drawn). */
  private augmentDraws(n: number): AugmentDraws | null {
    return criticAugment(this.options, this.rng, n, this.arch.imageShape);
  }

  /** The critic on x, augmented first when there are draws (one per row of x). */
  private criticOn(x: tf.Tensor2D, ctx: ForwardContext, draws: AugmentDraws | null): tf.Tensor2D {
    return this.critic.apply(draws ? augmentTensor(draws, x) : x, ctx);
  }

  private ganStep(real: tf.Tensor2D): StepMetrics {
    const n = real.shape[0];
    const G = this.generator;
    const D = this.critic;
    return tf.tidy(() => {
      const noise = tf.tensor2d(drawNoise(this.rng, n, this.arch.noiseDim), [n, this.arch.noiseDim]);
      // The reference computes fake once and reuses it for both updates; here the G update recomputes
      // it (same noise, same batch statistics) so BatchNorm's running stats are updated once, there.
      const fake = G.apply(noise, { training: true, updateStats: false });
      const dCtx: ForwardContext = { training: true, rng: this.rng };
      let dAcc = 0;
      const r1 = r1Penalty(this.options.r1);
      const aug = this.augmentDraws(2 * n);
      // R1 differentiates the critic's score of the real images as it saw them: with their draws.
      const realAug = aug && augmentRows(aug, 0, n);
      const dLoss = minimize(this.dAdam, D.trainable, () => {
        const ce = lossOf(this.criticOn(tf.concat2d([real, fake], 0), dCtx, aug), (l) => {
          const t = ganCriticLoss(l, this.options);
          dAcc = t.dAcc;
          return t;
        });
        return r1
          ? (tf.add(
              ce,
              penaltyLoss(r1, (x) => this.criticOn(x, dCtx, realAug), real),
            ) as tf.Scalar)
          : ce;
      });
      let gAcc = 0;
      const gAug = this.augmentDraws(n);
      const gLoss = minimize(this.gAdam, G.trainable, () => {
        return lossOf(this.criticOn(G.apply(noise, { training: true }), dCtx, gAug), (l) => {
          const t = ganGeneratorLoss(l);
          gAcc = t.gAcc;
          return t;
        });
      });
      return { dLoss, gLoss, dAcc, gAcc };
    });
  }

  private wganStep(real: tf.Tensor2D, labels: tf.Tensor1D): StepMetrics {
    const n = real.shape[0];
    const G = this.generator;
    const D = this.critic;
    const { arch, options } = this;
    // The reference's WGAN-GP takes MiniBatchSize from an undefined `real_labels`; we use the real batch.
    const dCtx: ForwardContext = { training: true, rng: this.rng, labels };
    let last = { dLoss: 0, wasserstein: 0, gp: 0 };
    const steps = criticStepsAt(options, this.gAdam.iterations);
    const labelValues = labels.dataSync() as Int32Array;
    const penalty = wganPenalty(arch.gpLambda);
    for (let k = 0; k < steps; k++) {
      last = tf.tidy(() => {
        const draws = wganCriticDraws(this.rng, arch, options, labelValues);
        const fake = G.apply(tf.tensor2d(draws.noise, [n, arch.noiseDim]), { training: true, labels }); // detached: no tape here
        const eps = tf.tensor2d(draws.eps, [n, 1]);
        const wrong = draws.wrong ? tf.tensor1d(draws.wrong, 'int32') : null;
        const seen = { wasserstein: 0, gp: 0 };
        const inputs = wrong ? [real, fake, real] : [real, fake];
        const aug = this.augmentDraws(inputs.length * n);
        // The penalty's points are seen with the real rows' draws (no more draws).
        const realAug = aug && augmentRows(aug, 0, n);
        const dLoss = minimize(this.dAdam, D.trainable, () => {
          // Real and fake (and real with wrong labels) in one pass: same result as separate passes
          // (no batch-dependent layers), one matmul each.
          const rowLabels = tf.concat1d(wrong ? [labels, labels, wrong] : [labels, labels]);
          const out = this.criticOn(tf.concat2d(inputs, 0), { ...dCtx, labels: rowLabels }, aug);
          const critic = lossOf(out, (o) => {
            const t = wganCriticLoss(o, n, options);
            seen.wasserstein = t.wasserstein;
            return t;
          });
          const gp = penaltyLoss(
            watched(penalty, (l) => (seen.gp = l)),
            (x) => this.criticOn(x, dCtx, realAug),
            real,
            fake,
            eps,
          );
          return tf.add(critic, gp) as tf.Scalar;
        });
        return { dLoss, ...seen };
      });
    }
    const gLoss = tf.tidy(() => {
      const draws = wganGeneratorDraws(this.rng, arch, this.conditional, labels.dataSync() as Int32Array);
      const gLabels = tf.tensor1d(draws.labels, 'int32');
      const noise = tf.tensor2d(draws.noise, [n, arch.noiseDim]);
      const aug = this.augmentDraws(n);
      return minimize(this.gAdam, G.trainable, () => {
        const fake = G.apply(noise, { training: true, labels: gLabels });
        return lossOf(this.criticOn(fake, { training: true, rng: this.rng, labels: gLabels }, aug), wganGeneratorLoss);
      });
    });
    return { ...last, gLoss };
  }

  private updateEma(): void {
    const weights = this.ema;
    if (!weights || this.options.ema === null) return;
    const decay = emaDecayAt(this.options.ema, this.gAdam.iterations);
    const live = this.generator.weights;
    tf.tidy(() => {
      weights.forEach((e, i) => {
        const w = live[i]!;
        // Running statistics are copied; trainable weights are averaged.
        e.assign(w.trainable ? tf.add(tf.mul(e, decay), tf.mul(w, 1 - decay)) : w);
      });
    });
  }

  /** Put the EMA weights into the generator (until the returned function is called). */
  useEmaWeights(): () => void {
    if (!this.ema) return () => undefined;
    return useAveragedWeights(this.generator, this.ema, this.arch.noiseDim, this.arch.numClasses);
  }

  /** Generate images in inference mode; with `useEma`, from the averaged weights. */
  generate(noise: tf.Tensor2D, labels?: tf.Tensor1D, useEma = true): tf.Tensor2D {
    const restore = useEma ? this.useEmaWeights() : () => undefined;
    try {
      return tf.tidy(() => this.generator.apply(noise, { training: false, labels }));
    } finally {
      restore();
    }
  }

  dispose(): void {
    this.generator.dispose();
    this.critic.dispose();
    this.ema?.forEach((w) => w.dispose());
  }

  keyedWeights(): Map<string, tf.Variable> {
    return new Map([...this.generator.weights, ...this.critic.weights].map((w) => [weightKey(w), w]));
  }
}
