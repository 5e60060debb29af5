// Elementwise activations: any shape in, the same out.
import * as tf from '@tensorflow/tfjs-core';
import { elementwise, elementwiseBackward, layerKind, sameShape, Stateless } from './kind.js';

export interface LeakyReLUConfig {
  type: 'LeakyReLU';
  alpha: number;
}

/** alpha*x + (1-alpha)*relu(x): LeakyReLU with a second derivative in tfjs (Greater/Less have none). */
export class LeakyReLU extends Stateless {
  constructor(
    name: string,
    readonly config: LeakyReLUConfig,
  ) {
    super(name);
  }
  apply(x: tf.Tensor): tf.Tensor {
    const a = this.config.alpha;
    return tf.add(tf.mul(x, a), tf.mul(tf.relu(x), 1 - a));
  }
}

export const leakyRelu = layerKind<LeakyReLUConfig, LeakyReLU>({
  type: 'LeakyReLU',
  schema: (z) => z.object({ type: z.literal('LeakyReLU'), alpha: z.number() }),
  create: (name, c) => new LeakyReLU(name, c),
  outputShape: sameShape,
  onnx: (l, x, { g }) => g.node('LeakyRelu', [x], { alpha: { f: l.config.alpha } }),
  tfjs: (l, h, { tfjs, name }) => tfjs.layers.leakyReLU({ alpha: l.config.alpha, name }).apply(h) as typeof h,
  handForward: (l, x) => x.map((v) => (v > 0 ? v : v * l.config.alpha)),
  handBackward: (l, x, _y, dy) => dy.map((g, i) => (x[i]! > 0 ? g : g * l.config.alpha)),
  // Piecewise linear: f'' = 0, so no term in x, and J G = G * slope.
  handPenalty: (l, x, _u, G) => G.map((g, i) => (x[i]! > 0 ? g : g * l.config.alpha)),
  hand: 'any',
});

export class ReLU extends Stateless {
  constructor(
    name: string,
    readonly config: { type: 'ReLU' },
  ) {
    super(name);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}

export const relu = layerKind<{ type: 'ReLU' }, ReLU>({
  type: 'ReLU',
  schema: (z) => z.object({ type: z.literal('ReLU') }),
  create: (name, c) => new ReLU(name, c),
  outputShape: sameShape,
  onnx: (_l, x, { g }) => g.node('Relu', [x]),
  tfjs: (_l, h, { tfjs, name }) => tfjs.layers.reLU({ name }).apply(h) as typeof h,
  handForward: elementwise((v) => (v > 0 ? v : 0)),
  handBackward: elementwiseBackward((x) => (x > 0 ? 1 : 0)),
  hand: 'any',
});

export class Tanh extends Stateless {
  constructor(
    name: string,
    readonly config: { type: 'Tanh' },
  ) {
    super(name);
  }
  apply(x: tf.Tensor): tf.Tensor {
    // 2*sigmoid(2x) - 1 = tanh(x): wasm's Sigmoid is XNNPACK-vectorised, its Tanh is not (2x faster).
    return tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1);
  }
}

export const tanh = layerKind<{ type: 'Tanh' }, Tanh>({
  type: 'Tanh',
  schema: (z) => z.object({ type: z.literal('Tanh') }),
  create: (name, c) => new Tanh(name, c),
  outputShape: sameShape,
  onnx: (_l, x, { g }) => g.node('Tanh', [x]),
  tfjs: (_l, h, { tfjs, name }) => tfjs.layers.activation({ activation: 'tanh', name }).apply(h) as typeof h,
  handForward: elementwise(Math.tanh),
  handBackward: elementwiseBackward((_x, y) => 1 - y * y),
  hand: 'generator',
});

export class Sigmoid extends Stateless {
  constructor(
    name: string,
    readonly config: { type: 'Sigmoid' },
  ) {
    super(name);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.sigmoid(x);
  }
}

export const sigmoid = layerKind<{ type: 'Sigmoid' }, Sigmoid>({
  type: 'Sigmoid',
  schema: (z) => z.object({ type: z.literal('Sigmoid') }),
  create: (name, c) => new Sigmoid(name, c),
  outputShape: sameShape,
  onnx: (_l, x, { g }) => g.node('Sigmoid', [x]),
  tfjs: (_l, h, { tfjs, name }) => tfjs.layers.activation({ activation: 'sigmoid', name }).apply(h) as typeof h,
  handForward: elementwise((v) => 1 / (1 + Math.exp(-v))),
  handBackward: elementwiseBackward((_x, y) => y * (1 - y)),
  hand: 'generator',
});
