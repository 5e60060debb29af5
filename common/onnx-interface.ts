// The one reader of an ONNX file's interface (inputs, outputs, opsets, producer) and metadata_props,
// for every stage: `onnxgan info`, export, eval, the server and the browser. Browser-safe and without
// a protobuf library: it walks ModelProto's top level and GraphProto's inputs, outputs and
// initializer names, skipping everything else (nodes, weights) by length, so it costs the same on a
// 1 KB or a 1 GB file. Validation of onnxgan's own metadata is common/metadata.ts.

/**
 * One input or output: its element type as onnxruntime names it, and its dims (numbers, symbolic names, '?' when unnamed);
 * null shape: rank unknown.
 */
export interface TensorSpec {
  name: string;
  dtype: string;
  shape: (number | string)[] | null;
}

export interface OnnxInterface {
  irVersion: number;
  /** The default (ai.onnx) domain's opset. */
  opset: number;
  /** Every imported opset, the default domain as ''. */
  opsets: { domain: string; version: number }[];
  producer: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** All metadata_props, including keys onnxgan does not interpret. */
  props: Record<string, string>;
}

/** Field numbers of onnx.proto3 that the walk reads. */
const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, graph: 7, opsetImport: 8, metadataProps: 14 };
const GRAPH = { initializer: 5, input: 11, output: 12 };
const TENSOR_NAME = 8; // TensorProto.name
const TYPE = { tensor: 1, sequence: 4, map: 5, optional: 9 }; // TypeProto's oneof (sparse_tensor 8: 'unknown')
const WIRE = { varint: 0, i64: 1, len: 2, i32: 5 };

/** TensorProto.DataType, spelled as onnxruntime's tensor types (FLOAT -> float32). */
const DTYPES = (
  'undefined float32 uint8 int8 uint16 int16 int32 int64 string bool float16 float64 uint32 uint64 complex64 complex128 ' +
  'bfloat16 float8e4m3fn float8e4m3fnuz float8e5m2 float8e5m2fnuz uint4 int4 float4e2m1'
).split(' ');

const utf8 = new TextDecoder();

/** A protobuf message's fields, in order: number, wire type, and the varint value or the bytes. */
function* fields(bytes: Uint8Array): Generator<{ field: number; wire: number; value: number; bytes: Uint8Array }> {
  let pos = 0;
  const varint = (): number => {
    // Tags, lengths and small values fit 4 bytes: plain numbers; longer ones in BigInt (int64's
    // negative values take 10 bytes).
    const start = pos;
    let small = 0;
    for (let shift = 0; shift < 28 && pos < bytes.length; shift += 7) {
      const b = bytes[pos++]!;
      small |= (b & 0x7f) << shift;
      if (b < 0x80) return small;
    }
    pos = start;
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= bytes.length) throw new Error('truncated varint');
      const b = bytes[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return Number(BigInt.asIntN(64, result));
    }
    throw new Error('varint too long');
  };
  const take = (n: number): Uint8Array => {
    if (n < 0 || pos + n > bytes.length) throw new Error('truncated field');
    return bytes.subarray(pos, (pos += n));
  };
  const none = bytes.subarray(0, 0);
  while (pos < bytes.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === WIRE.varint) yield { field, wire, value: varint(), bytes: none };
    else if (wire === WIRE.len) yield { field, wire, value: 0, bytes: take(varint()) };
    else if (wire === WIRE.i64) yield { field, wire, value: 0, bytes: take(8) };
    else if (wire === WIRE.i32) yield { field, wire, value: 0, bytes: take(4) };
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

/** Length-delimited fields `n` of a message as bytes, and varint fields as numbers (the last one wins, as in protobuf). */
function read(bytes: Uint8Array): {
  all(n: number): Uint8Array[];
  one(n: number): Uint8Array | undefined;
  num(n: number): number | undefined;
  str(n: number): string;
} {
  const len = new Map<number, Uint8Array[]>();
  const nums = new Map<number, number>();
  for (const f of fields(bytes)) {
    if (f.wire === WIRE.len) (len.get(f.field) ?? len.set(f.field, []).get(f.field)!).push(f.bytes);
    else if (f.wire === WIRE.varint) nums.set(f.field, f.value);
  }
  const one = (n: number): Uint8Array | undefined => len.get(n)?.at(-1);
  return { all: (n) => len.get(n) ?? [], one, num: (n) => nums.get(n), str: (n) => utf8.decode(one(n) ?? new Uint8Array()) };
}

function tensorSpec(valueInfo: Uint8Array): TensorSpec {
  const v = read(valueInfo);
  const name = v.str(1);
  const type = read(v.one(2) ?? new Uint8Array());
  const tensor = type.one(TYPE.tensor);
  if (!tensor) {
    const dtype = type.one(TYPE.sequence) ? 'sequence' : type.one(TYPE.map) ? 'map' : type.one(TYPE.optional) ? 'optional' : 'unknown';
    return { name, dtype, shape: null };
  }
  const t = read(tensor);
  const elem = t.num(1) ?? 0;
  const shape = t.one(2);
  return {
    name,
    dtype: DTYPES[elem] ?? `type ${elem}`,
    // Dimension: dim_value (1) or dim_param (2), neither when unknown.
    shape: shape
      ? read(shape)
          .all(1)
          .map((d) => {
            const dim = read(d);
            return dim.num(1) ?? (dim.str(2) || '?');
          })
      : null,
  };
}

/** The interface and metadata_props of ONNX bytes; throws "not a valid ONNX file (why)" when they are not one. */
export function readOnnxInterface(bytes: Uint8Array): OnnxInterface {
  try {
    return walk(bytes);
  } catch (e) {
    throw new Error(`not a valid ONNX file (${(e as Error).message})`);
  }
}

function walk(bytes: Uint8Array): OnnxInterface {
  const model = read(bytes);
  const g = model.one(MODEL.graph);
  if (!g) throw new Error('no graph');
  const graph = read(g);
  const opsets = model.all(MODEL.opsetImport).map((o) => {
    const r = read(o);
    return { domain: r.str(1), version: r.num(2) ?? 0 };
  });
  // Files before IR 4 list the weights among the inputs too: those are not the interface.
  const weights = new Set(graph.all(GRAPH.initializer).map((t) => read(t).str(TENSOR_NAME)));
  return {
    irVersion: model.num(MODEL.irVersion) ?? 0,
    opset: opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0,
    opsets,
    producer: `${model.str(MODEL.producerName)} ${model.str(MODEL.producerVersion)}`.trim(),
    inputs: graph
      .all(GRAPH.input)
      .map(tensorSpec)
      .filter((t) => !weights.has(t.name)),
    outputs: graph.all(GRAPH.output).map(tensorSpec),
    props: Object.fromEntries(
      model.all(MODEL.metadataProps).map((p) => {
        const r = read(p);
        return [r.str(1), r.str(2)];
      }),
    ),
  };
}
