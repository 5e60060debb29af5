// Minimal layer stack for the reference MLPs. Own layers rather than tf.layers because the gradient
// penalty needs second derivatives (tf.leakyRelu has none) and the wasm backend lacks gather's
// gradient. Every layer is serialisable (config + named weights) so export can walk it.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../common/rng.js';

export interface ForwardContext {
  training: boolean;
  /** Integer class labels [N] for conditional layers. */
  labels?: tf.Tensor1D;
  /** Source of dropout masks (training only). */
  rng?: Rng;
  /** BatchNorm running statistics are updated only when true (default: training). */
  updateStats?: boolean;
}

export type LayerConfig =
  | { type: 'Dense'; inputDim: number; units: number }
  | { type: 'LeakyReLU'; alpha: number }
  | { type: 'ReLU' }
  | { type: 'Tanh' }
  | { type: 'Sigmoid' }
  | { type: 'Dropout'; rate: number }
  | { type: 'BatchNorm'; units: number; momentum: number; epsilon: number }
  | { type: 'LabelEmbedding'; numClasses: number; dim: number };

export interface Layer {
  readonly name: string;
  readonly config: LayerConfig;
  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D;
  /** Weights the optimiser updates. */
  readonly trainable: tf.Variable[];
  /** Weights updated by the forward pass (BatchNorm running statistics). */
  readonly state: tf.Variable[];
  /** Output width for a given input width. */
  outputDim(inputDim: number): number;
}

let instance = 0;
/** tf variable names are global; a suffix keeps two networks in one process apart. */
const vname = (name: string): string => `${name}#${instance++}`;
/** The stable key of a variable (its name without the process-unique suffix). */
export const weightKey = (v: tf.Variable): string => v.name.replace(/#\d+$/, '');

const pytorchUniform = (rng: Rng, n: number, bound: number): Float32Array => {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.uniform() * 2 - 1) * bound;
  return out;
};

/** Linear layer, initialised like torch.nn.Linear: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias. */
export class Dense implements Layer {
  readonly kernel: tf.Variable; // [inputDim, units]
  readonly bias: tf.Variable;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  constructor(readonly name: string, readonly config: Extract<LayerConfig, { type: 'Dense' }>, rng: Rng) {
    const { inputDim, units } = config;
    const bound = 1 / Math.sqrt(inputDim);
    this.kernel = tf.variable(tf.tensor2d(pytorchUniform(rng, inputDim * units, bound), [inputDim, units]), true, vname(`${name}/kernel`));
    this.bias = tf.variable(tf.tensor1d(pytorchUniform(rng, units, bound)), true, vname(`${name}/bias`));
    this.trainable = [this.kernel, this.bias];
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.kernel as tf.Tensor2D), this.bias);
  }
  outputDim(): number {
    return this.config.units;
  }
}

/** alpha*x + (1-alpha)*relu(x): LeakyReLU with a second derivative in tfjs (Greater/Less have none). */
export class LeakyReLU implements Layer {
  readonly trainable: tf.Variable[] = [];
  readonly state: tf.Variable[] = [];
  constructor(readonly name: string, readonly config: Extract<LayerConfig, { type: 'LeakyReLU' }>) {}
  apply(x: tf.Tensor2D): tf.Tensor2D {
    const a = this.config.alpha;
    return tf.add(tf.mul(x, a), tf.mul(tf.relu(x), 1 - a));
  }
  outputDim(d: number): number {
    return d;
  }
}

class Activation implements Layer {
  readonly trainable: tf.Variable[] = [];
  readonly state: tf.Variable[] = [];
  constructor(readonly name: string, readonly config: { type: 'ReLU' | 'Tanh' | 'Sigmoid' }) {}
  apply(x: tf.Tensor2D): tf.Tensor2D {
    if (this.config.type === 'ReLU') return tf.relu(x);
    // 2*sigmoid(2x) - 1 = tanh(x): wasm's Sigmoid is XNNPACK-vectorised, its Tanh is not (2x faster).
    if (this.config.type === 'Tanh') return tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1);
    return tf.sigmoid(x);
  }
  outputDim(d: number): number {
    return d;
  }
}
export class ReLU extends Activation {}
export class Tanh extends Activation {}
export class Sigmoid extends Activation {}

/** An inverted-dropout mask of `size` values, 0 or 1/(1-rate), from `rng` (train/mlp-step.ts draws the same). */
export function dropoutMask(rng: Rng, size: number, rate: number): Float32Array {
  const keep = 1 - rate;
  // Two 16-bit draws per random word: keep-probability resolution 2^-16 (0.5 is exact).
  const threshold = Math.round(keep * 65536);
  const words = Math.ceil(size / 2);
  const bits = rng.fillUint32(new Uint32Array(words));
  // Branch-free: (draw - threshold) >> 31 is all ones exactly when draw < threshold, and selects the
  // float bits of 1/keep: faster than a conditional float store, and masks are drawn every step.
  const scaleBits = new Int32Array(new Float32Array([1 / keep]).buffer)[0]!;
  const mask = new Int32Array(words * 2);
  for (let w = 0; w < words; w++) {
    const b = bits[w]!;
    mask[2 * w] = (((b & 0xffff) - threshold) >> 31) & scaleBits;
    mask[2 * w + 1] = (((b >>> 16) - threshold) >> 31) & scaleBits;
  }
  return new Float32Array(mask.buffer, 0, size);
}

/** Inverted dropout with masks from the run's seeded RNG, so resumed runs replay exactly. */
export class Dropout implements Layer {
  readonly trainable: tf.Variable[] = [];
  readonly state: tf.Variable[] = [];
  constructor(readonly name: string, readonly config: Extract<LayerConfig, { type: 'Dropout' }>) {}
  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    if (!ctx.training || this.config.rate === 0) return x;
    if (!ctx.rng) throw new Error(`${this.name}: dropout in training needs an rng`);
    return tf.mul(x, tf.tensor2d(dropoutMask(ctx.rng, x.size, this.config.rate), x.shape));
  }
  outputDim(d: number): number {
    return d;
  }
}

/** torch.nn.BatchNorm1d: batch statistics (biased variance) in training, running ones otherwise. */
export class BatchNorm implements Layer {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[];
  constructor(readonly name: string, readonly config: Extract<LayerConfig, { type: 'BatchNorm' }>) {
    const n = config.units;
    this.gamma = tf.variable(tf.ones([n]), true, vname(`${name}/gamma`));
    this.beta = tf.variable(tf.zeros([n]), true, vname(`${name}/beta`));
    this.movingMean = tf.variable(tf.zeros([n]), false, vname(`${name}/moving_mean`));
    this.movingVariance = tf.variable(tf.ones([n]), false, vname(`${name}/moving_variance`));
    this.trainable = [this.gamma, this.beta];
    this.state = [this.movingMean, this.movingVariance];
  }
  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    const { epsilon, momentum } = this.config;
    if (!ctx.training) {
      return tf.batchNorm2d(x, this.movingMean as tf.Tensor1D, this.movingVariance as tf.Tensor1D, this.beta as tf.Tensor1D, this.gamma as tf.Tensor1D, epsilon);
    }
    const { mean, variance } = tf.moments(x, 0);
    if (ctx.updateStats ?? true) {
      const n = x.shape[0];
      tf.tidy(() => {
        const unbiased = tf.mul(variance, n / Math.max(n - 1, 1));
        this.movingMean.assign(tf.add(tf.mul(this.movingMean, 1 - momentum), tf.mul(mean, momentum)));
        this.movingVariance.assign(tf.add(tf.mul(this.movingVariance, 1 - momentum), tf.mul(unbiased, momentum)));
      });
    }
    const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon)));
    return tf.add(tf.mul(normed, this.gamma), this.beta);
  }
  outputDim(d: number): number {
    return d;
  }
}

/**
 * Embedding(numClasses, dim) of ctx.labels concatenated after the input, as in the reference CGAN
 * (`torch.cat((x, embedding(c)), 1)`). A one-hot matmul instead of gather: gather's gradient kernel
 * is missing on wasm. Initialised N(0, 1) like torch.nn.Embedding.
 */
export class LabelEmbedding implements Layer {
  readonly table: tf.Variable; // [numClasses, dim]
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  constructor(readonly name: string, readonly config: Extract<LayerConfig, { type: 'LabelEmbedding' }>, rng: Rng) {
    const { numClasses, dim } = config;
    const init = new Float32Array(numClasses * dim);
    for (let i = 0; i < init.length; i++) init[i] = rng.normal();
    this.table = tf.variable(tf.tensor2d(init, [numClasses, dim]), true, vname(`${name}/embeddings`));
    this.trainable = [this.table];
  }
  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    if (!ctx.labels) throw new Error(`${this.name}: a conditional layer needs labels`);
    const oneHot = tf.cast(tf.oneHot(ctx.labels, this.config.numClasses), 'float32') as tf.Tensor2D;
    return tf.concat2d([x, tf.matMul(oneHot, this.table as tf.Tensor2D) as tf.Tensor2D], 1);
  }
  outputDim(d: number): number {
    return d + this.config.dim;
  }
}

export function createLayer(name: string, config: LayerConfig, rng: Rng): Layer {
  switch (config.type) {
    case 'Dense':
      return new Dense(name, config, rng);
    case 'LeakyReLU':
      return new LeakyReLU(name, config);
    case 'ReLU':
      return new ReLU(name, config);
    case 'Tanh':
      return new Tanh(name, config);
    case 'Sigmoid':
      return new Sigmoid(name, config);
    case 'Dropout':
      return new Dropout(name, config);
    case 'BatchNorm':
      return new BatchNorm(name, config);
    case 'LabelEmbedding':
      return new LabelEmbedding(name, config, rng);
  }
}

export interface NetworkConfig {
  inputDim: number;
  layers: LayerConfig[];
}

/** A named stack of layers with serialisable config and weights. */
export class Sequential {
  readonly layers: Layer[];
  constructor(readonly name: string, readonly config: NetworkConfig, rng: Rng) {
    this.layers = config.layers.map((c, i) => createLayer(`${name}/${i}_${c.type.toLowerCase()}`, c, rng));
  }
  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    let h = x;
    for (const layer of this.layers) h = layer.apply(h, ctx);
    return h;
  }
  get trainable(): tf.Variable[] {
    return this.layers.flatMap((l) => l.trainable);
  }
  /** Set every BatchNorm's running statistics to those of this batch flowing through the stack. */
  recalibrateBatchNorm(x: tf.Tensor2D, ctx: ForwardContext): void {
    tf.tidy(() => {
      let h = x;
      for (const layer of this.layers) {
        if (layer instanceof BatchNorm) {
          const { mean, variance } = tf.moments(h, 0);
          const n = h.shape[0];
          layer.movingMean.assign(mean);
          layer.movingVariance.assign(tf.mul(variance, n / Math.max(n - 1, 1)));
        }
        h = layer.apply(h, { ...ctx, training: false });
      }
    });
  }
  /** Every weight, trainable and running statistics, in a stable order. */
  get weights(): tf.Variable[] {
    return this.layers.flatMap((l) => [...l.trainable, ...l.state]);
  }
  get outputDim(): number {
    return this.layers.reduce((d, l) => l.outputDim(d), this.config.inputDim);
  }
  get conditional(): boolean {
    return this.layers.some((l) => l instanceof LabelEmbedding);
  }
  dispose(): void {
    for (const w of this.weights) w.dispose();
  }
}

/**
 * Start the generator at the data's mean image: the bias of the Dense feeding the final Tanh becomes
 * atanh(mean pixel). Why: the features before that Dense are BatchNorm-ed over batches that mix all
 * classes, so their class-dependent part sums to zero over the classes; a generator that must darken
 * every background through them pushes one class the other way, into tanh saturation (an inverted
 * image whose gradient vanishes). Seen here in every CGAN run without it; the bias takes the mean.
 */
export function initOutputBiasToMean(net: Sequential, meanImage: Float32Array): void {
  const i = net.layers.findIndex((l, k) => l instanceof Tanh && net.layers[k - 1] instanceof Dense);
  if (i < 1) throw new Error(`${net.name}: no Dense -> Tanh output to initialise`);
  const dense = net.layers[i - 1] as Dense;
  if (dense.config.units !== meanImage.length) throw new Error(`${dense.name}: ${dense.config.units} outputs, mean image has ${meanImage.length}`);
  dense.bias.assign(tf.tensor1d(meanImage.map((m) => Math.atanh(Math.max(-0.99, Math.min(0.99, m))))));
}
