// Each training algorithm written once, on plain numbers: its random draws in their order, its
// critic schedule, and its loss terms with their weights, as functions of the critic's outputs (and
// of the penalised input gradient's squared norms). Both step engines (trainer.ts's tfjs autodiff,
// mlp-step.ts's hand-written one) run these and only compute the gradients below them: tfjs through
// `definedLoss` (gradient-penalty.ts), the hand-written engine by backpropagating `grad` itself.
import { fillUniform, type Rng } from '../common/rng.js';
import type { Architecture } from './models.js';
import { WARMUP_CRITIC_STEPS, type TrainingOptions } from './options.js';

/** A loss term's value and its gradient with respect to each value it was computed from. */
export interface Loss {
  loss: number;
  grad: Float32Array;
}

/**
 * A penalty on the critic's input gradient: P(sq), sq[i] = ||d<weights, C(x_i)>/dx_i||^2 per row,
 * at `at` (the interpolates of real and fake, or the real images). `grad` is dP/dsq.
 */
export interface Penalty {
  at: 'interpolates' | 'real';
  /** The output columns' weights of the differentiated sum (ones; R1's logit difference [-1, 1]). */
  weights: number[];
  value(sq: Float32Array): Loss;
}

/** gan (cross-entropy, two logits) or wgan-gp (the critic's score; cgan adds its labels). */
export type AlgorithmName = 'gan' | 'wgan-gp';
export const algorithmOf = (arch: Architecture): AlgorithmName => (arch.gpLambda > 0 ? 'wgan-gp' : 'gan');

// ---- Draws (each engine calls these in this order, so both draw the same numbers) ----

/** The generator's noise for n rows: U(-1, 1). */
export const drawNoise = (rng: Rng, n: number, noiseDim: number): Float32Array => fillUniform(rng, new Float32Array(n * noiseDim));

/** Uniform class labels for the generator's step (conditional models). */
export const drawLabels = (rng: Rng, n: number, classes: number): Int32Array => Int32Array.from({ length: n }, () => rng.int(classes));

/** A different class for every label: y + U{1..K-1} mod K (the matching-aware critic's). */
export const drawWrongLabels = (rng: Rng, labels: ArrayLike<number>, classes: number): Int32Array =>
  Int32Array.from(labels, (c) => (c + 1 + rng.int(classes - 1)) % classes);

/**
 * One WGAN-GP critic update's draws, before its critic passes (which then draw their dropout masks):
 * the fakes' noise, the penalty's interpolation weights U(0, 1) per row, and with --mismatch the
 * wrong labels. (The GAN draws one noise batch for its critic and generator updates.)
 */
export function wganCriticDraws(
  rng: Rng,
  arch: Architecture,
  o: TrainingOptions,
  labels: ArrayLike<number>,
): { noise: Float32Array; eps: Float32Array; wrong: Int32Array | null } {
  const n = labels.length;
  const noise = drawNoise(rng, n, arch.noiseDim);
  const eps = fillUniform(rng, new Float32Array(n), 0, 1);
  const wrong = o.mismatch ? drawWrongLabels(rng, labels, arch.numClasses) : null;
  return { noise, eps, wrong };
}

/** The WGAN-GP generator update's draws: fresh labels (conditional models; else the batch's) and noise. */
export function wganGeneratorDraws(
  rng: Rng,
  arch: Architecture,
  conditional: boolean,
  labels: Int32Array,
): { labels: Int32Array; noise: Float32Array } {
  const n = labels.length;
  const gLabels = conditional ? drawLabels(rng, n, arch.numClasses) : labels;
  return { labels: gLabels, noise: drawNoise(rng, n, arch.noiseDim) };
}

/** WGAN-GP/CGAN: critic updates before generator step `iterations` (the warm-up's first). */
export const criticStepsAt = (o: TrainingOptions, iterations: number): number =>
  iterations < o.criticWarmup ? WARMUP_CRITIC_STEPS : o.criticSteps;

// ---- GAN: softmax cross-entropy on two logits (real = 1, fake = 0) ----

/**
 * tf.losses.softmaxCrossEntropy over rows [from, to) of two-logit rows with targets [t0, t1], as its
 * mean over the range, added into `grad` (d/dlogits); returns the range's loss.
 */
function crossEntropy(logits: Float32Array, from: number, to: number, t0: number, t1: number, grad: Float32Array): number {
  const count = to - from;
  let loss = 0;
  for (let i = from; i < to; i++) {
    const a = logits[2 * i]!;
    const b = logits[2 * i + 1]!;
    const mx = Math.max(a, b);
    const lse = mx + Math.log(Math.exp(a - mx) + Math.exp(b - mx));
    loss -= (t0 * (a - lse) + t1 * (b - lse)) / count;
    const p1 = Math.exp(b - lse);
    grad[2 * i] = (1 - p1 - t0) / count;
    grad[2 * i + 1] = (p1 - t1) / count;
  }
  return loss;
}

/** The share of rows [from, to) whose argmax (first on ties, as tf.argMax) is `label`. */
function accuracy(logits: Float32Array, from: number, to: number, label: number): number {
  let hits = 0;
  for (let i = from; i < to; i++) hits += (logits[2 * i + 1]! > logits[2 * i]! ? 1 : 0) === label ? 1 : 0;
  return hits / (to - from);
}

/**
 * The discriminator's loss on logits of [real; fake] ([2n, 2]): CE(real, 1) with label smoothing
 * (targets s/2, 1 - s/2) + CE(fake, 0); its accuracy per batch (the reference divided each batch's
 * count by the data set's size).
 */
export function ganCriticLoss(logits: Float32Array, o: TrainingOptions): Loss & { dAcc: number } {
  const n = logits.length / 4;
  const grad = new Float32Array(logits.length);
  const s = o.labelSmoothing;
  const loss = crossEntropy(logits, 0, n, s / 2, 1 - s / 2, grad) + crossEntropy(logits, n, 2 * n, 1, 0, grad);
  return { loss, grad, dAcc: (accuracy(logits, 0, n, 1) + accuracy(logits, n, 2 * n, 0)) / 2 };
}

/** The generator's loss on the discriminator's logits of its fakes ([n, 2]): CE(fake, 1); gAcc: fakes judged real. */
export function ganGeneratorLoss(logits: Float32Array): Loss & { gAcc: number } {
  const n = logits.length / 2;
  const grad = new Float32Array(logits.length);
  return { loss: crossEntropy(logits, 0, n, 0, 1, grad), grad, gAcc: accuracy(logits, 0, n, 1) };
}

/** R1 (Mescheder et al. 2018) gamma/2 * mean(||dD/dx(real)||^2), D the real-vs-fake logit difference; null when off. */
export function r1Penalty(gamma: number): Penalty | null {
  if (!gamma) return null;
  return {
    at: 'real',
    weights: [-1, 1],
    value: (sq) => {
      const n = sq.length;
      let sum = 0;
      for (const v of sq) sum += v;
      return { loss: ((gamma / 2) * sum) / n, grad: new Float32Array(n).fill(gamma / 2 / n) };
    },
  };
}

// ---- WGAN-GP / CGAN: the critic's score ----

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
const softplus = (z: number): number => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

/**
 * The critic's loss on its scores of [real; fake] (and with --mismatch [real; fake; real with wrong
 * labels]) ([rows * n]): E[C(fake)] - E[C(real)] + mismatch * E[softplus(C(x, y') - C(x, y))].
 * Its penalty is `wganPenalty`'s. `wasserstein`: E[C(real)] - E[C(fake)].
 */
export function wganCriticLoss(out: Float32Array, n: number, o: TrainingOptions): Loss & { wasserstein: number } {
  const grad = new Float32Array(out.length);
  let cReal = 0;
  let cFake = 0;
  for (let i = 0; i < n; i++) {
    cReal += out[i]!;
    cFake += out[n + i]!;
    grad[i] = -1 / n;
    grad[n + i] = 1 / n;
  }
  cReal /= n;
  cFake /= n;
  let mismatch = 0;
  const m = o.mismatch;
  if (out.length === 3 * n) {
    for (let i = 0; i < n; i++) {
      const z = out[2 * n + i]! - out[i]!;
      mismatch += softplus(z);
      const s = (m * sigmoid(z)) / n;
      grad[2 * n + i] = s;
      grad[i]! -= s;
    }
    mismatch = (m * mismatch) / n;
  }
  return { loss: cFake - cReal + mismatch, grad, wasserstein: cReal - cFake };
}

/** The generator's loss on the critic's scores of its fakes: -E[C(fake)]. */
export function wganGeneratorLoss(out: Float32Array): Loss {
  const n = out.length;
  let loss = 0;
  for (const v of out) loss -= v / n;
  return { loss, grad: new Float32Array(n).fill(-1 / n) };
}

/**
 * WGAN-GP's penalty lambda * mean((||dC/dx(x_hat)||_2 - 1)^2), x_hat = eps*real + (1-eps)*fake; the
 * gradient of the scores' sum (the reference's grad_outputs=ones). 1e-12 keeps sqrt's gradient
 * finite at a zero norm.
 */
export function wganPenalty(lambda: number): Penalty {
  return {
    at: 'interpolates',
    weights: [1],
    value: (sq) => {
      const n = sq.length;
      const grad = new Float32Array(n);
      let loss = 0;
      for (let i = 0; i < n; i++) {
        const norm = Math.sqrt(sq[i]! + 1e-12);
        loss += (norm - 1) ** 2;
        grad[i] = (lambda * (norm - 1)) / norm / n; // d/dsq of (norm - 1)^2 is (norm - 1) / norm
      }
      return { loss: (lambda * loss) / n, grad };
    },
  };
}
