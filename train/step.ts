// What both step engines share (trainer.ts's tfjs autodiff, mlp-step.ts's hand-written one): the
// metrics a step returns, what an engine reads of the trainer, and each algorithm's random draws
// and critic schedule, defined once so the two engines draw the same numbers in the same order.
import type * as tf from '@tensorflow/tfjs-core';
import { fillUniform, type Rng } from '../common/rng.js';
import type { Sequential } from './layers.js';
import type { Architecture } from './models.js';
import { WARMUP_CRITIC_STEPS, type TrainingOptions } from './options.js';

/**
 * How a step computes its gradients: `hand`, the hand-written MLP step on onnxruntime's GEMM
 * (mlp-step.ts; the default wherever onnxruntime-node loads and every layer has a hand-written
 * kernel), or `tfjs`, tfjs's autodiff on the backend in use (the definition the hand path is tested
 * against; the native tensorflow backend; conv layers).
 */
export type StepEngine = 'hand' | 'tfjs';

export interface StepMetrics {
  /** Discriminator / critic loss (last critic step). */
  dLoss: number;
  gLoss: number;
  /** gan: discriminator accuracy on real+fake; generator "accuracy" (fakes judged real). */
  dAcc?: number;
  gAcc?: number;
  /** wgan-gp/cgan: critic's Wasserstein estimate E[C(real)] - E[C(fake)] and the penalty. */
  wasserstein?: number;
  gp?: number;
}

/** What an engine reads of the trainer. */
export interface StepHost {
  readonly arch: Architecture;
  readonly options: TrainingOptions;
  readonly rng: Rng;
  readonly generator: Sequential;
  readonly critic: Sequential;
  readonly gOpt: tf.AdamOptimizer;
  readonly dOpt: tf.AdamOptimizer;
  readonly conditional: boolean;
}

/** WGAN-GP/CGAN: critic updates before generator step `iterations` (the warm-up's first). */
export const criticStepsAt = (o: TrainingOptions, iterations: number): number => (iterations < o.criticWarmup ? WARMUP_CRITIC_STEPS : o.criticSteps);

/** The generator's noise for n rows: U(-1, 1). */
export const drawNoise = (rng: Rng, n: number, noiseDim: number): Float32Array => fillUniform(rng, new Float32Array(n * noiseDim));

/** The gradient penalty's interpolation weights, U(0, 1) per row. */
export const drawEps = (rng: Rng, n: number): Float32Array => fillUniform(rng, new Float32Array(n), 0, 1);

/** Uniform class labels for the generator's step (conditional models). */
export const drawLabels = (rng: Rng, n: number, classes: number): Int32Array => Int32Array.from({ length: n }, () => rng.int(classes));

/** A different class for every label: y + U{1..K-1} mod K (the matching-aware critic's). */
export const drawWrongLabels = (rng: Rng, labels: ArrayLike<number>, classes: number): Int32Array => Int32Array.from(labels, (c) => (c + 1 + rng.int(classes - 1)) % classes);
