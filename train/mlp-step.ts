// algorithms.ts's generator step (GAN, WGAN-GP, CGAN) with its gradients computed by hand, with
// mlp-net.ts, updated by the trainer's adam.ts: the same definitions, the same random draws in the
// same order, so the results are those of the tfjs engine to float rounding
// (tests/mlp-step.test.ts compares them step by step).
import * as tf from '@tensorflow/tfjs-core';
import type { Gemm } from '../backend/ort-matmul.js';
import { Arena, MlpNet, readInto, notByHand, type Forward, type Grads } from './mlp-net.js';
import type { StepHost, StepMetrics } from './step.js';
import { augment, augmentLinear, augmentRows, augmentTranspose, criticAugment, type AugmentDraws } from './diff-augment.js';
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
  type Loss,
  type Penalty,
} from './algorithms.js';

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

  /** The real batch, read out of its tensor (kept: one array per step would be a megabyte). */
  private real = new Float32Array(0);

  constructor(
    private readonly t: StepHost,
    gemm: Gemm,
  ) {
    this.G = new MlpNet(t.generator, gemm, this.arena);
    this.D = new MlpNet(t.critic, gemm, this.arena);
  }

  step(realT: tf.Tensor2D, labelsT: tf.Tensor1D): StepMetrics {
    if (this.real.length !== realT.size) this.real = new Float32Array(realT.size);
    const real = readInto(realT, this.real);
    const labels = Int32Array.from(labelsT.dataSync());
    this.G.load();
    return this.t.arch.gpLambda > 0 ? this.wgan(real, labels) : this.gan(real);
  }

  private gan(real: Float32Array): StepMetrics {
    const { rng, options, arch } = this.t;
    const n = real.length / arch.critic.inputDim;
    this.arena.reset();
    const fake = this.G.forward(drawNoise(rng, n, arch.noiseDim), n, { rng, updateStats: true });
    const aug = this.draws(2 * n);
    this.D.load();
    const dGrads = this.D.grads();
    const d = this.D.forward(this.augmented(aug, [real, fake.out]), 2 * n, { rng, updateStats: false });
    const ce = ganCriticLoss(d.out, options);
    const r1 = r1Penalty(options.r1);
    const penalty = r1 ? this.penalty(r1, real, null, null, undefined, dGrads, aug && augmentRows(aug, 0, n)) : 0;
    this.D.backward(d, ce.grad, dGrads, false);
    this.t.dAdam.apply(this.D.weights, dGrads.all());

    const gAug = this.draws(n);
    this.D.load();
    const gd = this.D.forward(this.augmented(gAug, [fake.out]), n, { rng, updateStats: false });
    const gce = ganGeneratorLoss(gd.out);
    this.backToGenerator(fake, gd, gce.grad, gAug);
    return { dLoss: ce.loss + penalty, gLoss: gce.loss, dAcc: ce.dAcc, gAcc: gce.gAcc };
  }

  private wgan(real: Float32Array, labels: Int32Array): StepMetrics {
    const { rng, options, arch } = this.t;
    const n = labels.length;
    let last = { dLoss: 0, wasserstein: 0, gp: 0 };
    const steps = criticStepsAt(options, this.t.gAdam.iterations);
    const penalty = wganPenalty(arch.gpLambda);
    for (let k = 0; k < steps; k++) {
      this.arena.reset();
      const draws = wganCriticDraws(rng, arch, options, labels);
      const fake = this.G.forward(draws.noise, n, { rng, labels, updateStats: true }).out;
      const wrong = draws.wrong;
      const inputs = wrong ? [real, fake, real] : [real, fake];
      const aug = this.draws(inputs.length * n);
      this.D.load();
      const grads = this.D.grads();
      const d = this.D.forward(this.augmented(aug, inputs), inputs.length * n, {
        rng,
        labels: concatLabels(wrong ? [labels, labels, wrong] : [labels, labels]),
        updateStats: false,
      });
      const critic = wganCriticLoss(d.out, n, options);
      const gp = this.penalty(penalty, real, fake, draws.eps, labels, grads, aug && augmentRows(aug, 0, n));
      this.D.backward(d, critic.grad, grads, false);
      this.t.dAdam.apply(this.D.weights, grads.all());
      last = { dLoss: critic.loss + gp, wasserstein: critic.wasserstein, gp };
    }
    this.arena.reset();
    const g = wganGeneratorDraws(rng, arch, this.t.conditional, labels);
    const fake = this.G.forward(g.noise, n, { rng, labels: g.labels, updateStats: true });
    const gAug = this.draws(n);
    this.D.load();
    const d = this.D.forward(this.augmented(gAug, [fake.out]), n, { rng, labels: g.labels, updateStats: false });
    const gLoss: Loss = wganGeneratorLoss(d.out);
    this.backToGenerator(fake, d, gLoss.grad, gAug);
    return { ...last, gLoss: gLoss.loss };
  }

  /** options.augment's draws for n critic rows, at the tfjs engine's points of the step (null when off: nothing drawn). */
  private draws(n: number): AugmentDraws | null {
    return criticAugment(this.t.options, this.t.rng, n, this.t.arch.imageShape);
  }

  /** The critic's input: `blocks` of rows as they are, or concatenated and augmented, one draw per row. */
  private augmented(aug: AugmentDraws | null, blocks: Float32Array[]): Float32Array[] {
    if (!aug) return blocks;
    const x = blocks.length === 1 ? blocks[0]! : this.arena.take(blocks.reduce((s, b) => s + b.length, 0));
    if (blocks.length > 1) blocks.reduce((o, b) => (x.set(b, o), o + b.length), 0);
    return [augment(aug, x, this.arena.take(x.length))];
  }

  /**
   * Add `penalty`'s gradient into `grads` and return its value: at the real images, or at
   * x_hat = eps*real + (1-eps)*fake. dP/dgx = 2 gx dP/dsq per row. With `aug` (the real rows'
   * draws) the critic sees T(x) = A x + b: gx = A^T g, and the critic's double backward takes
   * dP/dg = A dP/dgx.
   */
  private penalty(
    p: Penalty,
    real: Float32Array,
    fake: Float32Array | null,
    eps: Float32Array | null,
    labels: Int32Array | undefined,
    grads: Grads,
    aug: AugmentDraws | null,
  ): number {
    const { rng, arch } = this.t;
    const w = arch.critic.inputDim;
    const n = real.length / w;
    let x = real;
    if (p.at === 'interpolates') {
      x = this.arena.take(n * w);
      for (let i = 0; i < n; i++) {
        const e = eps![i]!;
        for (let j = i * w; j < (i + 1) * w; j++) x[j] = e * real[j]! + (1 - e) * fake![j]!;
      }
    }
    const f = this.D.forward(this.augmented(aug, [x]), n, { rng, labels, updateStats: false }, false);
    const g = this.D.inputGradient(f, p.weights);
    const gx = aug ? augmentTranspose(aug, g.gx, this.arena.take(g.gx.length)) : g.gx;
    const sq = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = i * w; j < (i + 1) * w; j++) s += gx[j]! * gx[j]!;
      sq[i] = s;
    }
    const value = p.value(sq);
    const dGx = this.arena.take(gx.length);
    for (let i = 0; i < n; i++) {
      const s = 2 * value.grad[i]!;
      for (let j = i * w; j < (i + 1) * w; j++) dGx[j] = s * gx[j]!;
    }
    this.D.penaltyBackward(f, g, aug ? augmentLinear(aug, dGx, this.arena.take(dGx.length)) : dGx, grads);
    return value.loss;
  }

  /** The generator's update from the critic's output gradient on its images (augmented with `aug`'s draws). */
  private backToGenerator(g: Forward, d: Forward, dOut: Float32Array, aug: AugmentDraws | null): void {
    const dSeen = this.D.backward(d, dOut, null, true)!;
    const dFake = aug ? augmentTranspose(aug, dSeen, this.arena.take(dSeen.length)) : dSeen;
    const grads = this.G.grads();
    this.G.backward(g, dFake, grads, false);
    this.t.gAdam.apply(this.G.weights, grads.all());
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
