// Each tfjs (Keras) layer class as ONNX nodes. A mapping gets the layer's tfjs config (its
// getConfig(), camelCase), its inputs and the output shapes tfjs computed, and returns its outputs.
import type * as tf from '@tensorflow/tfjs';
import { elemOf, permute, reshaped, type Constant, type DType, type Emitter, type Shape, type Value } from './emitter.js';
import { activation, clip } from './ops/activations.js';
import { conv, convTranspose, crop2d, globalPool, pad2d, pool, resize, type Window } from './ops/conv.js';
import { batchNormAffine } from '../common/batch-norm.js';
import { channelAffine, elementwise } from './ops/elementwise.js';
import { UnsupportedError } from './ops/errors.js';

/** One call of a layer (a shared layer is called once per use). */
export interface LayerCall {
  e: Emitter;
  layer: tf.layers.Layer;
  config: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  inputs: Value[];
  /** tfjs's outputs of this call. */
  out: { shape: Shape; dtype: DType }[];
  /** The layer's weight by its short name (kernel, bias, gamma...). */
  weight(name: string): Constant;
  has(name: string): boolean;
  /** An initializer made from the layer's weights once, shared by every call of the layer. */
  param(key: string, make: () => Constant): string;
  /** Where the layer is, for messages: `layer "conv2d_1" (Conv2D)`. */
  where: string;
}

type Mapping = (c: LayerCall) => Value[];

const x0 = (c: LayerCall): Value => c.inputs[0]!;
const shape0 = (c: LayerCall): Shape => c.out[0]!.shape;
const channelsFirst = (c: LayerCall): boolean => c.config.dataFormat === 'channelsFirst';
const pair = (v: number | number[]): [number, number] => (Array.isArray(v) ? [v[0]!, v[1] ?? v[0]!] : [v, v]);

function window(c: LayerCall, kernel: number | number[], strides: number | number[] | null | undefined): Window {
  const padding = c.config.padding ?? 'valid';
  if (padding !== 'same' && padding !== 'valid')
    throw new UnsupportedError(`${c.where}: padding "${padding}" is not supported (same, valid)`);
  return {
    kernel: pair(kernel),
    strides: pair(strides ?? kernel),
    dilations: pair(c.config.dilationRate ?? 1),
    padding,
    channelsFirst: channelsFirst(c),
  };
}

const withActivation = (c: LayerCall, y: Value): Value[] => [activation(c.e, y, c.config.activation ?? 'linear', c.where)];
const bias = (c: LayerCall): string | null =>
  c.config.useBias === false || !c.has('bias') ? null : c.param('bias', () => c.weight('bias'));

const identity: Mapping = (c) => [x0(c)];

/** Elementwise merge of several inputs (tfjs merge layers need equal ranks). */
const merge =
  (variadic: string | null, binary: string): Mapping =>
  (c) => {
    if (new Set(c.inputs.map((i) => i.rank)).size > 1)
      throw new UnsupportedError(`${c.where}: merging inputs of different ranks is not supported`);
    const out = { shape: shape0(c) };
    if (variadic) return [elementwise(c.e, variadic, c.inputs, out)];
    return [c.inputs.slice(1).reduce((acc, x) => elementwise(c.e, binary, [acc, x], out), x0(c))];
  };

/** Normalise an axis (negative ones count from the end; Keras may write [axis]) for a tensor of `rank`. */
const axisOf = (axis: number | number[], rank: number): number => {
  const a = Array.isArray(axis) ? axis[0]! : axis;
  return a < 0 ? a + rank : a;
};

export const LAYERS: Record<string, Mapping> = {
  Dense: (c) => {
    const x = c.e.logical(x0(c));
    const w = c.param('kernel', () => c.weight('kernel'));
    const b = bias(c);
    const out = { dtype: 'float32' as const, shape: shape0(c) };
    if (x.rank === 2) return withActivation(c, c.e.op('Gemm', [x, w, ...(b ? [b] : [])], {}, out, c.layer.name));
    const y = c.e.op('MatMul', [x, w], {}, out, c.layer.name);
    return withActivation(c, b ? c.e.op('Add', [y, b], {}, out) : y);
  },

  Conv2D: (c) => {
    if (c.config.groups && c.config.groups !== 1) throw new UnsupportedError(`${c.where}: grouped convolutions are not supported`);
    const w = c.param('kernel_oihw', () => permute(c.weight('kernel'), [3, 2, 0, 1]));
    return withActivation(c, conv(c.e, x0(c), w, bias(c), window(c, c.config.kernelSize, c.config.strides), 1, shape0(c), c.layer.name));
  },

  DepthwiseConv2D: (c) => {
    const w = depthwiseWeight(c);
    const channels = c.weight('depthwise_kernel').shape[2]!;
    // tfjs's DepthwiseConv2D ignores dilationRate (its call passes none): so does the conversion.
    const win = { ...window(c, c.config.kernelSize, c.config.strides), dilations: [1, 1] as [number, number] };
    return withActivation(c, conv(c.e, x0(c), w, bias(c), win, channels, shape0(c), c.layer.name));
  },

  SeparableConv2D: (c) => {
    const [, , channels, multiplier] = c.weight('depthwise_kernel').shape as number[];
    const out = shape0(c);
    const mid = [...out];
    mid[channelsFirst(c) ? 1 : 3] = channels! * multiplier!;
    const depthwise = conv(
      c.e,
      x0(c),
      depthwiseWeight(c),
      null,
      window(c, c.config.kernelSize, c.config.strides),
      channels!,
      mid,
      `${c.layer.name}/depthwise`,
    );
    const w = c.param('pointwise_oihw', () => permute(c.weight('pointwise_kernel'), [3, 2, 0, 1]));
    const pointwise = {
      kernel: [1, 1] as [number, number],
      strides: [1, 1] as [number, number],
      dilations: [1, 1] as [number, number],
      padding: 'valid' as const,
      channelsFirst: channelsFirst(c),
    };
    return withActivation(c, conv(c.e, depthwise, w, bias(c), pointwise, 1, out, `${c.layer.name}/pointwise`));
  },

  Conv2DTranspose: (c) => {
    // Keras's kernel is [kh, kw, out, in]; ONNX's ConvTranspose weight [in, out, kh, kw].
    const w = c.param('kernel_iohw', () => permute(c.weight('kernel'), [3, 2, 0, 1]));
    const win = { ...window(c, c.config.kernelSize, c.config.strides), dilations: [1, 1] as [number, number] };
    return withActivation(c, convTranspose(c.e, x0(c), w, bias(c), win, shape0(c), c.layer.name));
  },

  BatchNormalization: (c) => {
    const x = x0(c);
    const value = (n: string): ArrayLike<number> | null => (c.has(n) ? c.weight(n).data : null);
    const { scale, shift } = batchNormAffine(
      value('gamma'),
      value('beta'),
      c.weight('moving_mean').data,
      c.weight('moving_variance').data,
      c.config.epsilon,
    );
    return [channelAffine(c.e, x, scale, shift, axisOf(c.config.axis ?? -1, x.rank), c.layer.name)];
  },

  LayerNormalization: (c) => {
    const x = c.e.logical(x0(c));
    const axes = ([] as number[])
      .concat(c.config.axis ?? -1)
      .map((a) => axisOf(a, x.rank))
      .sort((a, b) => a - b);
    if (!axes.every((a, i) => a === x.rank - axes.length + i))
      throw new UnsupportedError(`${c.where}: normalising over axes [${axes.join(', ')}] is not supported (only trailing axes)`);
    const dims = axes.map((a) => x.shape[a]!);
    if (dims.some((d) => d === null)) throw new UnsupportedError(`${c.where}: normalised axes need fixed sizes`);
    const n = (dims as number[]).reduce((a, b) => a * b, 1);
    const gamma = c.has('gamma')
      ? c.param('gamma', () => c.weight('gamma'))
      : c.e.floats(new Float32Array(n).fill(1), dims as number[]).name;
    const beta = c.has('beta') ? [c.param('beta', () => c.weight('beta'))] : [];
    return [
      c.e.op(
        'LayerNormalization',
        [x, gamma, ...beta],
        { axis: { i: axes[0]! }, epsilon: { f: c.config.epsilon } },
        { dtype: 'float32', shape: shape0(c) },
        c.layer.name,
      ),
    ];
  },

  Activation: (c) => withActivation(c, x0(c)),
  ReLU: (c) => [c.config.maxValue != null ? clip(c.e, x0(c), 0, c.config.maxValue) : c.e.unary('Relu', x0(c))],
  LeakyReLU: (c) => [c.e.unary('LeakyRelu', x0(c), { alpha: { f: c.config.alpha ?? 0.3 } })],
  ELU: (c) => [c.e.unary('Elu', x0(c), { alpha: { f: c.config.alpha ?? 1 } })],
  ThresholdedReLU: (c) => [c.e.unary('ThresholdedRelu', x0(c), { alpha: { f: c.config.theta ?? 1 } })],
  Softmax: (c) => [c.e.unary('Softmax', x0(c), { axis: { i: x0(c).storedAxis(c.config.axis ?? -1) } })],
  PReLU: (c) => {
    const x = x0(c);
    // alpha has the input's shape without the batch (1 along shared axes); NCHW storage moves it along.
    const alpha = x.nchw ? c.param('alpha_chw', () => permute(c.weight('alpha'), [2, 0, 1])) : c.param('alpha', () => c.weight('alpha'));
    return [c.e.op('PRelu', [x, alpha], {}, { dtype: 'float32', shape: x.shape, nchw: x.nchw })];
  },

  MaxPooling2D: (c) => [
    pool(c.e, 'MaxPool', x0(c), { ...window(c, c.config.poolSize, c.config.strides), dilations: [1, 1] }, shape0(c), c.layer.name),
  ],
  AveragePooling2D: (c) => [
    pool(c.e, 'AveragePool', x0(c), { ...window(c, c.config.poolSize, c.config.strides), dilations: [1, 1] }, shape0(c), c.layer.name),
  ],
  GlobalAveragePooling2D: (c) => [globalPool(c.e, 'GlobalAveragePool', x0(c), channelsFirst(c), false, shape0(c), c.layer.name)],
  GlobalMaxPooling2D: (c) => [globalPool(c.e, 'GlobalMaxPool', x0(c), channelsFirst(c), false, shape0(c), c.layer.name)],
  GlobalAveragePooling1D: (c) => [
    c.e.op('ReduceMean', [c.e.logical(x0(c))], { axes: { ints: [1] }, keepdims: { i: 0 } }, { dtype: 'float32', shape: shape0(c) }),
  ],
  GlobalMaxPooling1D: (c) => [
    c.e.op('ReduceMax', [c.e.logical(x0(c))], { axes: { ints: [1] }, keepdims: { i: 0 } }, { dtype: 'float32', shape: shape0(c) }),
  ],

  ZeroPadding2D: (c) => [pad2d(c.e, x0(c), c.config.padding, channelsFirst(c), shape0(c))],
  Cropping2D: (c) => [crop2d(c.e, x0(c), c.config.cropping, channelsFirst(c), shape0(c))],
  UpSampling2D: (c) => {
    const mode = c.config.interpolation === 'bilinear' ? 'linear' : 'nearest';
    return [resize(c.e, x0(c), { mode, alignCorners: false, halfPixelCenters: false }, channelsFirst(c), shape0(c), c.layer.name)];
  },

  Reshape: (c) => {
    const target = (c.config.targetShape as (number | null)[]).map((d) => d ?? -1);
    return [c.e.op('Reshape', [c.e.logical(x0(c)), c.e.int64([0, ...target])], {}, { dtype: x0(c).dtype, shape: shape0(c) })];
  },
  Flatten: (c) => {
    let x = c.e.logical(x0(c));
    if (c.config.dataFormat === 'channelsFirst' && x.rank > 2) {
      const perm = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1];
      x = c.e.op('Transpose', [x], { perm: { ints: perm } }, { dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) });
    }
    return [c.e.op('Flatten', [x], { axis: { i: 1 } }, { dtype: x.dtype, shape: shape0(c) })];
  },
  Permute: (c) => [
    c.e.op(
      'Transpose',
      [c.e.logical(x0(c))],
      { perm: { ints: [0, ...(c.config.dims as number[])] } },
      { dtype: x0(c).dtype, shape: shape0(c) },
    ),
  ],
  RepeatVector: (c) => {
    const x = c.e.logical(x0(c));
    const rows = c.e.op('Unsqueeze', [x, c.e.int64([1])], {}, { dtype: x.dtype, shape: [x.shape[0]!, 1, x.shape[1]!] });
    return [c.e.op('Tile', [rows, c.e.int64([1, c.config.n, 1])], {}, { dtype: x.dtype, shape: shape0(c) })];
  },

  Concatenate: (c) => {
    const rank = x0(c).rank;
    const axis = axisOf(c.config.axis ?? -1, rank);
    const out = { dtype: x0(c).dtype, shape: shape0(c) };
    if (rank === 4 && c.inputs.every((i) => i.nchw))
      return [c.e.op('Concat', c.inputs, { axis: { i: x0(c).storedAxis(axis) } }, { ...out, nchw: true })];
    return [
      c.e.op(
        'Concat',
        c.inputs.map((i) => c.e.logical(i)),
        { axis: { i: axis } },
        out,
      ),
    ];
  },
  Add: merge('Sum', 'Add'),
  Subtract: merge(null, 'Sub'),
  Multiply: merge(null, 'Mul'),
  Average: merge('Mean', 'Add'),
  Maximum: merge('Max', 'Max'),
  Minimum: merge('Min', 'Min'),
  Dot: (c) => dot(c),

  Embedding: (c) => {
    let ids = c.e.logical(x0(c));
    // tfjs casts to int32 (truncating)
    if (ids.dtype !== 'int32') ids = c.e.op('Cast', [ids], { to: { i: elemOf('int32') } }, { dtype: 'int32', shape: ids.shape });
    const table = c.param('embeddings', () => c.weight('embeddings'));
    return [c.e.op('Gather', [table, ids], { axis: { i: 0 } }, { dtype: 'float32', shape: shape0(c) }, c.layer.name)];
  },

  Rescaling: (c) => {
    let x = x0(c);
    if (x.dtype !== 'float32')
      x = c.e.op('Cast', [x], { to: { i: elemOf('float32') } }, { dtype: 'float32', shape: x.shape, nchw: x.nchw });
    const scaled = elementwise(c.e, 'Mul', [x, c.e.floats([c.config.scale], [])], { shape: x.shape });
    return [c.config.offset ? elementwise(c.e, 'Add', [scaled, c.e.floats([c.config.offset], [])], { shape: x.shape }) : scaled];
  },

  // Inference: these only act in training.
  Dropout: identity,
  SpatialDropout1D: identity,
  SpatialDropout2D: identity,
  AlphaDropout: identity,
  GaussianDropout: identity,
  GaussianNoise: identity,
};

/** Containers converted by walking their own graph (convert/layers-model.ts). */
export const CONTAINERS = ['Sequential', 'Model', 'Functional'];

/** Every class the converter takes, for messages and the README. */
export const SUPPORTED_LAYERS = ['InputLayer', ...Object.keys(LAYERS), ...CONTAINERS];

function depthwiseWeight(c: LayerCall): string {
  // [kh, kw, in, multiplier] -> [in * multiplier, 1, kh, kw]: output channel i * multiplier + m, as in TensorFlow.
  return c.param('depthwise_oihw', () => {
    const k = c.weight('depthwise_kernel');
    const [kh, kw, channels, multiplier] = k.shape as [number, number, number, number];
    return reshaped(permute(k, [2, 3, 0, 1]), [channels * multiplier, 1, kh, kw]);
  });
}

/** Dot of two rank-2 ([N, D] x [N, D] over D) or rank-3 (batched matrix product) inputs, as tfjs's batchDot. */
function dot(c: LayerCall): Value[] {
  let [x, y] = c.inputs.map((i) => c.e.logical(i)) as [Value, Value];
  if (c.inputs.length !== 2 || x.rank !== y.rank || x.rank < 2 || x.rank > 3)
    throw new UnsupportedError(`${c.where}: Dot needs two inputs of rank 2 or 3 and equal ranks`);
  const axes = (Array.isArray(c.config.axes) ? c.config.axes : [c.config.axes, c.config.axes]).map((a: number) => axisOf(a, x.rank)) as [
    number,
    number,
  ];
  if (c.config.normalize) [x, y] = [l2Normalize(c.e, x, axes[0]), l2Normalize(c.e, y, axes[1])];
  const out = { dtype: 'float32' as const, shape: shape0(c) };
  if (x.rank === 2) {
    if (axes[0] !== 1 || axes[1] !== 1) throw new UnsupportedError(`${c.where}: Dot of rank-2 inputs over the batch axis is not supported`);
    return [c.e.op('ReduceSum', [elementwise(c.e, 'Mul', [x, y], { shape: x.shape }), c.e.int64([1])], { keepdims: { i: 1 } }, out)];
  }
  const swap = (v: Value): Value =>
    c.e.op('Transpose', [v], { perm: { ints: [0, 2, 1] } }, { dtype: v.dtype, shape: [v.shape[0]!, v.shape[2]!, v.shape[1]!] });
  const a = axes[0] === 2 ? x : swap(x);
  const b = axes[1] === 1 ? y : swap(y);
  return [c.e.op('MatMul', [a, b], {}, out, c.layer.name)];
}

/** x / sqrt(max(sum(x^2, axis), epsilon)), tfjs's l2Normalize (epsilon 1e-7). */
function l2Normalize(e: Emitter, x: Value, axis: number): Value {
  const sq = e.op(
    'ReduceSumSquare',
    [x],
    { axes: { ints: [axis] }, keepdims: { i: 1 } },
    { dtype: 'float32', shape: x.shape.map((d, i) => (i === axis ? 1 : d)) },
  );
  const norm = e.unary('Sqrt', elementwise(e, 'Max', [sq, e.floats([1e-7], [])], { shape: sq.shape }));
  return elementwise(e, 'Div', [x, norm], { shape: x.shape });
}
