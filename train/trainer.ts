// One generator step of the reference algorithms: GAN (cross-entropy) and WGAN-GP / CGAN.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../common/rng.js';
import { Sequential, weightKey, type ForwardContext } from './layers.js';
import type { Architecture } from './models.js';
import type { TrainingOptions } from './options.js';
import { gradientPenalty, r1Penalty } from './gradient-penalty.js';
import { emaDecayAt, useAveragedWeights } from './ema.js';
import { ortGemm } from '../backend/ort-matmul.js';
import { HandStep, notStepByHand } from './mlp-step.js';
import { criticStepsAt, drawEps, drawLabels, drawNoise, drawWrongLabels, type StepEngine, type StepHost, type StepMetrics } from './step.js';

export type { StepEngine, StepMetrics } from './step.js';

const adam = (lr: number, b: Architecture['generatorAdam']): tf.AdamOptimizer => tf.train.adam(lr, b.beta1, b.beta2, 1e-8); // torch's eps

/** tfjs declares Adam's rate protected but has no setter; the field is what applyGradients reads. */
const setRate = (o: tf.AdamOptimizer, lr: number): void => {
  (o as unknown as { learningRate: number }).learningRate = lr;
};

export class GanTrainer implements StepHost {
  readonly generator: Sequential;
  readonly critic: Sequential;
  readonly gOpt: tf.AdamOptimizer;
  readonly dOpt: tf.AdamOptimizer;
  /** Exponential moving average of the generator's weights (--ema; its decay is options.ema). */
  ema: tf.Variable[] | null = null;
  readonly engine: StepEngine;
  /** Why the step runs on tfjs's autodiff though the hand-written one was not ruled out (null: it does not, or was asked to). */
  readonly engineNote: string | null = null;
  private readonly hand: HandStep | null = null;

  constructor(readonly arch: Architecture, readonly options: TrainingOptions, readonly rng: Rng, engine?: StepEngine) {
    this.generator = new Sequential('generator', arch.generator, rng);
    this.critic = new Sequential('critic', arch.critic, rng);
    this.gOpt = adam(options.gLr, arch.generatorAdam);
    this.dOpt = adam(options.dLr, arch.criticAdam);
    const gemm = engine === 'tfjs' || (!engine && tf.getBackend() === 'tensorflow') ? null : ortGemm();
    const notHand = notStepByHand(this);
    if (gemm && 'gemm' in gemm && !notHand) this.hand = new HandStep(this, gemm.gemm);
    else if (engine === 'hand') throw new Error(`the hand-written step is not available here (${gemm && 'why' in gemm ? gemm.why : notHand})`);
    else if (gemm && notHand) this.engineNote = notHand;
    this.engine = this.hand ? 'hand' : 'tfjs';
  }

  /** Bring the optimisers' own state up to date (before reading it: checkpoints). */
  syncOptimizers(): void {
    this.hand?.syncOptimizers();
  }

  /** The optimisers' state was set from outside (a restored checkpoint). */
  optimizersChanged(): void {
    this.hand?.optimizersChanged();
  }

  /** Scale both learning rates (a schedule); Adam reads its rate at every update. */
  setLearningRateScale(scale: number): void {
    setRate(this.gOpt, this.options.gLr * scale);
    setRate(this.dOpt, this.options.dLr * scale);
  }

  get conditional(): boolean {
    return this.generator.conditional;
  }

  /** Start averaging from the current weights (when options.ema asks for an average and none runs yet). */
  startEma(): void {
    if (this.options.ema !== null && !this.ema) this.ema = this.generator.weights.map((w) => tf.variable(w.clone(), false));
  }

  private noise(n: number): tf.Tensor2D {
    return tf.tensor2d(drawNoise(this.rng, n, this.arch.noiseDim), [n, this.arch.noiseDim]);
  }

  private randomLabels(n: number): tf.Tensor1D {
    return tf.tensor1d(drawLabels(this.rng, n, this.arch.numClasses), 'int32');
  }

  /** A different class for every label: y + U{1..K-1} mod K. */
  private wrongLabels(labels: tf.Tensor1D): tf.Tensor1D {
    return tf.tensor1d(drawWrongLabels(this.rng, labels.dataSync(), this.arch.numClasses), 'int32');
  }

  /** One generator update preceded by options.criticSteps critic updates on the same real batch. */
  step(real: tf.Tensor2D, labels: tf.Tensor1D): StepMetrics {
    const m = this.hand ? this.hand.step(real, labels) : this.arch.gpLambda > 0 ? this.wganStep(real, labels) : this.ganStep(real);
    this.updateEma();
    return m;
  }

  private ganStep(real: tf.Tensor2D): StepMetrics {
    const n = real.shape[0];
    const G = this.generator;
    const D = this.critic;
    return tf.tidy(() => {
      const noise = this.noise(n);
      // The reference computes fake once and reuses it for both updates; here the G update recomputes
      // it (same noise, same batch statistics) so BatchNorm's running stats are updated once, there.
      const fake = G.apply(noise, { training: true, updateStats: false });
      const realOneHot = tf.oneHot(tf.fill([n], 1, 'int32') as tf.Tensor1D, 2);
      const fakeOneHot = tf.oneHot(tf.fill([n], 0, 'int32') as tf.Tensor1D, 2);
      const dCtx: ForwardContext = { training: true, rng: this.rng };
      let acc = [0, 0];
      const d = this.dOpt.minimize(() => {
        const logits = D.apply(tf.concat2d([real, fake], 0), dCtx);
        const [lr, lf] = tf.split(logits, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
        acc = [accuracy(lr, 1), accuracy(lf, 0)];
        const smoothing = this.options.labelSmoothing;
        const ce = tf.add(tf.losses.softmaxCrossEntropy(realOneHot, lr, undefined, smoothing), tf.losses.softmaxCrossEntropy(fakeOneHot, lf)) as tf.Scalar;
        const gamma = this.options.r1;
        if (!gamma) return ce;
        // The real-vs-fake logit difference: the softmax discriminator's logit of "real".
        const logitDiff = (x: tf.Tensor2D): tf.Tensor1D => {
          const [l0, l1] = tf.split(D.apply(x, dCtx), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
          return tf.reshape(tf.sub(l1, l0), [-1]) as tf.Tensor1D;
        };
        return tf.add(ce, r1Penalty(logitDiff, real, gamma)) as tf.Scalar;
      }, true, D.trainable)!;
      let gAcc = 0;
      const g = this.gOpt.minimize(() => {
        const logits = D.apply(G.apply(noise, { training: true }), dCtx);
        gAcc = accuracy(logits, 1);
        return tf.losses.softmaxCrossEntropy(realOneHot, logits) as tf.Scalar;
      }, true, G.trainable)!;
      // Accuracy per batch (the reference divided each batch's count by the data set's size).
      return { dLoss: d.dataSync()[0]!, gLoss: g.dataSync()[0]!, dAcc: (acc[0]! + acc[1]!) / 2, gAcc };
    });
  }

  private wganStep(real: tf.Tensor2D, labels: tf.Tensor1D): StepMetrics {
    const n = real.shape[0];
    const G = this.generator;
    const D = this.critic;
    // The reference's WGAN-GP takes MiniBatchSize from an undefined `real_labels`; we use the real batch.
    const dCtx: ForwardContext = { training: true, rng: this.rng, labels };
    let last = { dLoss: 0, wasserstein: 0, gp: 0 };
    const steps = criticStepsAt(this.options, this.gOpt.iterations);
    for (let k = 0; k < steps; k++) {
      last = tf.tidy(() => {
        const fake = G.apply(this.noise(n), { training: true, labels }); // detached: no tape here
        const eps = tf.tensor2d(drawEps(this.rng, n), [n, 1]);
        let parts: tf.Tensor[] = [];
        const mismatch = this.options.mismatch;
        const wrong = mismatch ? this.wrongLabels(labels) : null;
        const loss = this.dOpt.minimize(() => {
          // Real and fake (and real with wrong labels) in one pass: same result as separate passes
          // (no batch-dependent layers), one matmul each.
          const inputs = wrong ? [real, fake, real] : [real, fake];
          const out = D.apply(tf.concat2d(inputs, 0), { ...dCtx, labels: tf.concat1d(wrong ? [labels, labels, wrong] : [labels, labels]) });
          const [outReal, outFake, outWrong] = tf.split(out, inputs.length, 0);
          const [cReal, cFake] = [tf.mean(outReal!), tf.mean(outFake!)];
          const gp = gradientPenalty((x) => D.apply(x, dCtx), real, fake, eps, this.arch.gpLambda);
          parts = [tf.keep(tf.sub(cReal, cFake)), tf.keep(gp)];
          const wgan = tf.add(tf.sub(cFake, cReal), gp);
          if (!outWrong) return wgan as tf.Scalar;
          return tf.add(wgan, tf.mul(mismatch, tf.mean(tf.softplus(tf.sub(outWrong, outReal!))))) as tf.Scalar;
        }, true, D.trainable)!;
        const [w, gp] = parts.map((t) => t.dataSync()[0]!);
        tf.dispose(parts); // kept past variableGrads' own tidy
        return { dLoss: loss.dataSync()[0]!, wasserstein: w!, gp: gp! };
      });
    }
    const gLoss = tf.tidy(() => {
      const gLabels = this.conditional ? this.randomLabels(n) : labels;
      const noise = this.noise(n);
      const loss = this.gOpt.minimize(() => {
        const fake = G.apply(noise, { training: true, labels: gLabels });
        return tf.neg(tf.mean(D.apply(fake, { training: true, rng: this.rng, labels: gLabels }))) as tf.Scalar;
      }, true, G.trainable)!;
      return loss.dataSync()[0]!;
    });
    return { ...last, gLoss };
  }

  private updateEma(): void {
    const weights = this.ema;
    if (!weights || this.options.ema === null) return;
    const decay = emaDecayAt(this.options.ema, this.gOpt.iterations);
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
    this.gOpt.dispose();
    this.dOpt.dispose();
    this.ema?.forEach((w) => w.dispose());
  }

  keyedWeights(): Map<string, tf.Variable> {
    return new Map([...this.generator.weights, ...this.critic.weights].map((w) => [weightKey(w), w]));
  }
}

function accuracy(logits: tf.Tensor2D, label: number): number {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), label), 'float32')).dataSync()[0]!);
}
