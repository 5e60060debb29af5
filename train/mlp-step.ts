// trainer.ts's generator step (GAN, WGAN-GP, CGAN) computed by hand with mlp-net.ts and
// hand-adam.ts: the same math, the same random draws in the same order and tfjs's Adam formula, so
// the results are those of the tfjs path to float rounding (tests/mlp-step.test.ts compares them
// step by step).
import * as tf from '@tensorflow/tfjs-core';
import type { Gemm } from '../backend/ort-matmul.js';
import { Arena, MlpNet, readInto, notByHand, type Forward } from './mlp-net.js';
import { HandAdam } from './hand-adam.js';
import { criticStepsAt, drawEps, drawLabels, drawNoise, drawWrongLabels, type StepHost, type StepMetrics } from './step.js';

/** Why `trainer`'s networks cannot be stepped by hand (null: they can). */
export function notStepByHand(trainer: StepHost): string | null {
  const g = notByHand(trainer.generator, false);
  const d = notByHand(trainer.critic, true);
  return g ? `generator: ${g}` : d ? `critic: ${d}` : null;
}

export class HandStep {
  private readonly G: MlpNet;
  private readonly D: MlpNet;
  /** Scratch for one update (reset before each critic and generator update). */
  private readonly arena = new Arena();

  private readonly gAdam: HandAdam;
  private readonly dAdam: HandAdam;
  /** The real batch, read out of its tensor (kept: one array per step would be a megabyte). */
  private real = new Float32Array(0);

  constructor(private readonly t: StepHost, gemm: Gemm) {
    this.G = new MlpNet(t.generator, gemm, this.arena);
    this.D = new MlpNet(t.critic, gemm, this.arena);
    this.gAdam = new HandAdam(t.gOpt, t.generator.trainable);
    this.dAdam = new HandAdam(t.dOpt, t.critic.trainable);
  }

  /** Put Adam's moments where tfjs's optimisers (and so checkpoints) read them. */
  syncOptimizers(): void {
    this.gAdam.sync();
    this.dAdam.sync();
  }

  /** The tfjs optimisers' state was set from outside (a restored checkpoint): read it from there. */
  optimizersChanged(): void {
    this.gAdam.reset();
    this.dAdam.reset();
  }

  step(realT: tf.Tensor2D, labelsT: tf.Tensor1D): StepMetrics {
    if (this.real.length !== realT.size) this.real = new Float32Array(realT.size);
    const real = readInto(realT, this.real);
    const labels = Int32Array.from(labelsT.dataSync());
    this.G.load();
    return this.t.arch.gpLambda > 0 ? this.wgan(real, labels) : this.gan(real);
  }

  private noise(n: number): Float32Array {
    return drawNoise(this.t.rng, n, this.t.arch.noiseDim);
  }

  private gan(real: Float32Array): StepMetrics {
    const { rng, options } = this.t;
    const n = real.length / this.t.arch.critic.inputDim;
    this.arena.reset();
    const fake = this.G.forward(this.noise(n), n, { rng, updateStats: true });
    this.D.load();
    const dGrads = this.D.grads();
    const d = this.D.forward([real, fake.out], 2 * n, { rng, updateStats: false });
    const logits = d.out;
    const s = options.labelSmoothing;
    const ce = softmaxCrossEntropy(logits, [0, n, s / 2, 1 - s / 2], [n, 2 * n, 1, 0]);
    let dLoss = ce.loss;
    if (options.r1) {
      const f = this.D.forward(real, n, { rng, updateStats: false }, false);
      const g = this.D.inputGradient(f, [-1, 1]);
      let sq = 0;
      for (const v of g.gx) sq += v * v;
      dLoss += (options.r1 / 2) * (sq / n);
      this.D.penaltyBackward(f, g, g.gx.map((v) => (options.r1 * v) / n), dGrads);
    }
    this.D.backward(d, ce.grad, dGrads, false);
    const dAcc = (accuracy(logits, 0, n, 1) + accuracy(logits, n, 2 * n, 0)) / 2;
    this.dAdam.apply(this.D.weights, dGrads.all());

    this.D.load();
    const gd = this.D.forward(fake.out, n, { rng, updateStats: false });
    const gce = softmaxCrossEntropy(gd.out, [0, n, 0, 1]);
    const gAcc = accuracy(gd.out, 0, n, 1);
    this.backToGenerator(fake, gd, gce.grad);
    return { dLoss, gLoss: gce.loss, dAcc, gAcc };
  }

  private wgan(real: Float32Array, labels: Int32Array): StepMetrics {
    const { rng, options, arch } = this.t;
    const n = labels.length;
    const cond = this.t.conditional;
    let last = { dLoss: 0, wasserstein: 0, gp: 0 };
    const steps = criticStepsAt(options, this.t.gOpt.iterations);
    for (let k = 0; k < steps; k++) {
      this.arena.reset();
      const fake = this.G.forward(this.noise(n), n, { rng, labels, updateStats: true }).out;
      const eps = drawEps(rng, n);
      const m = options.mismatch;
      const K = arch.numClasses;
      const wrong = m ? drawWrongLabels(rng, labels, K) : null;
      this.D.load();
      const grads = this.D.grads();
      const rows = wrong ? 3 : 2;
      const d = this.D.forward(wrong ? [real, fake, real] : [real, fake], rows * n, {
        rng,
        labels: concatLabels(wrong ? [labels, labels, wrong] : [labels, labels]),
        updateStats: false,
      });
      const out = d.out; // [rows * n, 1]
      let cReal = 0;
      let cFake = 0;
      for (let i = 0; i < n; i++) {
        cReal += out[i]!;
        cFake += out[n + i]!;
      }
      cReal /= n;
      cFake /= n;
      const dOut = this.arena.zeros(rows * n);
      for (let i = 0; i < n; i++) {
        dOut[i] = -1 / n;
        dOut[n + i] = 1 / n;
      }
      let mismatchLoss = 0;
      if (wrong) {
        for (let i = 0; i < n; i++) {
          const z = out[2 * n + i]! - out[i]!;
          mismatchLoss += softplus(z);
          const s = (m * sigmoid(z)) / n;
          dOut[2 * n + i] = s;
          dOut[i]! -= s;
        }
        mismatchLoss = (m * mismatchLoss) / n;
      }
      // Gradient penalty at x_hat = eps*real + (1-eps)*fake.
      const w = arch.critic.inputDim;
      const xHat = this.arena.take(n * w);
      for (let i = 0; i < n; i++) {
        const e = eps[i]!;
        for (let j = i * w; j < (i + 1) * w; j++) xHat[j] = e * real[j]! + (1 - e) * fake[j]!;
      }
      const f = this.D.forward(xHat, n, { rng, labels, updateStats: false }, false);
      const g = this.D.inputGradient(f, [1]);
      const dGx = this.arena.take(g.gx.length);
      let gp = 0;
      for (let i = 0; i < n; i++) {
        let sq = 0;
        for (let j = i * w; j < (i + 1) * w; j++) sq += g.gx[j]! * g.gx[j]!;
        const norm = Math.sqrt(sq + 1e-12); // as gradient-penalty.ts
        gp += (norm - 1) ** 2;
        const s = (arch.gpLambda * 2 * (norm - 1)) / n / norm;
        for (let j = i * w; j < (i + 1) * w; j++) dGx[j] = s * g.gx[j]!;
      }
      gp = (arch.gpLambda * gp) / n;
      this.D.penaltyBackward(f, g, dGx, grads);
      this.D.backward(d, dOut, grads, false);
      this.dAdam.apply(this.D.weights, grads.all());
      last = { dLoss: cFake - cReal + gp + mismatchLoss, wasserstein: cReal - cFake, gp };
    }
    this.arena.reset();
    const gLabels = cond ? drawLabels(rng, n, arch.numClasses) : labels;
    const fake = this.G.forward(this.noise(n), n, { rng, labels: gLabels, updateStats: true });
    this.D.load();
    const d = this.D.forward(fake.out, n, { rng, labels: gLabels, updateStats: false });
    let gLoss = 0;
    for (const v of d.out) gLoss -= v / n;
    this.backToGenerator(fake, d, this.arena.take(n).fill(-1 / n));
    return { ...last, gLoss };
  }

  /** The generator's update from the critic's output gradient on its images. */
  private backToGenerator(g: Forward, d: Forward, dOut: Float32Array): void {
    const dFake = this.D.backward(d, dOut, null, true)!;
    const grads = this.G.grads();
    this.G.backward(g, dFake, grads, false);
    this.gAdam.apply(this.G.weights, grads.all());
  }
}


function concatLabels(parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
const softplus = (z: number): number => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

/**
 * tf.losses.softmaxCrossEntropy over two-logit rows, as its mean over each row range: rows
 * [ranges[k], ranges[k+1]) with targets [t0, t1] given as [from, to, t0, t1, from, to, t0, t1, ...].
 * Each range's mean is one term of the loss (the GAN's real and fake halves are two). Returns the
 * loss and its gradient with respect to the logits.
 */
function softmaxCrossEntropy(logits: Float32Array, ...ranges: number[][]): { loss: number; grad: Float32Array } {
  const grad = new Float32Array(logits.length);
  let loss = 0;
  for (const [from, to, t0, t1] of ranges as [number, number, number, number][]) {
    const count = to - from;
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
  }
  return { loss, grad };
}

/** The share of rows [from, to) whose argmax (first on ties, as tf.argMax) is `label`. */
function accuracy(logits: Float32Array, from: number, to: number, label: number): number {
  let hits = 0;
  for (let i = from; i < to; i++) hits += (logits[2 * i + 1]! > logits[2 * i]! ? 1 : 0) === label ? 1 : 0;
  return hits / (to - from);
}
