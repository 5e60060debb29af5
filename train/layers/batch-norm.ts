// torch.nn.BatchNorm1d on features [d] and BatchNorm2d on images [C, H, W] (per channel): batch
// statistics (biased variance) in training, running ones otherwise. Channels are the last tfjs axis
// either way (images are NHWC), so one kind serves both.
import * as tf from '@tensorflow/tfjs-core';
import { batchNormAffine } from '../../common/batch-norm.js';
import { addInto, layerKind, values, vname, type ForwardContext, type Layer } from './kind.js';
import { batchNorm2dBackward, batchNorm2dForward } from '../../backend/conv-kernels.js';

export interface BatchNormConfig {
  type: 'BatchNorm';
  /** Features, or an image's channels. */
  units: number;
  momentum: number;
  epsilon: number;
}

/** Every axis but the channels' (the last). */
const statAxes = (x: tf.Tensor): number[] => Array.from({ length: x.rank - 1 }, (_, i) => i);

export class BatchNorm implements Layer {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[];
  constructor(
    readonly name: string,
    readonly config: BatchNormConfig,
  ) {
    const n = config.units;
    this.gamma = tf.variable(tf.ones([n]), true, vname(`${name}/gamma`));
    this.beta = tf.variable(tf.zeros([n]), true, vname(`${name}/beta`));
    this.movingMean = tf.variable(tf.zeros([n]), false, vname(`${name}/moving_mean`));
    this.movingVariance = tf.variable(tf.ones([n]), false, vname(`${name}/moving_variance`));
    this.trainable = [this.gamma, this.beta];
    this.state = [this.movingMean, this.movingVariance];
  }
  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const { epsilon, momentum } = this.config;
    if (!ctx.training) {
      return tf.batchNorm(
        x,
        this.movingMean as tf.Tensor1D,
        this.movingVariance as tf.Tensor1D,
        this.beta as tf.Tensor1D,
        this.gamma as tf.Tensor1D,
        epsilon,
      );
    }
    const { mean, variance } = tf.moments(x, statAxes(x));
    if (ctx.updateStats ?? true) {
      const n = x.size / this.config.units;
      tf.tidy(() => {
        const unbiased = tf.mul(variance, n / Math.max(n - 1, 1));
        this.movingMean.assign(tf.add(tf.mul(this.movingMean, 1 - momentum), tf.mul(mean, momentum)));
        this.movingVariance.assign(tf.add(tf.mul(this.movingVariance, 1 - momentum), tf.mul(unbiased, momentum)));
      });
    }
    const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon)));
    return tf.add(tf.mul(normed, this.gamma), this.beta);
  }
  /** Running statistics <- those of the batch `x` (standing statistics). */
  setStatistics(x: tf.Tensor): void {
    tf.tidy(() => {
      const { mean, variance } = tf.moments(x, statAxes(x));
      const n = x.size / this.config.units;
      this.movingMean.assign(mean);
      this.movingVariance.assign(tf.mul(variance, n / Math.max(n - 1, 1)));
    });
  }
}

/** Training-mode BatchNorm of x (NHWC or [n, d]: channels last) on batch statistics, with its tape. */
function normalise(l: BatchNorm, x: Float32Array) {
  const c = l.config.units;
  const rows = x.length / c;
  const y = new Float32Array(x.length);
  const tape = { xhat: new Float32Array(x.length), invStd: new Float32Array(c) };
  batchNorm2dForward(x, rows, c, values(l.gamma), values(l.beta), l.config.epsilon, y, tape, new Float32Array(c), new Float32Array(c));
  return { y, tape, rows };
}

export const batchNorm = layerKind<BatchNormConfig, BatchNorm>({
  type: 'BatchNorm',
  schema: (z) => z.object({ type: z.literal('BatchNorm'), units: z.int().min(1), momentum: z.number(), epsilon: z.number() }),
  create: (name, c) => new BatchNorm(name, c),
  outputShape: (c, input) => {
    const channels = input.length === 3 ? input[0] : input.length === 1 ? input[0] : undefined;
    if (channels !== c.units) throw new Error(`BatchNorm of ${c.units} takes [${c.units}] or [${c.units}, H, W], not [${input}]`);
    return input;
  },
  onnx: (l, x, { g, shape }) => {
    // Inference BatchNorm is affine: x*scale + shift with the running statistics folded in.
    const [gamma, beta, mean, variance] = [l.gamma, l.beta, l.movingMean, l.movingVariance].map(values) as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    const { scale, shift } = batchNormAffine(gamma, beta, mean, variance, l.config.epsilon);
    const n = l.config.units;
    const dims = shape.length === 3 ? [n, 1, 1] : [n]; // NCHW: per channel
    return g.node('Add', [g.node('Mul', [x, g.weight(`${l.name}/scale`, scale, dims)]), g.weight(`${l.name}/shift`, shift, dims)]);
  },
  tfjs: (l, h, { tfjs, name, add }) => {
    // Keras's momentum weighs the running value, torch's (ours) the batch statistic.
    const bn = add(
      tfjs.layers.batchNormalization({ epsilon: l.config.epsilon, momentum: 1 - l.config.momentum, name }),
      [l.gamma, l.beta, l.movingMean, l.movingVariance].map((v) => v.clone()),
    );
    return bn.apply(h) as typeof h;
  },
  handForward: (l, x) => normalise(l, x).y,
  handBackward: (l, x, _y, dy, _ctx, [dGamma, dBeta]) => {
    const { tape, rows } = normalise(l, x); // recomputed: the forward keeps no tape yet
    const c = l.config.units;
    const dx = new Float32Array(x.length);
    const [dg, db] = [new Float32Array(c), new Float32Array(c)];
    batchNorm2dBackward(dy, tape, values(l.gamma), rows, c, dx, dg, db);
    addInto(dGamma!, dg);
    addInto(dBeta!, db);
    return dx;
  },
  hand: 'generator',
});
