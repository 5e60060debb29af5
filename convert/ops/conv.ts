// 2-D convolutions, transposed convolutions, pooling, padding and resizing, for both LayersModels
// and GraphModels: ONNX computes them on NCHW storage, so channels-last inputs are stored NCHW here
// and their results stay NCHW for the next op.
import type { Attr } from '../../common/onnx-graph.js';
import type { Dim, Emitter, Shape, Value } from '../emitter.js';
import { UnsupportedError } from './errors.js';

export type Padding = 'same' | 'valid' | { explicit: [number, number, number, number] }; // [top, bottom, left, right]

export interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  padding: Padding;
  /** The tfjs data format: channels-first tensors need no layout change. */
  channelsFirst: boolean;
}

/** NCHW input of an op that computes channels-first, and whether its output is stored NCHW for a channels-last model. */
function nchwInput(e: Emitter, x: Value, channelsFirst: boolean): { input: Value; nchw: boolean } {
  if (channelsFirst) return { input: e.logical(x), nchw: false };
  if (x.rank !== 4) throw new UnsupportedError(`expected a 4-d input, got [${x.shape.join(', ')}]`);
  return { input: e.toNchw(x), nchw: true };
}

const spatial = (s: Shape, channelsFirst: boolean): [Dim, Dim] => (channelsFirst ? [s[2]!, s[3]!] : [s[1]!, s[2]!]);

/**
 * TensorFlow's padding as ONNX pads [top, left, bottom, right]; SAME puts the odd pixel at the end,
 * as ONNX's SAME_UPPER does, which serves inputs whose size the graph does not fix.
 */
function padAttrs(e: Emitter, inHW: [Dim, Dim], w: Window): Record<string, Attr> {
  if (typeof w.padding === 'object') {
    const [t, b, l, r] = w.padding.explicit;
    return { pads: { ints: [t, l, b, r] } };
  }
  if (w.padding === 'valid') return { pads: { ints: [0, 0, 0, 0] } };
  if (!e.fixedSizes || inHW.some((d) => d === null)) return { auto_pad: { s: 'SAME_UPPER' } };
  const before: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < 2; i++) {
    const size = inHW[i]!;
    const k = (w.kernel[i]! - 1) * w.dilations[i]! + 1;
    const out = Math.ceil(size / w.strides[i]!);
    const total = Math.max((out - 1) * w.strides[i]! + k - size, 0);
    before.push(Math.floor(total / 2));
    after.push(total - Math.floor(total / 2));
  }
  return { pads: { ints: [...before, ...after] } };
}

/** Conv with an OIHW weight (group = input channels for depthwise), bias optional. `out` is tfjs's output shape. */
export function conv(e: Emitter, x: Value, weight: string, bias: string | null, w: Window, group: number, out: Shape, hint: string): Value {
  const { input, nchw } = nchwInput(e, x, w.channelsFirst);
  const attrs: Record<string, Attr> = {
    kernel_shape: { ints: w.kernel },
    strides: { ints: w.strides },
    dilations: { ints: w.dilations },
    group: { i: group },
    ...padAttrs(e, spatial(x.shape, w.channelsFirst), w),
  };
  return e.op('Conv', [input, weight, ...(bias ? [bias] : [])], attrs, { dtype: 'float32', shape: out, nchw }, hint);
}

/**
 * ConvTranspose with an [in, out, kh, kw] weight to tfjs's output size: TensorFlow crops the full
 * result by the forward convolution's padding (SAME: half of it, rounded down, at the start), and
 * pads at the end when the output is larger than the full result.
 */
export function convTranspose(e: Emitter, x: Value, weight: string, bias: string | null, w: Window, out: Shape, hint: string): Value {
  const { input, nchw } = nchwInput(e, x, w.channelsFirst);
  const inHW = spatial(x.shape, w.channelsFirst);
  const outHW = spatial(out, w.channelsFirst);
  if ([...inHW, ...outHW].some((d) => d === null))
    throw new UnsupportedError(
      `${hint}: a transposed convolution needs fixed spatial sizes (got [${x.shape.join(', ')}] -> [${out.join(', ')}])`,
    );
  const begin: number[] = [];
  const end: number[] = [];
  const extra: number[] = [];
  for (let i = 0; i < 2; i++) {
    const [n, o, s] = [inHW[i]!, outHW[i]!, w.strides[i]!];
    const k = (w.kernel[i]! - 1) * w.dilations[i]! + 1;
    const full = (n - 1) * s + k;
    let before = 0;
    if (typeof w.padding === 'object') before = i === 0 ? w.padding.explicit[0] : w.padding.explicit[2];
    else if (w.padding === 'same') before = Math.floor(Math.max((n - 1) * s + k - o, 0) / 2);
    begin.push(before);
    end.push(Math.max(full - before - o, 0));
    extra.push(Math.max(o - (full - before), 0));
  }
  const attrs: Record<string, Attr> = {
    kernel_shape: { ints: w.kernel },
    strides: { ints: w.strides },
    dilations: { ints: w.dilations },
    pads: { ints: [...begin, ...end] },
    ...(extra.some((p) => p > 0) ? { output_padding: { ints: extra } } : {}),
  };
  return e.op('ConvTranspose', [input, weight, ...(bias ? [bias] : [])], attrs, { dtype: 'float32', shape: out, nchw }, hint);
}

/** MaxPool / AveragePool (TensorFlow's average ignores the padding, as ONNX's count_include_pad=0 does). */
export function pool(e: Emitter, type: 'MaxPool' | 'AveragePool', x: Value, w: Window, out: Shape, hint: string): Value {
  const { input, nchw } = nchwInput(e, x, w.channelsFirst);
  const attrs: Record<string, Attr> = {
    kernel_shape: { ints: w.kernel },
    strides: { ints: w.strides },
    ...padAttrs(e, spatial(x.shape, w.channelsFirst), w),
  };
  return e.op(type, [input], attrs, { dtype: 'float32', shape: out, nchw }, hint);
}

/** Global pooling to [N, C] (keepDims: [N, 1, 1, C], or [N, C, 1, 1] channels-first). */
export function globalPool(
  e: Emitter,
  type: 'GlobalAveragePool' | 'GlobalMaxPool',
  x: Value,
  channelsFirst: boolean,
  keepDims: boolean,
  out: Shape,
  hint: string,
): Value {
  const { input, nchw } = nchwInput(e, x, channelsFirst);
  const pooled = e.op(type, [input], {}, { dtype: 'float32', shape: channelsFirst ? out : [x.shape[0]!, 1, 1, x.shape[3]!], nchw }, hint);
  if (keepDims) return pooled;
  return e.op('Flatten', [pooled], { axis: { i: 1 } }, { dtype: 'float32', shape: out });
}

/** Zero padding of the spatial dims: [[top, bottom], [left, right]]. */
export function pad2d(e: Emitter, x: Value, [[t, b], [l, r]]: number[][], channelsFirst: boolean, out: Shape): Value {
  const { input, nchw } = nchwInput(e, x, channelsFirst);
  return e.op('Pad', [input, e.int64([0, 0, t!, l!, 0, 0, b!, r!])], { mode: { s: 'constant' } }, { dtype: x.dtype, shape: out, nchw });
}

/** Cropping of the spatial dims: [[top, bottom], [left, right]]. */
export function crop2d(e: Emitter, x: Value, [[t, b], [l, r]]: number[][], channelsFirst: boolean, out: Shape): Value {
  const { input, nchw } = nchwInput(e, x, channelsFirst);
  const end = (n: number): number => (n > 0 ? -n : 2 ** 62);
  return e.op('Slice', [input, e.int64([t!, l!]), e.int64([end(b!), end(r!)]), e.int64([2, 3])], {}, { dtype: x.dtype, shape: out, nchw });
}

export type Interpolation = { mode: 'nearest' | 'linear'; alignCorners: boolean; halfPixelCenters: boolean };

/** Resize of the spatial dims to tfjs's output size, with TensorFlow's coordinate conventions. */
export function resize(e: Emitter, x: Value, how: Interpolation, channelsFirst: boolean, out: Shape, hint: string): Value {
  const { input, nchw } = nchwInput(e, x, channelsFirst);
  const [h, w] = spatial(out, channelsFirst);
  if (h === null || w === null) throw new UnsupportedError(`${hint}: resizing needs a fixed output size`);
  const batchAndChannels = e.op(
    'Slice',
    [e.op('Shape', [input], {}, { dtype: 'int64', shape: [4] }), e.int64([0]), e.int64([2])],
    {},
    { dtype: 'int64', shape: [2] },
  );
  const sizes = e.op('Concat', [batchAndChannels, e.int64([h, w])], { axis: { i: 0 } }, { dtype: 'int64', shape: [4] });
  const transform = how.alignCorners ? 'align_corners' : how.halfPixelCenters ? 'half_pixel' : 'asymmetric';
  const attrs: Record<string, Attr> = { mode: { s: how.mode }, coordinate_transformation_mode: { s: transform } };
  // TensorFlow's nearest pixel: round(x) with align_corners, floor((x + 0.5) / scale) with half-pixel
  // centers (= half_pixel's (x + 0.5) / scale - 0.5, rounded half up), else floor(x / scale).
  if (how.mode === 'nearest') attrs.nearest_mode = { s: how.alignCorners || how.halfPixelCenters ? 'round_prefer_ceil' : 'floor' };
  return e.op('Resize', [input, '', '', sizes], attrs, { dtype: 'float32', shape: out, nchw }, hint);
}
