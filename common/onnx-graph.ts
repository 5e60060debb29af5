// A small builder for ONNX graphs on top of onnx-proto's generated protobuf classes.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
export { onnx };

export const OPSET = 17;
export const IR_VERSION = 8; // the pair both onnxruntime 1.30 and python3-onnx 1.12's checker accept
export const ELEM = {
  float: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** Typed attribute values: ONNX distinguishes INT from FLOAT, so the caller says which. */
export type Attr = { f: number } | { i: number } | { ints: number[] } | { floats: number[] } | { s: string };

/** Initializer contents, stored little-endian as raw bytes (BOOL as one byte per value). */
export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;

/** float32 -> IEEE half bits (round to nearest even), for --precision fp16. */
export function toHalfBits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export class GraphBuilder {
  private nodes: onnxProto.onnx.INodeProto[] = [];
  private initializers: onnxProto.onnx.ITensorProto[] = [];
  private inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private counter = 0;

  constructor(private readonly precision: 'fp32' | 'fp16' = 'fp32') {}

  /** A fresh tensor name. */
  name(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  input(name: string, elem: number, dims: (number | string)[]): string {
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  output(name: string, elem: number, dims: (number | string)[]): void {
    this.outputs.push(valueInfo(name, elem, dims));
  }

  /**
   * A float weight. With fp16 precision it is stored as float16 and cast back to float32 in the
   * graph, so the model computes in float32 at half the file size.
   */
  weight(hint: string, data: Float32Array, dims: number[]): string {
    const name = this.name(hint);
    if (this.precision === 'fp32') {
      this.initializers.push({ name, dataType: ELEM.float, dims, rawData: bytes(data) });
      return name;
    }
    const half = Uint16Array.from(data, toHalfBits);
    this.initializers.push({ name: `${name}_fp16`, dataType: ELEM.float16, dims, rawData: bytes(half) });
    return this.node('Cast', [`${name}_fp16`], { to: { i: ELEM.float } }, name);
  }

  /** A float32 weight kept as IEEE half bits (e.g. a tfjs float16 weight), cast to float32 in the graph. */
  halfWeight(hint: string, bits: Uint16Array, dims: number[]): string {
    const name = this.name(hint);
    this.initializers.push({ name: `${name}_fp16`, dataType: ELEM.float16, dims, rawData: bytes(bits) });
    return this.node('Cast', [`${name}_fp16`], { to: { i: ELEM.float } }, name);
  }

  /** An initializer of any element type, stored as given (no precision change). */
  tensor(hint: string, elem: number, data: TensorData, dims: number[]): string {
    const name = this.name(hint);
    this.initializers.push({ name, dataType: elem, dims, rawData: bytes(data) });
    return name;
  }

  /** A node with several outputs; returns their names. */
  multiNode(op: string, inputs: string[], attrs: Record<string, Attr>, outputs: number): string[] {
    const names = Array.from({ length: outputs }, () => this.name(op.toLowerCase()));
    this.nodes.push({
      opType: op,
      name: `${op}_${this.nodes.length}`,
      input: inputs,
      output: names,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return names;
  }

  /** Nodes and initializers so far (for progress messages). */
  get size(): { nodes: number; initializers: number } {
    return { nodes: this.nodes.length, initializers: this.initializers.length };
  }

  int64(hint: string, values: number[]): string {
    const name = this.name(hint);
    this.initializers.push({ name, dataType: ELEM.int64, dims: [values.length], rawData: bytes(BigInt64Array.from(values.map(BigInt))) });
    return name;
  }

  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, output = this.name(op.toLowerCase())): string {
    this.nodes.push({
      opType: op,
      name: `${op}_${this.nodes.length}`,
      input: inputs,
      output: [output],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }

  /** Rename the last node's output (to give the graph output its public name). */
  renameLast(output: string): void {
    this.nodes[this.nodes.length - 1]!.output = [output];
  }

  model(graphName: string, metadata: Record<string, string>, producer: { name: string; version: string }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: producer.name,
      producerVersion: producer.version,
      graph: { name: graphName, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function bytes(a: TensorData): Uint8Array {
  // Copy: protobuf keeps a view, and typed arrays are little-endian on every platform Node runs on.
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

function valueInfo(name: string, elem: number, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: elem, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function attribute(name: string, v: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('s' in v) return { name, type: T.STRING, s: new TextEncoder().encode(v.s) };
  if ('ints' in v) return { name, type: T.INTS, ints: v.ints };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  if ('i' in v) return { name, type: T.INT, i: v.i };
  return { name, type: T.FLOAT, f: v.f };
}

/** A one-node float32 Gemm graph, Y = op(A) op(B), for running matrix products on onnxruntime's MLAS. */
export function gemmModel(transA: boolean, transB: boolean): Uint8Array {
  const g = new GraphBuilder();
  g.input('A', ELEM.float, ['a0', 'a1']);
  g.input('B', ELEM.float, ['b0', 'b1']);
  g.node('Gemm', ['A', 'B'], { transA: { i: Number(transA) }, transB: { i: Number(transB) } }, 'Y');
  g.output('Y', ELEM.float, ['m', 'n']);
  return g.model('gemm', {}, { name: 'onnxgan', version: '0' });
}
