// A network: a named stack of layers (train/layers/<kind>.ts, listed in train/layers/registry.ts)
// with serialisable config and weights, so export can walk it. Own layers rather than tf.layers
// because the gradient penalty needs second derivatives (tf.leakyRelu has none) and the wasm
// backend lacks gather's gradient.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../common/rng.js';
import type { ForwardContext, Layer, Shape } from './layers/kind.js';
import { createLayer, kindOf, type LayerConfig } from './layers/registry.js';
import { BatchNorm } from './layers/batch-norm.js';
import { Dense } from './layers/dense.js';
import { Tanh } from './layers/activations.js';
import { Conv2D } from './layers/conv2d.js';

export type { ForwardContext, Layer, Shape } from './layers/kind.js';
export { weightKey } from './layers/kind.js';
export type { LayerConfig } from './layers/registry.js';

export interface NetworkConfig {
  /** Features of its input: the noise for a generator, C*H*W image values for a critic. */
  inputDim: number;
  layers: LayerConfig[];
}

/**
 * Each layer's input shape of a network, and the output's last ([inputDim] first); a layer that cannot take its input is
 * a one-line error.
 */
export function networkShapes(name: string, config: NetworkConfig): Shape[] {
  const shapes: Shape[] = [[config.inputDim]];
  config.layers.forEach((c, i) => {
    try {
      shapes.push(kindOf(c).outputShape(c, shapes[i]!));
    } catch (e) {
      throw new Error(`${name} layer ${i} (${c.type}): ${(e as Error).message}`);
    }
  });
  return shapes;
}

export class Sequential {
  readonly layers: Layer[];
  /** Each layer's input shape, and the output's last ([inputDim] first). */
  readonly shapes: Shape[];
  constructor(
    readonly name: string,
    readonly config: NetworkConfig,
    rng: Rng,
  ) {
    this.shapes = networkShapes(name, config);
    this.layers = config.layers.map((c, i) => createLayer(`${name}/${i}_${c.type.toLowerCase()}`, c, rng));
  }
  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    let h: tf.Tensor = x;
    for (const layer of this.layers) h = layer.apply(h, ctx);
    if (h.rank !== 2) throw new Error(`${this.name} ends in a ${h.rank}-d tensor: end it with Flatten`);
    return h as tf.Tensor2D;
  }
  get trainable(): tf.Variable[] {
    return this.layers.flatMap((l) => l.trainable);
  }
  /** Set every BatchNorm's running statistics to those of this batch flowing through the stack. */
  recalibrateBatchNorm(x: tf.Tensor2D, ctx: ForwardContext): void {
    tf.tidy(() => {
      let h: tf.Tensor = x;
      for (const layer of this.layers) {
        if (layer instanceof BatchNorm) layer.setStatistics(h);
        h = layer.apply(h, { ...ctx, training: false });
      }
    });
  }
  /** Every weight, trainable and running statistics, in a stable order. */
  get weights(): tf.Variable[] {
    return this.layers.flatMap((l) => [...l.trainable, ...l.state]);
  }
  /** Values of one output row. */
  get outputDim(): number {
    return this.shapes.at(-1)!.reduce((a, b) => a * b, 1);
  }
  get conditional(): boolean {
    return this.config.layers.some((c) => kindOf(c).conditional);
  }
  dispose(): void {
    for (const w of this.weights) w.dispose();
  }
}

/**
 * Start the generator at the data's mean image: the bias of the layer feeding the final Tanh becomes
 * atanh(mean pixel) (a Dense: per pixel; a Conv2D: per channel, the channel's mean). Why: the
 * features before that layer are BatchNorm-ed over batches that mix all classes, so their
 * class-dependent part sums to zero over the classes; a generator that must darken every background
 * through them pushes one class the other way, into tanh saturation (an inverted image whose
 * gradient vanishes). Seen here in every CGAN run without it; the bias takes the mean.
 */
export function initOutputBiasToMean(net: Sequential, meanImage: Float32Array): void {
  const i = net.layers.findIndex(
    (l, k) => l instanceof Tanh && (net.layers[k - 1] instanceof Dense || net.layers[k - 1] instanceof Conv2D),
  );
  if (i < 1) throw new Error(`${net.name}: no Dense or Conv2D -> Tanh output to initialise`);
  const out = net.layers[i - 1] as Dense | Conv2D;
  const atanh = (m: number): number => Math.atanh(Math.max(-0.99, Math.min(0.99, m)));
  if (out instanceof Dense) {
    if (out.config.units !== meanImage.length)
      throw new Error(`${out.name}: ${out.config.units} outputs, mean image has ${meanImage.length}`);
    out.bias.assign(tf.tensor1d(meanImage.map(atanh)));
    return;
  }
  const c = out.config.outChannels;
  const plane = meanImage.length / c; // the mean image is [C, H, W]
  const means = Float32Array.from(
    { length: c },
    (_, k) => meanImage.subarray(k * plane, (k + 1) * plane).reduce((a, b) => a + b, 0) / plane,
  );
  out.bias.assign(tf.tensor1d(means.map(atanh)));
}
