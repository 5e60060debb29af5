// Adam, and the one owner of its state (moments, the betas' running powers, the step count) for both
// step engines: the hand-written one passes its gradients as Float32Arrays, the tfjs one reads its
// autodiff's into them. tfjs's formula and float32 running powers (tests/mlp-step.test.ts compares
// the engines), one upload per variable instead of ~12 tfjs kernels (a fifth of a gan step went to
// them). Checkpoints read and write the state through `slots()` / `restore()`, in the order tfjs's
// AdamOptimizer.getWeights() stored it: [iterations, m of each variable, v of each variable].
import * as tf from '@tensorflow/tfjs-core';
import type { AdamBetas } from './models.js';
import { readInto } from './mlp-net.js';

/** What a checkpoint stores of an Adam (empty moments before the first update). */
export interface AdamSlots {
  iterations: number;
  m: Float32Array[];
  v: Float32Array[];
}

/** torch's epsilon (tfjs's default is 1e-7). */
const EPSILON = 1e-8;

export class Adam {
  /** The rate of the next update (a schedule scales it). */
  learningRate: number;
  /** Updates done. */
  iterations = 0;
  private m: Float32Array[];
  private v: Float32Array[];
  /** beta^(t+1) as tfjs keeps it: a float32 product updated after each step. */
  private acc1: number;
  private acc2: number;
  private readonly b1: number;
  private readonly b2: number;
  /** The new values, before upload (kept: a new array per update would be megabytes per step). */
  private readonly next: Float32Array[];

  constructor(
    private readonly vars: tf.Variable[],
    learningRate: number,
    betas: AdamBetas,
  ) {
    this.learningRate = learningRate;
    // tfjs holds the betas as float32 scalars: the same values here keep beta^t equal to its own.
    [this.b1, this.b2] = [Math.fround(betas.beta1), Math.fround(betas.beta2)];
    this.m = vars.map((v) => new Float32Array(v.size));
    this.v = vars.map((v) => new Float32Array(v.size));
    [this.acc1, this.acc2] = [this.b1, this.b2];
    this.next = vars.map((v) => new Float32Array(v.size));
  }

  /** One update of the variables: `weights` their current values, `grads` their gradients (same order). */
  apply(weights: Float32Array[], grads: Float32Array[]): void {
    const lr = this.learningRate;
    const c1 = Math.fround(1 - this.acc1);
    const c2 = Math.fround(1 - this.acc2);
    tf.tidy(() => {
      this.vars.forEach((v, i) => {
        const out = this.next[i]!;
        adamUpdate(weights[i]!, grads[i]!, this.m[i]!, this.v[i]!, out, lr, this.b1, this.b2, EPSILON, c1, c2);
        v.assign(tf.tensor(out, v.shape));
      });
    });
    this.acc1 = Math.fround(this.acc1 * this.b1);
    this.acc2 = Math.fround(this.acc2 * this.b2);
    this.iterations++;
  }

  /** One update from tfjs gradients keyed by variable name (a variable without one has gradient 0). */
  applyTensors(grads: tf.NamedTensorMap): void {
    const values = this.vars.map((v) => readInto(v, new Float32Array(v.size)));
    this.apply(
      values,
      this.vars.map((v) => (grads[v.name] ? readInto(grads[v.name]!, new Float32Array(v.size)) : new Float32Array(v.size))),
    );
  }

  /** The state as a checkpoint stores it. */
  slots(): AdamSlots {
    return this.iterations ? { iterations: this.iterations, m: this.m, v: this.v } : { iterations: 0, m: [], v: [] };
  }

  /** The state from a checkpoint; the betas' powers are recomputed as the updates made them. */
  restore(s: AdamSlots): void {
    const sizes = this.vars.map((v) => v.size);
    if (
      s.m.length !== sizes.length ||
      s.v.length !== sizes.length ||
      [...s.m, ...s.v].some((x, i) => x.length !== sizes[i % sizes.length])
    ) {
      throw new Error(`Adam state of ${s.m.length}+${s.v.length} moments does not fit ${sizes.length} variables`);
    }
    this.m = s.m.map((x) => Float32Array.from(x));
    this.v = s.v.map((x) => Float32Array.from(x));
    this.iterations = s.iterations;
    [this.acc1, this.acc2] = [this.b1, this.b2];
    for (let t = 0; t < s.iterations; t++) [this.acc1, this.acc2] = [Math.fround(this.acc1 * this.b1), Math.fround(this.acc2 * this.b2)];
  }
}

/** m, v updated in place; out = w - lr * (m / c1) / (sqrt(v / c2) + eps), as tfjs's applyGradients. */
function adamUpdate(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lr: number,
  b1: number,
  b2: number,
  eps: number,
  c1: number,
  c2: number,
): void {
  for (let j = 0, len = w.length; j < len; j++) {
    const gj = g[j]!;
    const mj = Math.fround(m[j]! * b1 + gj * (1 - b1));
    const vj = Math.fround(v[j]! * b2 + gj * gj * (1 - b2));
    m[j] = mj;
    v[j] = vj;
    out[j] = w[j]! - (lr * (mj / c1)) / (Math.sqrt(vj / c2) + eps);
  }
}
