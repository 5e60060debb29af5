// Embedding(numClasses, dim) of the labels concatenated after the input features, as in the
// reference CGAN (`torch.cat((x, embedding(c)), 1)`). A one-hot matmul instead of gather: gather's
// gradient kernel is missing on wasm. Initialised N(0, 1) like torch.nn.Embedding.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../common/rng.js';
import { features, layerKind, values, vname, type ForwardContext, type Layer } from './kind.js';

export interface LabelEmbeddingConfig {
  type: 'LabelEmbedding';
  numClasses: number;
  dim: number;
}

/** The labels' rows of `table` [numClasses, dim], as a one-hot product (differentiable on every backend). */
export function lookUp(table: tf.Variable, labels: tf.Tensor1D | undefined, numClasses: number, who: string): tf.Tensor2D {
  if (!labels) throw new Error(`${who}: a conditional layer needs labels`);
  const oneHot = tf.cast(tf.oneHot(labels, numClasses), 'float32') as tf.Tensor2D;
  return tf.matMul(oneHot, table as tf.Tensor2D);
}

export class LabelEmbedding implements Layer {
  readonly table: tf.Variable; // [numClasses, dim]
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  constructor(
    readonly name: string,
    readonly config: LabelEmbeddingConfig,
    rng: Rng,
  ) {
    const { numClasses, dim } = config;
    const init = new Float32Array(numClasses * dim);
    for (let i = 0; i < init.length; i++) init[i] = rng.normal();
    this.table = tf.variable(tf.tensor2d(init, [numClasses, dim]), true, vname(`${name}/embeddings`));
    this.trainable = [this.table];
  }
  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return tf.concat2d([x as tf.Tensor2D, lookUp(this.table, ctx.labels, this.config.numClasses, this.name)], 1);
  }
}

export const labelEmbedding = layerKind<LabelEmbeddingConfig, LabelEmbedding>({
  type: 'LabelEmbedding',
  schema: (z) => z.object({ type: z.literal('LabelEmbedding'), numClasses: z.int().min(1), dim: z.int().min(1) }),
  create: (name, c, rng) => new LabelEmbedding(name, c, rng),
  outputShape: (c, input) => [features('LabelEmbedding', input) + c.dim],
  onnx: (l, x, { g, label }) => {
    if (!label) throw new Error(`${l.name} (LabelEmbedding) needs a label input`);
    const table = g.weight(`${l.name}/embeddings`, values(l.table), [l.config.numClasses, l.config.dim]);
    return g.node('Concat', [x, g.node('Gather', [table, label], { axis: { i: 0 } })], { axis: { i: 1 } });
  },
  tfjs: (l, h, { tfjs, label, name, add }) => {
    if (!label) throw new Error(`${l.name} (LabelEmbedding) needs a label input`);
    const lookup = add(tfjs.layers.embedding({ inputDim: l.config.numClasses, outputDim: l.config.dim, name }), [l.table.clone()]).apply(
      label,
    ) as typeof h;
    const emb = tfjs.layers.flatten({ name: `${name}_flatten` }).apply(lookup) as typeof h;
    return tfjs.layers.concatenate({ name: `${name}_concat` }).apply([h, emb]) as typeof h;
  },
  handForward: (l, x, { n, labels }) => {
    if (!labels) throw new Error(`${l.name}: a conditional layer needs labels`);
    const { dim } = l.config;
    const d = x.length / n;
    const table = values(l.table);
    const y = new Float32Array(n * (d + dim));
    for (let i = 0; i < n; i++) {
      y.set(x.subarray(i * d, (i + 1) * d), i * (d + dim));
      y.set(table.subarray(labels[i]! * dim, (labels[i]! + 1) * dim), i * (d + dim) + d);
    }
    return y;
  },
  handBackward: (l, _x, _y, dy, { n, labels }, [dTable]) => {
    const { dim } = l.config;
    const d = dy.length / n - dim;
    const dx = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const o = i * (d + dim);
      dx.set(dy.subarray(o, o + d), i * d);
      for (let j = 0, t = labels![i]! * dim; j < dim; j++) dTable![t + j]! += dy[o + d + j]!;
    }
    return dx;
  },
  hand: 'any', // mlp-net.ts: first in the network, before a Dense
  conditional: true,
});
