// The projection critic's output (Miyato & Koyama 2018, cGANs with projection discriminator):
// out = <w, h> + b + <E[y], h> on the critic's features h. The label enters as an inner product
// with what the critic sees, so a critic cannot score an image well without scoring it for its
// class; and on conv features it costs one table, where label channels would widen every
// convolution. Critic-only: no ONNX or tfjs form (export loads only the generator).
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../common/rng.js';
import { features, layerKind, pytorchUniform, values, vname, type ForwardContext, type Layer } from './kind.js';
import { lookUp } from './label-embedding.js';

export interface LabelProjectionConfig {
  type: 'LabelProjection';
  inputDim: number;
  numClasses: number;
}

export class LabelProjection implements Layer {
  readonly kernel: tf.Variable; // [inputDim, 1]
  readonly bias: tf.Variable;
  readonly table: tf.Variable; // [numClasses, inputDim]
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  constructor(
    readonly name: string,
    readonly config: LabelProjectionConfig,
    rng: Rng,
  ) {
    const { inputDim, numClasses } = config;
    const bound = 1 / Math.sqrt(inputDim);
    this.kernel = tf.variable(tf.tensor2d(pytorchUniform(rng, inputDim, bound), [inputDim, 1]), true, vname(`${name}/kernel`));
    this.bias = tf.variable(tf.tensor1d(pytorchUniform(rng, 1, bound)), true, vname(`${name}/bias`));
    // Small at the start: the critic begins as an unconditional one and learns the classes.
    this.table = tf.variable(
      tf.tensor2d(pytorchUniform(rng, numClasses * inputDim, bound), [numClasses, inputDim]),
      true,
      vname(`${name}/embeddings`),
    );
    this.trainable = [this.kernel, this.bias, this.table];
  }
  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const h = x as tf.Tensor2D;
    const projected = tf.sum(tf.mul(lookUp(this.table, ctx.labels, this.config.numClasses, this.name), h), 1, true);
    return tf.add(tf.add(tf.matMul(h, this.kernel as tf.Tensor2D), this.bias), projected);
  }
}

export const labelProjection = layerKind<LabelProjectionConfig, LabelProjection>({
  type: 'LabelProjection',
  schema: (z) => z.object({ type: z.literal('LabelProjection'), inputDim: z.int().min(1), numClasses: z.int().min(1) }),
  create: (name, c, rng) => new LabelProjection(name, c, rng),
  outputShape: (c, input) => {
    if (features('LabelProjection', input) !== c.inputDim) throw new Error(`LabelProjection takes ${c.inputDim} features, not ${input[0]}`);
    return [1];
  },
  handForward: (l, x, { n, labels }) => {
    if (!labels) throw new Error(`${l.name}: a conditional layer needs labels`);
    const d = l.config.inputDim;
    const [w, b, table] = [values(l.kernel), values(l.bias)[0]!, values(l.table)];
    return Float32Array.from({ length: n }, (_, i) => {
      let s = b;
      for (let j = 0, o = i * d, e = labels[i]! * d; j < d; j++) s += x[o + j]! * (w[j]! + table[e + j]!);
      return s;
    });
  },
  // out_i = <x_i, w + E[y_i]> + b: dx_i = dy_i (w + E[y_i]); dw += dy_i x_i, dE[y_i] += dy_i x_i.
  handBackward: (l, x, _y, dy, { n, labels }, grads) => project(l, x, dy, n, labels!, grads, true),
  // Linear in x: the same weights' gradient with G for x and u for dy; J G = <G_i, w + E[y_i]>.
  handPenalty: (l, _x, u, G, { n, labels }, grads) => project(l, G, u, n, labels!, grads, false),
  conditional: true,
});

/**
 * dw += s_i v_i, dE[y_i] += s_i v_i (db += s_i when `bias`); returns s_i (w + E[y_i]) when `bias` (the input's gradient),
 * else <v_i, w + E[y_i]>.
 */
function project(
  l: LabelProjection,
  v: Float32Array,
  s: Float32Array,
  n: number,
  labels: Int32Array,
  [dw, db, dE]: Float32Array[],
  bias: boolean,
): Float32Array {
  const d = l.config.inputDim;
  const [w, table] = [values(l.kernel), values(l.table)];
  const out = new Float32Array(bias ? n * d : n);
  for (let i = 0; i < n; i++) {
    const [o, e, si] = [i * d, labels[i]! * d, s[i]!];
    if (bias) db![0]! += si;
    let dot = 0;
    for (let j = 0; j < d; j++) {
      const wj = w[j]! + table[e + j]!;
      dw![j]! += si * v[o + j]!;
      dE![e + j]! += si * v[o + j]!;
      if (bias) out[o + j] = si * wj;
      else dot += v[o + j]! * wj;
    }
    if (!bias) out[i] = dot;
  }
  return out;
}
