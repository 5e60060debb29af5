// A tfjs LayersModel (Sequential or functional, nested models, shared layers) as an ONNX graph.
// tfjs itself reads the Keras topology (tf.models.modelFromJSON) and computes every tensor's shape;
// this module walks the resulting graph of layer calls and maps each call (convert/keras-layers.ts).
import type * as tf from '@tensorflow/tfjs';
import type { Emitter, Shape, Value, Constant, DType } from './emitter.js';
import { CONTAINERS, LAYERS, SUPPORTED_LAYERS, type LayerCall } from './keras-layers.js';
import { UnsupportedError } from './ops/errors.js';
import type { Weight } from './weights.js';

type Container = tf.LayersModel;
type SymbolicTensor = tf.SymbolicTensor;
interface LayerNode {
  inputTensors: SymbolicTensor[];
  outputTensors: SymbolicTensor[];
}

const isContainer = (l: tf.layers.Layer): l is Container => CONTAINERS.includes(l.getClassName()) && 'layers' in l;
const dtypeOf = (t: SymbolicTensor): DType => {
  if (t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool') return t.dtype;
  throw new UnsupportedError(`tensor "${t.name}" is ${t.dtype}: only float32, int32 and bool tensors convert`);
};

/** Throws at the first layer class without a mapping, naming it and where it is. */
export function checkLayers(model: Container, path: string = model.name): void {
  model.layers.forEach((layer, i) => {
    const cls = layer.getClassName();
    const where = `layer ${i + 1} of ${model.layers.length} ("${layer.name}") in model "${path}"`;
    if (isContainer(layer)) return checkLayers(layer, `${path}/${layer.name}`);
    if (cls !== 'InputLayer' && !LAYERS[cls])
      throw new UnsupportedError(`unsupported layer class ${cls}: ${where}; supported: ${SUPPORTED_LAYERS.join(', ')}`);
  });
}

/** The weights each layer reads, checked against the manifest (names and shapes). */
export function checkWeights(model: Container, weights: Map<string, Weight>): void {
  for (const layer of allLayers(model)) {
    for (const v of layer.weights) {
      const w = weights.get(v.originalName);
      if (!w) throw new UnsupportedError(`weight "${v.originalName}" of layer "${layer.name}" is not in the weights manifest`);
      if (w.shape.join() !== v.shape.join())
        throw new UnsupportedError(
          `weight "${v.originalName}" of layer "${layer.name}" is [${v.shape.join(', ')}] in the model but [` +
            `${w.shape.join(', ')}] in the weights manifest`,
        );
    }
  }
}

function allLayers(model: Container): tf.layers.Layer[] {
  return model.layers.flatMap((l) => (isContainer(l) ? allLayers(l) : [l]));
}

/** The tfjs model's interface: its input and output tensors with their names (input and output layer names). */
export function layersInterface(model: Container): {
  inputs: { name: string; dtype: DType; shape: Shape }[];
  outputs: { name: string; dtype: DType; shape: Shape }[];
} {
  const unique = new Set<string>();
  const name = (n: string): string => {
    let u = n;
    for (let i = 1; unique.has(u); i++) u = `${n}_${i}`;
    unique.add(u);
    return u;
  };
  return {
    inputs: model.inputs.map((t, i) => ({
      name: name(model.inputNames[i] ?? (t.sourceLayer as tf.layers.Layer).name),
      dtype: dtypeOf(t),
      shape: t.shape,
    })),
    // Keras names an output after the layer that computes it (a Sequential's outputNames is empty).
    outputs: model.outputs.map((t, i) => ({
      name: name(model.outputNames[i] ?? (t.sourceLayer as tf.layers.Layer).name),
      dtype: dtypeOf(t),
      shape: t.shape,
    })),
  };
}

/** Emits the model's graph for the given input values; returns its outputs, in model.outputs order. */
export function layersGraph(e: Emitter, model: Container, weights: Map<string, Weight>, inputs: Value[]): Value[] {
  const params = new Map<string, string>();
  return runContainer(e, model, inputs, weights, params, model.name);
}

function runContainer(
  e: Emitter,
  model: Container,
  inputs: Value[],
  weights: Map<string, Weight>,
  params: Map<string, string>,
  path: string,
): Value[] {
  const known = new Map<number, Value>();
  model.inputs.forEach((t, i) => known.set(t.id, inputs[i]!));
  const position = new Map(model.layers.map((l, i) => [l, i + 1]));
  // Depth-first from the outputs, without recursion (deep models).
  const stack: SymbolicTensor[] = [...model.outputs];
  while (stack.length) {
    const t = stack[stack.length - 1]!;
    if (known.has(t.id)) {
      stack.pop();
      continue;
    }
    const layer = t.sourceLayer as tf.layers.Layer;
    const node = layer.inboundNodes[t.nodeIndex] as unknown as LayerNode | undefined;
    if (!node || layer.getClassName() === 'InputLayer')
      throw new UnsupportedError(`model "${path}": tensor "${t.name}" comes from no input of the model`);
    const missing = node.inputTensors.filter((i) => !known.has(i.id));
    if (missing.length) {
      stack.push(...missing);
      continue;
    }
    const args = node.inputTensors.map((i) => known.get(i.id)!);
    const where =
      `layer ${position.get(layer) ?? '?'} of ${model.layers.length} ("${layer.name}", ` + `${layer.getClassName()}) in model "${path}"`;
    const outs = isContainer(layer)
      ? runContainer(e, layer, args, weights, params, `${path}/${layer.name}`)
      : callLayer(e, layer, node, args, weights, params, where);
    if (outs.length !== node.outputTensors.length)
      throw new Error(`internal: ${where} gave ${outs.length} outputs for ${node.outputTensors.length}`);
    node.outputTensors.forEach((o, i) => known.set(o.id, outs[i]!));
  }
  return model.outputs.map((t) => known.get(t.id)!);
}

function callLayer(
  e: Emitter,
  layer: tf.layers.Layer,
  node: LayerNode,
  inputs: Value[],
  weights: Map<string, Weight>,
  params: Map<string, string>,
  where: string,
): Value[] {
  const mapping = LAYERS[layer.getClassName()];
  if (!mapping)
    throw new UnsupportedError(`unsupported layer class ${layer.getClassName()}: ${where}; supported: ${SUPPORTED_LAYERS.join(', ')}`);
  const byShortName = new Map(layer.weights.map((v) => [v.originalName.slice(v.originalName.lastIndexOf('/') + 1), v.originalName]));
  const weight = (short: string): Constant => {
    const full = byShortName.get(short);
    const w = full ? weights.get(full) : undefined;
    if (!w) throw new UnsupportedError(`${where}: no weight "${short}"`);
    return { dtype: w.dtype, shape: w.shape, data: w.data, ...(w.half ? { half: w.half } : {}) };
  };
  const call: LayerCall = {
    e,
    layer,
    config: layer.getConfig() as Record<string, unknown>,
    inputs,
    out: node.outputTensors.map((t) => ({ shape: t.shape, dtype: dtypeOf(t) })),
    weight,
    has: (short) => byShortName.has(short),
    param: (key, make) => {
      const k = `${layer.name}\u0000${key}`;
      let name = params.get(k);
      if (!name) params.set(k, (name = e.initializer(make(), `${layer.name}/${key}`)));
      return name;
    },
    where,
  };
  try {
    return mapping(call);
  } catch (err) {
    if (err instanceof UnsupportedError && !err.message.includes(where)) throw new UnsupportedError(`${where}: ${err.message}`);
    throw err;
  }
}

/** For each model input feeding an Embedding directly: the table size (random parity inputs stay in range). */
export function embeddingRanges(model: Container): Map<string, number> {
  const ranges = new Map<string, number>();
  for (const layer of allLayers(model)) {
    if (layer.getClassName() !== 'Embedding') continue;
    const size = (layer.getConfig() as { inputDim: number }).inputDim;
    for (const node of layer.inboundNodes as unknown as LayerNode[]) {
      for (const t of node.inputTensors) {
        const source = t.sourceLayer as tf.layers.Layer;
        if (source.getClassName() === 'InputLayer') ranges.set(source.name, Math.min(size, ranges.get(source.name) ?? Infinity));
      }
    }
  }
  return ranges;
}
