// Each TensorFlow op of a GraphModel as ONNX nodes, with tfjs-converter's semantics (all integers
// are int32, grappler's fused ops as tfjs runs them). A mapping gets the node, its data inputs and
// the output shapes tfjs computed on a probe run, and returns its outputs.
import type { Attr } from '../common/onnx-graph.js';
import { elemOf, NCHW_AXIS, numbers, permute, reshaped, type DType, type Emitter, type Shape, type Value } from './emitter.js';
import { Attrs, type NodeDef } from './graphdef.js';
import { activation, clip } from './ops/activations.js';
import { conv, convTranspose, pool, resize, type Padding, type Window } from './ops/conv.js';
import { batchNormAffine } from '../common/batch-norm.js';
import { channelAffine, elementwise, withScalar } from './ops/elementwise.js';
import { UnsupportedError } from './ops/errors.js';

export interface OpCall {
  e: Emitter;
  node: NodeDef;
  attrs: Attrs;
  inputs: Value[];
  /** tfjs's outputs on the probe run (those the graph uses). */
  out: { shape: Shape; dtype: DType }[];
  where: string;
  /** An initializer from a constant input (permuted, reshaped), or the nodes doing it to a computed one. */
  weight(v: Value, perm: number[] | null, shape?: number[]): string;
}

type Mapping = (c: OpCall) => Value[];

const INT_MAX = 2 ** 62;
const x0 = (c: OpCall): Value => c.inputs[0]!;
const out0 = (c: OpCall): { shape: Shape; dtype: DType } => c.out[0] ?? { shape: x0(c).shape, dtype: x0(c).dtype };

/** A constant input's values (attributes ONNX wants fixed: axes, perms, pads). */
function constantOf(c: OpCall, i: number, what: string): number[] {
  const v = c.inputs[i];
  if (!v?.constant) throw new UnsupportedError(`${c.where}: its ${what} (input ${i + 1}) must be a constant`);
  return numbers(v.constant);
}

const norm = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);
const nhwc = (c: OpCall): boolean => c.attrs.string('data_format', 'NHWC') === 'NHWC';

const unary =
  (op: string, attrs: (c: OpCall) => Record<string, Attr> = () => ({})): Mapping =>
  (c) => [c.e.unary(op, x0(c), attrs(c))];
const binary =
  (op: string, dtype?: DType): Mapping =>
  (c) => [elementwise(c.e, op, c.inputs, { shape: out0(c).shape, dtype: dtype ?? out0(c).dtype })];
const act =
  (name: string): Mapping =>
  (c) => [activation(c.e, x0(c), name, c.where, c.attrs.float('alpha', 0.2))];
const passThrough: Mapping = (c) => [x0(c)];

function window(c: OpCall, kernel: [number, number], strides4: number[], dilations4: number[]): Window {
  const first = !nhwc(c);
  const hw = (v: number[]): [number, number] => (first ? [v[2]!, v[3]!] : [v[1]!, v[2]!]);
  const p = c.attrs.string('padding', 'VALID');
  let padding: Padding;
  if (p === 'SAME') padding = 'same';
  else if (p === 'VALID') padding = 'valid';
  else if (p === 'EXPLICIT') {
    const e = c.attrs.ints('explicit_paddings', []);
    const [t, b, l, r] = first ? [e[4]!, e[5]!, e[6]!, e[7]!] : [e[2]!, e[3]!, e[4]!, e[5]!];
    padding = { explicit: [t, b, l, r] };
  } else throw new UnsupportedError(`${c.where}: padding ${p} is not supported`);
  return { kernel, strides: hw(strides4), dilations: hw(dilations4), padding, channelsFirst: first };
}

/** Conv2D-like ops; `fused` reads grappler's bias/activation (as tfjs: fused_ops[0] bias, [1] activation). */
function convOp(kind: 'conv' | 'depthwise', fused: boolean): Mapping {
  return (c) => {
    const filter = c.inputs[1]!;
    const [kh, kw, channels, m] = filter.shape as number[];
    const w = window(c, [kh!, kw!], c.attrs.ints('strides', [1, 1, 1, 1]), c.attrs.ints('dilations', [1, 1, 1, 1]));
    const weight = kind === 'conv' ? c.weight(filter, [3, 2, 0, 1]) : c.weight(filter, [2, 3, 0, 1], [channels! * m!, 1, kh!, kw!]);
    const { bias, apply } = fused ? fusedTail(c) : { bias: null, apply: (y: Value) => y };
    return [apply(conv(c.e, x0(c), weight, bias, w, kind === 'conv' ? 1 : channels!, out0(c).shape, c.node.name))];
  };
}

/** The bias and activation of a _Fused* op. */
function fusedTail(c: OpCall): { bias: string | null; apply: (y: Value) => Value } {
  const [extra, fn] = c.attrs.strings('fused_ops').map((s) => s.toLowerCase());
  const args = c.inputs.slice(2);
  if (extra === 'fusedbatchnorm')
    throw new UnsupportedError(`${c.where}: fused batch normalisation (fused_ops FusedBatchNorm) is not supported, as in tfjs`);
  const hasBias = extra === 'biasadd';
  const bias = hasBias ? c.weight(args[0]!, null) : null;
  const alpha = hasBias ? args[1] : args[0];
  const apply = (y: Value): Value => {
    if (fn === undefined || fn === 'linear') return y;
    if (fn === 'prelu') return c.e.op('PRelu', [y, preluSlope(c, y, alpha!)], {}, { dtype: 'float32', shape: y.shape, nchw: y.nchw });
    return activation(c.e, y, fn === 'leakyrelu' ? 'leakyrelu' : fn, c.where, c.attrs.float('leakyrelu_alpha', 0.2));
  };
  return { bias, apply };
}

/** A PReLU slope broadcastable to y's storage. */
function preluSlope(c: OpCall, y: Value, alpha: Value): string {
  if (!y.nchw) return c.e.logical(alpha).name;
  if (!alpha.constant) throw new UnsupportedError(`${c.where}: a computed PReLU slope is not supported`);
  const a = alpha.constant;
  const padded = reshaped(a, [...new Array<number>(4 - a.shape.length).fill(1), ...a.shape]);
  return c.e.constant(permute(padded, [0, 3, 1, 2]), 'prelu_slope').name;
}

function matmul(c: OpCall, a: Value, b: Value, ta: boolean, tb: boolean, bias: string | null): Value {
  const out = { dtype: 'float32' as const, shape: out0(c).shape };
  [a, b] = [c.e.logical(a), c.e.logical(b)];
  if (a.rank === 2 && b.rank === 2) {
    const attrs: Record<string, Attr> = {};
    if (ta) attrs.transA = { i: 1 };
    if (tb) attrs.transB = { i: 1 };
    return c.e.op('Gemm', [a, b.constant ? c.weight(b, null) : b, ...(bias ? [bias] : [])], attrs, out, c.node.name);
  }
  const swap = (v: Value): Value => {
    const perm = [...v.shape.keys()];
    [perm[v.rank - 2], perm[v.rank - 1]] = [perm[v.rank - 1]!, perm[v.rank - 2]!];
    return c.e.op('Transpose', [v], { perm: { ints: perm } }, { dtype: v.dtype, shape: perm.map((p) => v.shape[p]!) });
  };
  const y = c.e.op('MatMul', [ta ? swap(a) : a, tb ? swap(b) : b], {}, out, c.node.name);
  return bias ? c.e.op('Add', [y, bias], {}, out) : y;
}

/** Reductions over constant axes; NCHW storage is kept when the remaining axes stay in order. */
function reduce(op: string): Mapping {
  return (c) => {
    let x = x0(c);
    const axes = [...new Set(constantOf(c, 1, 'axes').map((a) => norm(a, x.rank)))];
    const keep = c.attrs.bool('keep_dims', false);
    const remaining = [...x.shape.keys()].filter((a) => !axes.includes(a));
    const orderKept = remaining.map((a) => NCHW_AXIS[a]!).every((s, i, all) => i === 0 || s > all[i - 1]!);
    const stay = x.nchw && (keep || orderKept);
    if (!stay) x = c.e.logical(x);
    const stored = axes.map((a) => x.storedAxis(a)).sort((p, q) => p - q);
    const out = { dtype: out0(c).dtype, shape: out0(c).shape, nchw: x.nchw && keep };
    const attrs = { keepdims: { i: keep ? 1 : 0 } };
    if (axes.length === 0) return [x];
    if (op === 'ReduceSum') return [c.e.op(op, [x, c.e.int64(stored)], attrs, out)];
    return [c.e.op(op, [x], { ...attrs, axes: { ints: stored } }, out)];
  };
}

/** Values of a constant or computed int tensor as int64 for ONNX (shapes, repeats). */
const asInt64 = (c: OpCall, i: number): string => c.e.int64Of(c.inputs[i]!);

function cast(c: OpCall, x: Value, to: DType): Value {
  if (x.dtype === to) return x;
  return c.e.op('Cast', [x], { to: { i: elemOf(to) } }, { dtype: to, shape: x.shape, nchw: x.nchw });
}

/** StridedSlice with constant begin/end/strides and TensorFlow's masks: Slice, then Squeeze and Unsqueeze. */
function stridedSlice(c: OpCall): Value[] {
  const x = c.e.logical(x0(c));
  const [begin, end, strides] = [constantOf(c, 1, 'begin'), constantOf(c, 2, 'end'), constantOf(c, 3, 'strides')];
  const mask = (name: string): number => c.attrs.int(name, 0);
  const [bm, em, ellipsis, newAxis, shrink] = ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map(
    mask,
  ) as number[];
  const starts: number[] = [];
  const ends: number[] = [];
  const axes: number[] = [];
  const steps: number[] = [];
  const squeeze: number[] = [];
  const final: ('new' | number)[] = []; // the output's dims: an input axis or a new one
  const consuming = begin.filter((_, i) => !((newAxis! >> i) & 1) && !((ellipsis! >> i) & 1)).length;
  let ax = 0;
  for (let i = 0; i < begin.length; i++) {
    if ((ellipsis! >> i) & 1) {
      const n = x.rank - consuming;
      for (let k = 0; k < n; k++) final.push(ax++);
      continue;
    }
    if ((newAxis! >> i) & 1) {
      final.push('new');
      continue;
    }
    const s = strides[i]!;
    if ((shrink! >> i) & 1) {
      const b = begin[i]!;
      starts.push(b);
      ends.push(b === -1 ? INT_MAX : b + 1);
      steps.push(1);
      axes.push(ax);
      squeeze.push(ax);
      ax++;
      continue;
    }
    starts.push((bm! >> i) & 1 ? (s > 0 ? 0 : INT_MAX) : begin[i]!);
    ends.push((em! >> i) & 1 ? (s > 0 ? INT_MAX : -INT_MAX) : end[i]!);
    steps.push(s);
    axes.push(ax);
    final.push(ax++);
  }
  while (ax < x.rank) final.push(ax++);
  const o = out0(c);
  let y: Value = axes.length
    ? c.e.op(
        'Slice',
        [x, c.e.int64(starts), c.e.int64(ends), c.e.int64(axes), c.e.int64(steps)],
        {},
        { dtype: x.dtype, shape: o.shape },
        c.node.name,
      )
    : x;
  if (squeeze.length) y = c.e.op('Squeeze', [y, c.e.int64(squeeze)], {}, { dtype: x.dtype, shape: o.shape });
  const added = final.flatMap((d, i) => (d === 'new' ? [i] : []));
  if (added.length) y = c.e.op('Unsqueeze', [y, c.e.int64(added)], {}, { dtype: x.dtype, shape: o.shape });
  return [y];
}

function fusedBatchNorm(c: OpCall): Value[] {
  const [x, scale, offset, mean, variance] = c.inputs as [Value, Value, Value, Value, Value];
  const eps = c.attrs.float('epsilon', 0.001);
  const axis = nhwc(c) ? -1 : 1;
  if (scale.constant && offset.constant && mean.constant && variance.constant) {
    const { scale: s, shift } = batchNormAffine(scale.constant.data, offset.constant.data, mean.constant.data, variance.constant.data, eps);
    return [channelAffine(c.e, x, s, shift, axis, c.node.name)];
  }
  // (x - mean) / sqrt(variance + eps) * scale + offset, with computed statistics.
  const along = (v: Value): Value =>
    axis === 1 ? c.e.op('Reshape', [v, c.e.int64([-1, 1, 1])], {}, { dtype: 'float32', shape: [v.shape[0]!, 1, 1] }) : v;
  const shape = { shape: x.shape };
  const std = c.e.unary('Sqrt', withScalar(c.e, 'Add', along(variance), eps));
  const normed = elementwise(c.e, 'Div', [elementwise(c.e, 'Sub', [x, along(mean)], shape), std], shape);
  return [elementwise(c.e, 'Add', [elementwise(c.e, 'Mul', [normed, along(scale)], shape), along(offset)], shape)];
}

function concat(c: OpCall, values: Value[], axis: number): Value {
  const rank = values[0]!.rank;
  const a = norm(axis, rank);
  const o = out0(c);
  if (rank === 4 && values.every((v) => v.nchw))
    return c.e.op('Concat', values, { axis: { i: values[0]!.storedAxis(a) } }, { dtype: o.dtype, shape: o.shape, nchw: true });
  return c.e.op(
    'Concat',
    values.map((v) => c.e.logical(v)),
    { axis: { i: a } },
    { dtype: o.dtype, shape: o.shape },
    c.node.name,
  );
}

function pad(c: OpCall, mode: 'constant' | 'reflect'): Value[] {
  const x = x0(c);
  const p = constantOf(c, 1, 'paddings');
  const r = x.rank;
  const before = Array.from({ length: r }, (_, i) => p[2 * i]!);
  const after = Array.from({ length: r }, (_, i) => p[2 * i + 1]!);
  const order = x.nchw ? [0, 3, 1, 2] : [...before.keys()];
  const inputs = [x.name, c.e.int64([...order.map((i) => before[i]!), ...order.map((i) => after[i]!)])];
  if (c.inputs[2]) inputs.push(c.inputs[2].name);
  return [c.e.op('Pad', inputs, { mode: { s: mode } }, { dtype: x.dtype, shape: out0(c).shape, nchw: x.nchw }, c.node.name)];
}

function resizeOp(mode: 'nearest' | 'linear'): Mapping {
  return (c) => [
    resize(
      c.e,
      x0(c),
      { mode, alignCorners: c.attrs.bool('align_corners', false), halfPixelCenters: c.attrs.bool('half_pixel_centers', false) },
      false,
      out0(c).shape,
      c.node.name,
    ),
  ];
}

export const TF_OPS: Record<string, Mapping> = {
  Identity: passThrough,
  StopGradient: passThrough,
  Snapshot: passThrough,
  PlaceholderWithDefault: passThrough,
  IdentityN: (c) => c.inputs,

  Add: binary('Add'),
  AddV2: binary('Add'),
  AddN: (c) => [elementwise(c.e, 'Sum', c.inputs, { shape: out0(c).shape })],
  BiasAdd: (c) => {
    const [x, b] = c.inputs as [Value, Value];
    const along =
      nhwc(c) || x.rank !== 4 ? b : c.e.op('Reshape', [b, c.e.int64([-1, 1, 1])], {}, { dtype: b.dtype, shape: [b.shape[0]!, 1, 1] });
    return [elementwise(c.e, 'Add', [x, along], { shape: out0(c).shape })];
  },
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  Div: binary('Div'),
  FloorDiv: (c) =>
    out0(c).dtype === 'float32'
      ? [c.e.unary('Floor', elementwise(c.e, 'Div', c.inputs, { shape: out0(c).shape }))]
      : [elementwise(c.e, 'Div', c.inputs, { shape: out0(c).shape })],
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Pow: binary('Pow'),
  SquaredDifference: (c) => {
    const d = elementwise(c.e, 'Sub', c.inputs, { shape: out0(c).shape });
    return [elementwise(c.e, 'Mul', [d, d], { shape: d.shape })];
  },
  Greater: binary('Greater', 'bool'),
  GreaterEqual: binary('GreaterOrEqual', 'bool'),
  Less: binary('Less', 'bool'),
  LessEqual: binary('LessOrEqual', 'bool'),
  Equal: binary('Equal', 'bool'),
  NotEqual: (c) => [c.e.unary('Not', elementwise(c.e, 'Equal', c.inputs, { shape: out0(c).shape, dtype: 'bool' }))],
  LogicalAnd: binary('And', 'bool'),
  LogicalOr: binary('Or', 'bool'),
  LogicalNot: unary('Not'),
  SelectV2: (c) => [elementwise(c.e, 'Where', c.inputs, { shape: out0(c).shape, dtype: c.inputs[1]!.dtype })],
  Select: (c) => {
    if (c.inputs[0]!.rank !== c.inputs[1]!.rank)
      throw new UnsupportedError(`${c.where}: Select with a lower-rank condition is not supported (SelectV2 is)`);
    return [elementwise(c.e, 'Where', c.inputs, { shape: out0(c).shape, dtype: c.inputs[1]!.dtype })];
  },

  Relu: act('relu'),
  Relu6: (c) => [clip(c.e, x0(c), 0, 6)],
  Elu: act('elu'),
  Selu: act('selu'),
  LeakyRelu: act('leakyrelu'),
  Sigmoid: act('sigmoid'),
  Tanh: act('tanh'),
  Softplus: act('softplus'),
  Softmax: act('softmax'),
  LogSoftmax: act('logsoftmax'),
  Prelu: (c) => [
    c.e.op('PRelu', [x0(c), preluSlope(c, x0(c), c.inputs[1]!)], {}, { dtype: 'float32', shape: x0(c).shape, nchw: x0(c).nchw }),
  ],
  Exp: unary('Exp'),
  Log: unary('Log'),
  Neg: unary('Neg'),
  Abs: unary('Abs'),
  Sqrt: unary('Sqrt'),
  Rsqrt: (c) => [c.e.unary('Reciprocal', c.e.unary('Sqrt', x0(c)))],
  Square: (c) => [elementwise(c.e, 'Mul', [x0(c), x0(c)], { shape: x0(c).shape })],
  Reciprocal: unary('Reciprocal'),
  Floor: unary('Floor'),
  Ceil: unary('Ceil'),
  Round: unary('Round'),
  Sign: unary('Sign'),
  Erf: unary('Erf'),
  Sin: unary('Sin'),
  Cos: unary('Cos'),

  MatMul: (c) => [matmul(c, c.inputs[0]!, c.inputs[1]!, c.attrs.bool('transpose_a', false), c.attrs.bool('transpose_b', false), null)],
  BatchMatMul: (c) => [matmul(c, c.inputs[0]!, c.inputs[1]!, c.attrs.bool('adj_x', false), c.attrs.bool('adj_y', false), null)],
  BatchMatMulV2: (c) => [matmul(c, c.inputs[0]!, c.inputs[1]!, c.attrs.bool('adj_x', false), c.attrs.bool('adj_y', false), null)],
  _FusedMatMul: (c) => {
    const { bias, apply } = fusedTail(c);
    return [apply(matmul(c, c.inputs[0]!, c.inputs[1]!, c.attrs.bool('transpose_a', false), c.attrs.bool('transpose_b', false), bias))];
  },

  Conv2D: convOp('conv', false),
  _FusedConv2D: convOp('conv', true),
  DepthwiseConv2dNative: convOp('depthwise', false),
  FusedDepthwiseConv2dNative: convOp('depthwise', true),
  Conv2DBackpropInput: (c) => {
    const [, filter, x] = c.inputs as [Value, Value, Value];
    if (!nhwc(c)) throw new UnsupportedError(`${c.where}: NCHW transposed convolutions are not supported`);
    const [kh, kw] = filter.shape as number[];
    const w = window(c, [kh!, kw!], c.attrs.ints('strides', [1, 1, 1, 1]), [1, 1, 1, 1]); // tfjs ignores dilations here
    return [convTranspose(c.e, x, c.weight(filter, [3, 2, 0, 1]), null, w, out0(c).shape, c.node.name)];
  },
  FusedBatchNorm: fusedBatchNorm,
  FusedBatchNormV2: fusedBatchNorm,
  FusedBatchNormV3: fusedBatchNorm,
  MaxPool: (c) => {
    const k = c.attrs.ints('ksize', [1, 1, 1, 1]);
    const w = window(c, nhwc(c) ? [k[1]!, k[2]!] : [k[2]!, k[3]!], c.attrs.ints('strides', [1, 1, 1, 1]), [1, 1, 1, 1]);
    return [pool(c.e, 'MaxPool', x0(c), w, out0(c).shape, c.node.name)];
  },
  AvgPool: (c) => {
    const k = c.attrs.ints('ksize', [1, 1, 1, 1]);
    const w = window(c, nhwc(c) ? [k[1]!, k[2]!] : [k[2]!, k[3]!], c.attrs.ints('strides', [1, 1, 1, 1]), [1, 1, 1, 1]);
    return [pool(c.e, 'AveragePool', x0(c), w, out0(c).shape, c.node.name)];
  },
  ResizeBilinear: resizeOp('linear'),
  ResizeNearestNeighbor: resizeOp('nearest'),

  Mean: reduce('ReduceMean'),
  Sum: reduce('ReduceSum'),
  Max: reduce('ReduceMax'),
  Min: reduce('ReduceMin'),
  Prod: reduce('ReduceProd'),
  ArgMax: (c) => {
    const x = c.e.logical(x0(c));
    const axis = norm(constantOf(c, 1, 'axis')[0]!, x.rank);
    const i64 = c.e.op('ArgMax', [x], { axis: { i: axis }, keepdims: { i: 0 } }, { dtype: 'int64', shape: out0(c).shape });
    return [cast(c, i64, 'int32')];
  },

  Reshape: (c) => [c.e.op('Reshape', [c.e.logical(x0(c)).name, asInt64(c, 1)], { allowzero: { i: 1 } }, out0(c), c.node.name)],
  Squeeze: (c) => {
    const x = c.e.logical(x0(c));
    let axes = c.attrs.ints('squeeze_dims', c.attrs.ints('axis', [])).map((a) => norm(a, x.rank));
    if (!axes.length) axes = [...x.shape.keys()].filter((a) => x.shape[a] === 1);
    return [c.e.op('Squeeze', [x, c.e.int64(axes)], {}, out0(c))];
  },
  ExpandDims: (c) => {
    const x = c.e.logical(x0(c));
    return [c.e.op('Unsqueeze', [x, c.e.int64([norm(constantOf(c, 1, 'axis')[0]!, x.rank + 1)])], {}, out0(c))];
  },
  Shape: (c) => {
    const x = x0(c);
    let s = c.e.op('Shape', [x], {}, { dtype: 'int64', shape: [x.rank] });
    if (x.nchw) s = c.e.op('Gather', [s, c.e.int64([0, 2, 3, 1])], { axis: { i: 0 } }, { dtype: 'int64', shape: [4] });
    return [cast(c, s, 'int32')];
  },
  Cast: (c) => [cast(c, x0(c), c.attrs.dtype('DstT', 'float32'))],
  Transpose: (c) => [c.e.op('Transpose', [c.e.logical(x0(c))], { perm: { ints: constantOf(c, 1, 'perm') } }, out0(c), c.node.name)],
  ConcatV2: (c) => [concat(c, c.inputs.slice(0, -1), constantOf(c, c.inputs.length - 1, 'axis')[0]!)],
  Concat: (c) => [concat(c, c.inputs.slice(1), constantOf(c, 0, 'axis')[0]!)],
  Pack: (c) => {
    const rank = x0(c).rank;
    const axis = norm(c.attrs.int('axis', 0), rank + 1);
    const rows = c.inputs.map((v) => {
      const l = c.e.logical(v);
      return c.e.op(
        'Unsqueeze',
        [l, c.e.int64([axis])],
        {},
        { dtype: l.dtype, shape: [...l.shape.slice(0, axis), 1, ...l.shape.slice(axis)] },
      );
    });
    return [c.e.op('Concat', rows, { axis: { i: axis } }, out0(c), c.node.name)];
  },
  Unpack: (c) => {
    const x = c.e.logical(x0(c));
    const axis = norm(c.attrs.int('axis', 0), x.rank);
    const n = c.attrs.int('num', x.shape[axis] ?? 0);
    const parts = c.e.ops(
      'Split',
      [x, c.e.int64(new Array<number>(n).fill(1))],
      { axis: { i: axis } },
      Array.from({ length: n }, () => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? 1 : d)) })),
    );
    return parts.map((p, i) =>
      c.e.op('Squeeze', [p, c.e.int64([axis])], {}, c.out[i] ?? { dtype: x.dtype, shape: x.shape.filter((_, k) => k !== axis) }),
    );
  },
  Split: (c) => {
    const x = c.e.logical(c.inputs[1]!);
    const axis = norm(constantOf(c, 0, 'axis')[0]!, x.rank);
    const n = c.attrs.int('num_split', 1);
    const size = x.shape[axis];
    if (size === null || size === undefined) throw new UnsupportedError(`${c.where}: splitting an axis of unknown size is not supported`);
    return c.e.ops(
      'Split',
      [x, c.e.int64(new Array<number>(n).fill(size / n))],
      { axis: { i: axis } },
      Array.from({ length: n }, (_, i) => c.out[i] ?? { dtype: x.dtype, shape: x.shape }),
    );
  },
  SplitV: (c) => {
    const x = c.e.logical(x0(c));
    const axis = norm(constantOf(c, 2, 'axis')[0]!, x.rank);
    let sizes = constantOf(c, 1, 'size_splits');
    const known = sizes.filter((s) => s >= 0).reduce((a, b) => a + b, 0);
    sizes = sizes.map((s) => (s < 0 ? (x.shape[axis] ?? 0) - known : s));
    return c.e.ops(
      'Split',
      [x, c.e.int64(sizes)],
      { axis: { i: axis } },
      sizes.map((_, i) => c.out[i] ?? { dtype: x.dtype, shape: x.shape }),
    );
  },
  Slice: (c) => {
    const x = c.e.logical(x0(c));
    const [begin, size] = [constantOf(c, 1, 'begin'), constantOf(c, 2, 'size')];
    const ends = begin.map((b, i) => (size[i]! < 0 ? INT_MAX : b + size[i]!));
    return [c.e.op('Slice', [x, c.e.int64(begin), c.e.int64(ends), c.e.int64([...begin.keys()])], {}, out0(c), c.node.name)];
  },
  StridedSlice: stridedSlice,
  GatherV2: (c) => {
    if (c.attrs.int('batch_dims', 0) !== 0) throw new UnsupportedError(`${c.where}: GatherV2 with batch_dims is not supported`);
    const params = c.e.logical(x0(c));
    const axis = norm(constantOf(c, 2, 'axis')[0]!, params.rank);
    return [c.e.op('Gather', [params, c.e.logical(c.inputs[1]!)], { axis: { i: axis } }, out0(c), c.node.name)];
  },
  Tile: (c) => [c.e.op('Tile', [c.e.logical(x0(c)).name, asInt64(c, 1)], {}, out0(c))],
  Fill: (c) => [c.e.op('Expand', [c.inputs[1]!.name, asInt64(c, 0)], {}, out0(c))],
  ZerosLike: (c) => [
    c.e.op(
      'Expand',
      [
        c.e.constant({ dtype: x0(c).dtype, shape: [], data: new (x0(c).dtype === 'float32' ? Float32Array : Int32Array)(1) }, 'zero'),
        c.e.op('Shape', [c.e.logical(x0(c))], {}, { dtype: 'int64', shape: [x0(c).rank] }),
      ],
      {},
      out0(c),
    ),
  ],
  OnesLike: (c) => [
    c.e.op(
      'Expand',
      [
        c.e.constant({ dtype: x0(c).dtype, shape: [], data: (x0(c).dtype === 'float32' ? Float32Array : Int32Array).of(1) }, 'one'),
        c.e.op('Shape', [c.e.logical(x0(c))], {}, { dtype: 'int64', shape: [x0(c).rank] }),
      ],
      {},
      out0(c),
    ),
  ],
  Pad: (c) => pad(c, 'constant'),
  PadV2: (c) => pad(c, 'constant'),
  MirrorPad: (c) => {
    const mode = c.attrs.string('mode', 'REFLECT');
    if (mode !== 'REFLECT') throw new UnsupportedError(`${c.where}: MirrorPad mode ${mode} is not supported (REFLECT is)`);
    return pad(c, 'reflect');
  },
};

/** Ops the walk handles itself. */
export const GRAPH_OPS = ['Placeholder', 'Const', 'NoOp'];
export const SUPPORTED_OPS = [...GRAPH_OPS, ...Object.keys(TF_OPS)];
