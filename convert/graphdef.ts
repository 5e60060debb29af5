// A TensorFlow GraphDef in the JSON form tfjs-converter writes (protobuf JSON: int64 as strings,
// bytes as base64): nodes, their data inputs ("name" or "name:k"; "^name" is a control edge) and
// their attributes.
import type { DType } from './emitter.js';
import { cycleText, findCycle } from './cycles.js';
import { declaredValues, MAX_TENSOR_VALUES } from './limits.js';
import { UnsupportedError } from './ops/errors.js';

export interface AttrValue {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  list?: { s?: string[]; i?: (string | number)[]; f?: number[]; type?: string[] };
  tensor?: TensorProtoJson;
}

export interface TensorProtoJson {
  dtype?: string;
  tensorShape?: { dim?: { size?: string | number }[] };
  floatVal?: number[];
  intVal?: number[];
  int64Val?: (string | number)[];
  boolVal?: boolean[];
  tensorContent?: string;
}

export interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

export interface GraphDef {
  node: NodeDef[];
  library?: { function?: unknown[] };
}

const decode = (b64: string): string => Buffer.from(b64, 'base64').toString('latin1');

/** Typed attribute readers with TensorFlow's defaults when absent. */
export class Attrs {
  constructor(private readonly node: NodeDef) {}
  private get(name: string): AttrValue | undefined {
    return this.node.attr?.[name];
  }
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
  int(name: string, def: number): number {
    const v = this.get(name)?.i;
    return v === undefined ? def : Number(v);
  }
  float(name: string, def: number): number {
    const a = this.get(name);
    return a?.f ?? (a?.i !== undefined ? Number(a.i) : def);
  }
  bool(name: string, def: boolean): boolean {
    return this.get(name)?.b ?? def;
  }
  string(name: string, def: string): string {
    const s = this.get(name)?.s;
    return s === undefined ? def : decode(s);
  }
  ints(name: string, def: number[]): number[] {
    const l = this.get(name)?.list;
    return l?.i ? l.i.map(Number) : def;
  }
  strings(name: string): string[] {
    return (this.get(name)?.list?.s ?? []).map(decode);
  }
  dtype(name: string, def: DType): DType {
    const t = this.get(name)?.type;
    return t === undefined ? def : tfDtype(t, `${this.node.name} attribute ${name}`);
  }
  shape(name: string): (number | null)[] | undefined {
    const s = this.get(name)?.shape;
    if (!s || s.unknownRank) return undefined;
    return (s.dim ?? []).map((d) => (Number(d.size ?? -1) < 0 ? null : Number(d.size)));
  }
}

/** TensorFlow dtype -> tfjs dtype, as tfjs-converter maps them (all integers are int32). */
export function tfDtype(t: string, where: string): DType {
  switch (t) {
    case 'DT_FLOAT':
    case 'DT_HALF':
    case 'DT_DOUBLE':
      return 'float32';
    case 'DT_INT32':
    case 'DT_INT64':
    case 'DT_INT8':
    case 'DT_UINT8':
    case 'DT_INT16':
    case 'DT_UINT16':
      return 'int32';
    case 'DT_BOOL':
      return 'bool';
    default:
      throw new UnsupportedError(`${where}: dtype ${t} is not supported (float, integer and bool tensors are)`);
  }
}

/** A data input reference: node name and output index. */
export function parseInput(ref: string): { node: string; index: number } {
  const m = /^(.*?)(?::(\d+))?$/.exec(ref)!;
  return { node: m[1]!, index: m[2] === undefined ? 0 : Number(m[2]) };
}

/** The data inputs (not control edges) of a node. */
export const dataInputs = (n: NodeDef): string[] => (n.input ?? []).filter((i) => !i.startsWith('^'));

/** The values of a constant written inline in its attribute (tfjs-converter moves them to the weights, others may not). */
export function inlineTensor(node: NodeDef): { dtype: DType; shape: number[]; data: Float32Array | Int32Array | Uint8Array } | null {
  const t = node.attr?.value?.tensor;
  if (!t) return null;
  const dtype = tfDtype(t.dtype ?? 'DT_FLOAT', node.name);
  const shape = (t.tensorShape?.dim ?? []).map((d) => Number(d.size ?? 0));
  const n = declaredValues(shape);
  if (!Number.isFinite(n))
    throw new UnsupportedError(
      `constant "${node.name}" declares shape [${shape.join(', ')}]: not a list of sizes, or more than ${MAX_TENSOR_VALUES} values`,
    );
  const make = (values: ArrayLike<number>): Float32Array | Int32Array | Uint8Array => {
    const out = dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
    // TensorFlow repeats the last value to fill the shape.
    for (let i = 0; i < n; i++) out[i] = values.length ? values[Math.min(i, values.length - 1)]! : 0;
    return out;
  };
  if (t.tensorContent) {
    const bytes = Buffer.from(t.tensorContent, 'base64');
    const width =
      ({ DT_INT64: 8, DT_DOUBLE: 8, DT_HALF: 2, DT_INT16: 2, DT_UINT16: 2, DT_INT8: 1, DT_UINT8: 1, DT_BOOL: 1 } as Record<string, number>)[
        t.dtype ?? 'DT_FLOAT'
      ] ?? 4;
    if (bytes.length !== n * width)
      throw new UnsupportedError(
        `constant "${node.name}" holds ${bytes.length} bytes for shape [${shape.join(', ')}], which takes ${n * width}`,
      );
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    if (t.dtype === 'DT_INT64') return { dtype, shape, data: Int32Array.from(new BigInt64Array(buf), Number) };
    if (dtype === 'float32' && t.dtype === 'DT_FLOAT') return { dtype, shape, data: new Float32Array(buf) };
    if (t.dtype === 'DT_INT32') return { dtype, shape, data: new Int32Array(buf) };
    if (dtype === 'bool') return { dtype, shape, data: new Uint8Array(buf) };
    return null;
  }
  if (dtype === 'float32') return { dtype, shape, data: make(t.floatVal ?? []) };
  if (dtype === 'int32') return { dtype, shape, data: make((t.intVal ?? t.int64Val ?? []).map(Number)) };
  return { dtype, shape, data: make((t.boolVal ?? []).map(Number)) };
}

/**
 * Throws one line at the first thing in the GraphDef that tfjs-converter would trip over (with a
 * TypeError or a loop): a node without name or op, two nodes of one name, an input or a signature
 * tensor naming no node, a cycle (TensorFlow's control flow; not supported).
 */
export function checkGraphDef(graph: unknown, signature: unknown, file: string): asserts graph is GraphDef {
  const nodes = (graph as { node?: unknown } | null)?.node;
  if (!Array.isArray(nodes)) throw new UnsupportedError(`${file}: the GraphDef has no list of nodes`);
  const byName = new Map<string, NodeDef>();
  nodes.forEach((n: Partial<NodeDef> | null, i) => {
    const at = `node ${i + 1} of ${nodes.length}`;
    if (!n || typeof n !== 'object' || typeof n.name !== 'string' || n.name === '')
      throw new UnsupportedError(`${file}: ${at} has no name`);
    if (typeof n.op !== 'string' || n.op === '') throw new UnsupportedError(`${file}: ${at} ("${n.name}") has no op`);
    if (byName.has(n.name))
      throw new UnsupportedError(`${file}: two nodes are named "${n.name}" (nodes ${[...byName.keys()].indexOf(n.name) + 1} and ${i + 1})`);
    if (n.input !== undefined && !(Array.isArray(n.input) && n.input.every((x) => typeof x === 'string')))
      throw new UnsupportedError(`${file}: ${at} ("${n.name}"): its inputs are not a list of names`);
    byName.set(n.name, n as NodeDef);
  });
  const source = (ref: string): string => parseInput(ref.startsWith('^') ? ref.slice(1) : ref).node;
  nodes.forEach((n: NodeDef, i) => {
    for (const ref of n.input ?? []) {
      if (!byName.has(source(ref)))
        throw new UnsupportedError(
          `${file}: node ${i + 1} of ${nodes.length} ("${n.name}", ${n.op}) takes input "${ref}", which no node of the graph produces`,
        );
    }
  });
  const sig = (signature ?? {}) as { inputs?: unknown; outputs?: unknown };
  for (const side of ['inputs', 'outputs'] as const) {
    const entries = sig[side];
    if (entries === undefined) continue;
    if (!entries || typeof entries !== 'object') throw new UnsupportedError(`${file}: the signature's ${side} are not a map of tensors`);
    for (const [key, t] of Object.entries(entries as Record<string, { name?: unknown }>)) {
      if (!t || typeof t.name !== 'string') throw new UnsupportedError(`${file}: signature ${side.slice(0, -1)} "${key}" names no tensor`);
      if (!byName.has(source(t.name)))
        throw new UnsupportedError(
          `${file}: signature ${side.slice(0, -1)} "${key}" is tensor "${t.name}", which no node of the graph produces`,
        );
    }
  }
  const cycle = findCycle(byName.keys(), (name) => (byName.get(name)!.input ?? []).map(source));
  if (cycle) throw new UnsupportedError(`${file}: the graph has a cycle (TensorFlow control flow, not supported): ${cycleText(cycle)}`);
}
