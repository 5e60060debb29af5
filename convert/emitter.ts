// Tensors of the graph being converted, with their tfjs dtype and shape, on top of GraphBuilder.
// tfjs is channels-last; ONNX's Conv, pooling and Resize are channels-first. A rank-4 value may be
// stored NCHW ("nchw") while tfjs sees it as NHWC: consecutive convolutions, activations and
// per-channel arithmetic then need no transposes, and one is inserted only where an op depends on the
// tfjs layout (reshape, dense, concatenation along another axis, graph outputs).
import { ELEM, GraphBuilder, type Attr } from '../common/onnx-graph.js';

/** tfjs dtypes, and int64 for ONNX's shape tensors inside the graph. */
export type DType = 'float32' | 'int32' | 'bool' | 'int64';
export type Dim = number | null;
export type Shape = Dim[];

/** Known contents of a tensor (a weight or a graph constant). */
export interface Constant {
  dtype: DType;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
  /** Original float16 bits (tfjs float16-quantized weights), kept with --keep-fp16. */
  half?: Uint16Array;
}

export const elemOf = (d: DType): number => ({ float32: ELEM.float, int32: ELEM.int32, bool: ELEM.bool, int64: ELEM.int64 })[d];

/** NHWC axis -> its position in NCHW storage. */
export const NCHW_AXIS = [0, 2, 3, 1];
export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];

export class Value {
  private materialised: string | undefined;
  constructor(
    private readonly source: string | (() => string),
    readonly dtype: DType,
    /** The tfjs shape (null: not fixed, e.g. the batch). */
    readonly shape: Shape,
    /** Rank 4, stored NCHW while tfjs sees NHWC. */
    readonly nchw = false,
    readonly constant?: Constant,
  ) {}
  /** The ONNX tensor name (a constant becomes an initializer when first used). */
  get name(): string {
    return (this.materialised ??= typeof this.source === 'string' ? this.source : this.source());
  }
  get rank(): number {
    return this.shape.length;
  }
  /** The shape as stored. */
  get stored(): Shape {
    const s = this.shape;
    return this.nchw ? [s[0]!, s[3]!, s[1]!, s[2]!] : s;
  }
  /** Axis (negative counts from the end) in storage order. */
  storedAxis(axis: number): number {
    const a = axis < 0 ? axis + this.rank : axis;
    return this.nchw ? NCHW_AXIS[a]! : a;
  }
}

export interface EmitterOptions {
  /** Keep float16 weights as float16 initializers (cast to float32 in the graph). */
  keepFp16?: boolean;
  /**
   * The shapes are the model's (LayersModel), not those of one probe run of a graph whose inputs
   * have open sizes other than the batch: only then may sizes become constants of the graph.
   */
  fixedSizes?: boolean;
}

export class Emitter {
  readonly g = new GraphBuilder('fp32');
  private readonly transposed = new Map<Value, Value>();
  private readonly int64s = new Map<string, string>();

  readonly fixedSizes: boolean;

  constructor(private readonly opts: EmitterOptions = {}) {
    this.fixedSizes = opts.fixedSizes ?? true;
  }

  input(name: string, dtype: DType, dims: (number | string)[], shape: Shape): Value {
    return new Value(this.g.input(name, elemOf(dtype), dims), dtype, shape);
  }

  /** A graph output under its public name, in the tfjs layout. */
  output(v: Value, name: string, dims: (number | string)[]): void {
    this.g.node('Identity', [this.logical(v).name], {}, name);
    this.g.output(name, elemOf(v.dtype), dims);
  }

  /** One node with one output. `nchw` says the output is stored NCHW (then `shape` is still tfjs's). */
  op(
    type: string,
    inputs: (Value | string)[],
    attrs: Record<string, Attr>,
    out: { dtype: DType; shape: Shape; nchw?: boolean },
    hint = type,
  ): Value {
    const name = this.g.node(
      type,
      inputs.map((i) => (typeof i === 'string' ? i : i.name)),
      attrs,
      this.g.name(hint),
    );
    return new Value(name, out.dtype, out.shape, out.nchw ?? false);
  }

  /** One node with several outputs. */
  ops(type: string, inputs: (Value | string)[], attrs: Record<string, Attr>, outs: { dtype: DType; shape: Shape }[]): Value[] {
    const names = this.g.multiNode(
      type,
      inputs.map((i) => (typeof i === 'string' ? i : i.name)),
      attrs,
      outs.length,
    );
    return outs.map((o, i) => new Value(names[i]!, o.dtype, o.shape));
  }

  /** A same-shape, same-layout result of an elementwise op on x. */
  unary(type: string, x: Value, attrs: Record<string, Attr> = {}): Value {
    return this.op(type, [x], attrs, { dtype: x.dtype, shape: x.shape, nchw: x.nchw });
  }

  /** A known tensor; written as an initializer only if some node uses it as a tensor. */
  constant(c: Constant, hint: string): Value {
    return new Value(() => this.initializer(c, hint), c.dtype, c.shape, false, c);
  }

  initializer(c: Constant, hint: string): string {
    if (c.dtype === 'float32') {
      if (c.half && this.opts.keepFp16) return this.g.halfWeight(hint, c.half, c.shape);
      return this.g.weight(hint, c.data as Float32Array, c.shape);
    }
    return this.g.tensor(hint, elemOf(c.dtype), c.data, c.shape);
  }

  /** A float32 constant from numbers. */
  floats(values: ArrayLike<number>, shape: number[] = [values.length], hint = 'const'): Value {
    return this.constant({ dtype: 'float32', shape, data: Float32Array.from(values) }, hint);
  }

  /** An int64 initializer (shapes, axes, pads), shared between nodes that need the same values. */
  int64(values: number[]): string {
    const key = values.join(',');
    let name = this.int64s.get(key);
    if (!name) this.int64s.set(key, (name = this.g.int64('i64', values)));
    return name;
  }

  /** x in the tfjs layout. */
  logical(x: Value): Value {
    if (!x.nchw) return x;
    let t = this.transposed.get(x);
    if (!t) this.transposed.set(x, (t = this.op('Transpose', [x], { perm: { ints: TO_NHWC } }, { dtype: x.dtype, shape: x.shape })));
    return t;
  }

  /** A rank-4 NHWC value stored NCHW. */
  toNchw(x: Value): Value {
    if (x.nchw) return x;
    if (x.rank !== 4) throw new Error(`internal: expected a rank-4 tensor, got [${x.shape.join(', ')}]`);
    let t = this.transposed.get(x);
    if (!t)
      this.transposed.set(x, (t = this.op('Transpose', [x], { perm: { ints: TO_NCHW } }, { dtype: x.dtype, shape: x.shape, nchw: true })));
    return t;
  }

  /** Cast to int64 (ONNX wants shapes, pads and repeats as int64; tfjs computes them in int32). */
  int64Of(x: Value): string {
    if (x.constant) return this.int64(Array.from(x.constant.data));
    return this.g.node('Cast', [this.logical(x).name], { to: { i: ELEM.int64 } }, this.g.name('to_int64'));
  }
}

/** Values of a constant as plain numbers. */
export const numbers = (c: Constant): number[] => Array.from(c.data);

/** A permuted copy of an n-d constant (and of its float16 bits). */
export function permute(c: Constant, perm: number[]): Constant {
  const shape = perm.map((p) => c.shape[p]!);
  const move = <T extends Float32Array | Int32Array | Uint8Array | Uint16Array>(src: T): T => {
    const out = new (src.constructor as new (n: number) => T)(src.length);
    const rank = c.shape.length;
    const inStrides = new Array<number>(rank);
    for (let i = rank - 1, s = 1; i >= 0; i--) {
      inStrides[i] = s;
      s *= c.shape[i]!;
    }
    const strides = perm.map((p) => inStrides[p]!);
    const idx = new Array<number>(rank).fill(0);
    let from = 0;
    for (let o = 0; o < out.length; o++) {
      out[o] = src[from]!;
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]!++;
        from += strides[d]!;
        if (idx[d]! < shape[d]!) break;
        from -= strides[d]! * shape[d]!;
        idx[d] = 0;
      }
    }
    return out;
  };
  return { dtype: c.dtype, shape, data: move(c.data), ...(c.half ? { half: move(c.half) } : {}) };
}

/** The same values under another shape. */
export const reshaped = (c: Constant, shape: number[]): Constant => ({ ...c, shape });
