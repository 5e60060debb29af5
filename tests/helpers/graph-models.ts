// Writes tfjs GraphModels the way tensorflowjs_converter does from a SavedModel: model.json with
// format "graph-model", a signature, a GraphDef in protobuf's JSON form (attribute strings base64,
// int64 as strings) whose constants live in the weights manifest, and the binary shards.
import type { AttrValue, NodeDef } from '../../convert/graphdef.js';
import { Rng } from '../../common/rng.js';
import { writeModel, type WeightEntry, type WriteOptions } from './tfjs-models.js';

type TfType = 'DT_FLOAT' | 'DT_INT32' | 'DT_BOOL';

export const attr = {
  s: (v: string): AttrValue => ({ s: Buffer.from(v).toString('base64') }),
  i: (v: number): AttrValue => ({ i: String(v) }),
  f: (v: number): AttrValue => ({ f: v }),
  b: (v: boolean): AttrValue => ({ b: v }),
  ints: (v: number[]): AttrValue => ({ list: { i: v.map(String) } }),
  strings: (v: string[]): AttrValue => ({ list: { s: v.map((x) => Buffer.from(x).toString('base64')) } }),
  type: (t: TfType): AttrValue => ({ type: t }),
};

const shapeProto = (shape: number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });

export class GraphDefBuilder {
  readonly nodes: NodeDef[] = [];
  readonly weights: WeightEntry[] = [];
  private readonly inputs: { key: string; node: string; dtype: TfType; shape: number[] }[] = [];
  private readonly rng: Rng;

  constructor(seed = 1) {
    this.rng = new Rng(seed);
  }

  placeholder(name: string, shape: number[], dtype: TfType = 'DT_FLOAT', key = name): string {
    this.nodes.push({ name, op: 'Placeholder', attr: { dtype: attr.type(dtype), shape: { shape: shapeProto(shape) } } });
    this.inputs.push({ key, node: name, dtype, shape });
    return name;
  }

  /** A constant whose values go to the weights manifest, as tensorflowjs_converter stores them. */
  constant(name: string, shape: number[], values?: ArrayLike<number>, dtype: TfType = 'DT_FLOAT'): string {
    const n = shape.reduce((a, b) => a * b, 1);
    const data =
      dtype === 'DT_FLOAT'
        ? Float32Array.from(values ?? Array.from({ length: n }, () => this.rng.uniform() * 2 - 1))
        : dtype === 'DT_INT32'
          ? Int32Array.from(values ?? [])
          : Uint8Array.from(values ?? []);
    this.nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype, tensorShape: shapeProto(shape) } }, dtype: attr.type(dtype) } });
    this.weights.push({ name, shape, dtype: dtype === 'DT_FLOAT' ? 'float32' : dtype === 'DT_INT32' ? 'int32' : 'bool', data });
    return name;
  }

  /** Random positive values (variances, scales). */
  positive(name: string, shape: number[]): string {
    const n = shape.reduce((a, b) => a * b, 1);
    return this.constant(
      name,
      shape,
      Array.from({ length: n }, () => 0.5 + this.rng.uniform()),
    );
  }

  ints(name: string, values: number[], shape = [values.length]): string {
    return this.constant(name, shape, values, 'DT_INT32');
  }

  op(name: string, op: string, input: string[], a: Record<string, AttrValue> = {}): string {
    this.nodes.push({ name, op, input, attr: { T: attr.type('DT_FLOAT'), ...a } });
    return name;
  }

  /** model.json and shards; outputs: signature key -> tensor. */
  write(dir: string, outputs: Record<string, string>, o: WriteOptions = {}): string {
    const sig = (node: string, dtype: string) => ({ name: node.includes(':') ? node : `${node}:0`, dtype });
    const json = {
      format: 'graph-model',
      generatedBy: '2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      signature: {
        inputs: Object.fromEntries(this.inputs.map((i) => [i.key, { ...sig(i.node, i.dtype), tensorShape: shapeProto(i.shape) }])),
        outputs: Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, sig(t, 'DT_FLOAT')])),
      },
      modelTopology: { node: this.nodes, library: {}, versions: { producer: 1645 } },
    };
    return writeModel(dir, json, this.weights, o);
  }
}
