// tfjs's Adam update done in JavaScript for the hand-written step: the same formula, the same
// float32 running powers of the betas, one upload per variable instead of ~12 tfjs kernels (a fifth
// of a gan step went to them). The moments live here between updates; `sync()` writes them into the
// tfjs optimiser's own slots, where checkpoints read them, and `reset()` re-reads them from there
// (after a checkpoint is restored into it).
import * as tf from '@tensorflow/tfjs-core';
import { readInto } from './mlp-net.js';

/** The AdamOptimizer fields tfjs keeps protected; we read and write the same state. */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

interface State {
  m: Float32Array[];
  v: Float32Array[];
  /** beta^t as tfjs keeps it: a float32 product updated after each step. */
  acc1: number;
  acc2: number;
}

export class HandAdam {
  private state: State | null = null;
  private readonly o: AdamInternals;
  /** The new values, before upload (kept: a new array per update would be megabytes per step). */
  private readonly next: Float32Array[];

  constructor(optimizer: tf.AdamOptimizer, private readonly vars: tf.Variable[]) {
    this.o = optimizer as unknown as AdamInternals;
    this.next = vars.map((v) => new Float32Array(v.size));
  }

  /** One update: `weights` are the variables' current values (as loaded), `grads` their gradients. */
  apply(weights: Float32Array[], grads: Float32Array[]): void {
    const s = (this.state ??= this.read());
    // tfjs holds the betas as float32 scalars: the same values here keep beta^t equal to its own.
    const { learningRate: lr, epsilon: eps } = this.o;
    const [b1, b2] = [Math.fround(this.o.beta1), Math.fround(this.o.beta2)];
    const c1 = Math.fround(1 - s.acc1);
    const c2 = Math.fround(1 - s.acc2);
    tf.tidy(() => {
      this.vars.forEach((v, i) => {
        const out = this.next[i]!;
        adamUpdate(weights[i]!, grads[i]!, s.m[i]!, s.v[i]!, out, lr, b1, b2, eps, c1, c2);
        v.assign(tf.tensor(out, v.shape));
      });
    });
    s.acc1 = Math.fround(s.acc1 * b1);
    s.acc2 = Math.fround(s.acc2 * b2);
    this.o.incrementIterations();
  }

  /** Write the moments and the betas' powers into the tfjs optimiser. */
  sync(): void {
    const s = this.state;
    if (!s) return;
    tf.tidy(() => {
      this.vars.forEach((v, i) => {
        this.o.accumulatedFirstMoment[i]!.variable.assign(tf.tensor(s.m[i]!, v.shape));
        this.o.accumulatedSecondMoment[i]!.variable.assign(tf.tensor(s.v[i]!, v.shape));
      });
      this.o.accBeta1.assign(tf.scalar(s.acc1));
      this.o.accBeta2.assign(tf.scalar(s.acc2));
    });
  }

  /** Forget the moments held here: the next update reads them from the tfjs optimiser. */
  reset(): void {
    this.state = null;
  }

  /** The moments from the tfjs optimiser's slots, made first (zeros) where missing, as applyGradients makes them. */
  private read(): State {
    const slot = (slots: AdamInternals['accumulatedFirstMoment'], i: number, suffix: string): Float32Array => {
      const v = this.vars[i]!;
      slots[i] ??= { originalName: `${v.name}/${suffix}`, variable: tf.zeros(v.shape).variable(false) };
      return readInto(slots[i]!.variable, new Float32Array(v.size));
    };
    return {
      m: this.vars.map((_, i) => slot(this.o.accumulatedFirstMoment, i, 'm')),
      v: this.vars.map((_, i) => slot(this.o.accumulatedSecondMoment, i, 'v')),
      acc1: this.o.accBeta1.dataSync()[0]!,
      acc2: this.o.accBeta2.dataSync()[0]!,
    };
  }
}

/** m, v updated in place; out = w - lr * (m / c1) / (sqrt(v / c2) + eps), as tfjs's applyGradients. */
function adamUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, out: Float32Array, lr: number, b1: number, b2: number, eps: number, c1: number, c2: number): void {
  for (let j = 0, len = w.length; j < len; j++) {
    const gj = g[j]!;
    const mj = Math.fround(m[j]! * b1 + gj * (1 - b1));
    const vj = Math.fround(v[j]! * b2 + gj * gj * (1 - b2));
    m[j] = mj;
    v[j] = vj;
    out[j] = w[j]! - (lr * (mj / c1)) / (Math.sqrt(vj / c2) + eps);
  }
}
