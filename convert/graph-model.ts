// A tfjs GraphModel (a TensorFlow GraphDef with its weights) as an ONNX graph. tfjs-converter loads
// and runs the model: a probe run gives every tensor's shape and dtype (no shape inference here),
// then each node the outputs need is mapped in topological order (convert/tf-ops.ts).
import type * as tf from '@tensorflow/tfjs';
import { permute, reshaped, type Constant, type DType, type Emitter, type Shape, type Value } from './emitter.js';
import { Attrs, dataInputs, inlineTensor, parseInput, type GraphDef, type NodeDef } from './graphdef.js';
import { UnsupportedError } from './ops/errors.js';
import { SUPPORTED_OPS, TF_OPS, type OpCall } from './tf-ops.js';
import type { Weight } from './weights.js';

export interface TensorInfo {
  /** The name tfjs users pass to execute() (a signature key or the node name). */
  name: string;
  /** The graph tensor: node name and output index. */
  node: string;
  index: number;
  dtype: DType;
  shape: Shape | undefined;
}

const ref = (node: string, index: number): string => (index === 0 ? node : `${node}:${index}`);

/** The model's inputs (placeholders) and outputs as tfjs-converter sees them. */
export function graphInterface(model: tf.GraphModel): { inputs: TensorInfo[]; outputs: TensorInfo[] } {
  const info = (t: tf.ModelTensorInfo, name: string, what: string): TensorInfo => {
    const at = /:(\d+)$/.exec(name);
    const dtype = t.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool')
      throw new UnsupportedError(`${what} "${name}" is ${dtype}: only float32, int32 and bool tensors convert`);
    return { name, node: t.name, index: at ? Number(at[1]) : 0, dtype, shape: t.shape?.map((d) => (d < 0 ? null : d)) };
  };
  return {
    inputs: model.inputs.map((t, i) => info(t, model.inputNodes[i]!, 'input')),
    outputs: model.outputs.map((t, i) => info(t, model.outputNodes[i]!, 'output')),
  };
}

/** The nodes the outputs depend on (data edges), inputs first. */
export function neededNodes(graph: GraphDef, outputs: string[]): NodeDef[] {
  const byName = new Map(graph.node.map((n) => [n.name, n]));
  const order: NodeDef[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: { node: NodeDef; next: number }[] = [];
  const visit = (name: string): void => {
    const n = byName.get(name);
    if (!n) throw new UnsupportedError(`the graph has no node "${name}"`);
    if (state.get(name)) return;
    state.set(name, 'open');
    stack.push({ node: n, next: 0 });
  };
  for (const o of outputs) {
    visit(o);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const inputs = dataInputs(top.node);
      if (top.next < inputs.length) {
        const dep = parseInput(inputs[top.next++]!).node;
        if (state.get(dep) === 'open')
          throw new UnsupportedError(`the graph has a cycle through node "${dep}" (control flow is not supported)`);
        visit(dep);
        continue;
      }
      stack.pop();
      state.set(top.node.name, 'done');
      order.push(top.node);
    }
  }
  return order;
}

/** Throws at the first op without a mapping, naming it, its node and its position. */
export function checkOps(graph: GraphDef, nodes: NodeDef[]): void {
  const position = new Map(graph.node.map((n, i) => [n.name, i + 1]));
  for (const n of nodes) {
    if (!SUPPORTED_OPS.includes(n.op)) {
      throw new UnsupportedError(
        `unsupported op ${n.op}: node ${position.get(n.name)} of ${graph.node.length} ("${n.name}"); ` +
          `supported: ${SUPPORTED_OPS.join(', ')}`,
      );
    }
  }
}

/** The tensors whose shapes the mapping needs: every data input of a computed node, and the outputs. */
export function probedTensors(nodes: NodeDef[], outputs: TensorInfo[]): string[] {
  const computed = new Set(nodes.filter((n) => n.op !== 'Const' && n.op !== 'Placeholder').map((n) => n.name));
  const names = new Set<string>();
  for (const n of nodes) {
    for (const i of dataInputs(n)) {
      const { node, index } = parseInput(i);
      if (computed.has(node)) names.add(ref(node, index));
    }
  }
  for (const o of outputs) names.add(ref(o.node, o.index));
  return [...names];
}

/** Shapes and dtypes of `tensors` on a tfjs run with `feeds`. */
export function probe(model: tf.GraphModel, feeds: tf.NamedTensorMap, tensors: string[]): Map<string, { shape: Shape; dtype: DType }> {
  const out = new Map<string, { shape: Shape; dtype: DType }>();
  if (!tensors.length) return out;
  const results = model.execute(feeds, tensors);
  const list = Array.isArray(results) ? results : [results];
  list.forEach((t, i) => {
    out.set(tensors[i]!, { shape: t.shape, dtype: t.dtype as DType });
    t.dispose();
  });
  return out;
}

/** Emits the nodes for `outputs`, given the Values of the placeholders (by node name). */
export function graphGraph(
  e: Emitter,
  graph: GraphDef,
  nodes: NodeDef[],
  weights: Map<string, Weight>,
  shapes: Map<string, { shape: Shape; dtype: DType }>,
  placeholders: Map<string, Value>,
  outputs: TensorInfo[],
): Value[] {
  const position = new Map(graph.node.map((n, i) => [n.name, i + 1]));
  const values = new Map<string, Value[]>();
  const initializers = new WeakMap<Value, Map<string, string>>();
  const outputCount = new Map<string, number>();
  for (const name of shapes.keys()) {
    const { node, index } = parseInput(name);
    outputCount.set(node, Math.max(outputCount.get(node) ?? 0, index + 1));
  }
  const tensor = (name: string, where: string): Value => {
    const { node, index } = parseInput(name);
    const v = values.get(node)?.[index];
    if (!v) throw new UnsupportedError(`${where}: its input "${name}" is not produced by the converted graph`);
    return v;
  };
  for (const node of nodes) {
    const where = `node ${position.get(node.name)} of ${graph.node.length} ("${node.name}", ${node.op})`;
    if (node.op === 'Placeholder') {
      const v = placeholders.get(node.name);
      if (!v) throw new UnsupportedError(`${where}: a placeholder the outputs need is not an input of the model`);
      values.set(node.name, [v]);
      continue;
    }
    if (node.op === 'Const') {
      const w = weights.get(node.name);
      const c: Constant | null = w
        ? { dtype: w.dtype, shape: w.shape, data: w.data, ...(w.half ? { half: w.half } : {}) }
        : inlineTensor(node);
      if (!c) throw new UnsupportedError(`${where}: the constant's value is neither in the weights manifest nor in the graph`);
      values.set(node.name, [e.constant(c, node.name)]);
      continue;
    }
    if (node.op === 'NoOp') {
      values.set(node.name, []);
      continue;
    }
    const inputs = dataInputs(node).map((i) => tensor(i, where));
    const out: { shape: Shape; dtype: DType }[] = [];
    for (let k = 0; k < (outputCount.get(node.name) ?? 0); k++) {
      const s = shapes.get(ref(node.name, k));
      if (s) out[k] = s;
    }
    const call: OpCall = {
      e,
      node,
      attrs: new Attrs(node),
      inputs,
      out,
      where,
      weight: (v, perm, shape) => {
        if (!v.constant) {
          let t = perm
            ? e.op('Transpose', [e.logical(v)], { perm: { ints: perm } }, { dtype: v.dtype, shape: perm.map((p) => v.shape[p]!) })
            : v;
          if (shape) t = e.op('Reshape', [t, e.int64(shape)], {}, { dtype: v.dtype, shape });
          return t.name;
        }
        if (!perm && !shape) return v.name;
        const key = `${perm?.join(',') ?? ''}|${shape?.join(',') ?? ''}`;
        let made = initializers.get(v);
        if (!made) initializers.set(v, (made = new Map()));
        let name = made.get(key);
        if (!name) {
          let c = v.constant;
          if (perm) c = permute(c, perm);
          if (shape) c = reshaped(c, shape);
          made.set(key, (name = e.initializer(c, `${node.name}/weight`)));
        }
        return name;
      },
    };
    const mapping = TF_OPS[node.op];
    if (!mapping) throw new UnsupportedError(`unsupported op ${node.op}: ${where}; supported: ${SUPPORTED_OPS.join(', ')}`);
    try {
      values.set(node.name, mapping(call));
    } catch (err) {
      if (err instanceof UnsupportedError && !err.message.includes(where)) throw new UnsupportedError(`${where}: ${err.message}`);
      throw err;
    }
  }
  return outputs.map((o) => tensor(ref(o.node, o.index), `output "${o.name}"`));
}

/** For each input used (through casts and reshapes) as gather indices: the gathered axis's size. */
export function gatherRanges(nodes: NodeDef[], weights: Map<string, Weight>, inputs: TensorInfo[]): Map<string, number> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const through = new Set(['Identity', 'Cast', 'Reshape', 'Squeeze', 'ExpandDims', 'StopGradient']);
  const source = (name: string): string | null => {
    for (let n = byName.get(parseInput(name).node); n; n = byName.get(parseInput(dataInputs(n)[0] ?? '').node)) {
      if (n.op === 'Placeholder') return n.name;
      if (!through.has(n.op)) return null;
    }
    return null;
  };
  const ranges = new Map<string, number>();
  for (const n of nodes) {
    if (n.op !== 'GatherV2' && n.op !== 'ResourceGather') continue;
    const [params, indices, axis] = dataInputs(n);
    const placeholder = source(indices ?? '');
    const table = weights.get(parseInput(params ?? '').node);
    const a = weights.get(parseInput(axis ?? '').node)?.data[0] ?? 0;
    if (!placeholder || !table) continue;
    const size = table.shape[a < 0 ? a + table.shape.length : a]!;
    const input = inputs.find((i) => i.node === placeholder);
    if (input) ranges.set(input.name, Math.min(size, ranges.get(input.name) ?? Infinity));
  }
  return ranges;
}
