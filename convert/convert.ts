// onnxgan convert: a tfjs model.json (LayersModel or GraphModel) -> a verified ONNX file.
// tfjs reads the topology and is the reference: the file is written only when onnxruntime-node
// gives tfjs's outputs on random inputs (within TOLERANCE).
import type * as tf from '@tensorflow/tfjs';
import { tfjs } from '../backend/tfjs.js';
import * as ort from 'onnxruntime-node';
import { openSession } from '../backend/ort-session.js';
import path from 'node:path';
import { writeFileAtomic } from '../common/atomic.js';
import { GeneratorRunner } from '../common/generator-runner.js';
import { ParityError, PRODUCER, TOLERANCE as EXPORT_TOLERANCE } from '../export/verify.js';
import { metadataFromProps, type ModelMetadata } from '../common/metadata.js';
import { selectBackend } from '../backend/select.js';
import { Emitter, type Shape } from './emitter.js';
import { checkOps, gatherRanges, graphGraph, graphInterface, neededNodes, probe, probedTensors } from './graph-model.js';
import type { GraphDef } from './graphdef.js';
import {
  generatorInterface,
  plainInterface,
  type GeneratorOptions,
  type InterfacePlan,
  type ModelIO,
  type HostTensor,
} from './interface.js';
import { SUPPORTED_LAYERS } from './keras-layers.js';
import { checkLayers, checkWeights, embeddingRanges, layersGraph, layersInterface } from './layers-model.js';
import { checkOutputPath, readTfjsModel, type TfjsModel } from './model-files.js';
import { declaredValues, MAX_TENSOR_VALUES } from './limits.js';
import { UnsupportedError } from './ops/errors.js';
import { registerShims, withWeightBudget } from './tfjs-shims.js';

/** Largest accepted |tfjs - onnxruntime| / max(1, |tfjs|) over the parity samples: export's fp32 bound. */
export const TOLERANCE = EXPORT_TOLERANCE.fp32;
/** Rows of the parity run: not the probe's, so a batch size baked into the graph shows. */
export const PARITY_ROWS = 3;
const PROBE_ROWS = 2;
const SEED = 20240517;

export interface ConvertOptions {
  keepFp16?: boolean;
  generator?: Omit<GeneratorOptions, 'dataset'> & { dataset?: string };
  log?: (line: string) => void;
}

export interface ConvertResult {
  file: string;
  bytes: number;
  format: TfjsModel['format'];
  maxDiff: number;
  io: ModelIO;
  nodes: number;
}

interface Converted {
  bytes: Uint8Array;
  plan: InterfacePlan;
  io: ModelIO;
  nodes: number;
  /** Runs the tfjs model on inputs in its own order. */
  reference: (inputs: tf.Tensor[]) => tf.Tensor[];
  dispose: () => void;
}

const mb = (n: number): string => `${(n / 1e6).toFixed(n < 1e6 ? 2 : 1)} MB`;

/** Converts `input` (model.json or its folder) to `out`; throws before writing anything when it cannot. */
export async function convertModel(input: string, out: string, opts: ConvertOptions = {}): Promise<ConvertResult> {
  return convertFiles(readTfjsModel(input), out, opts);
}

/** Converts a model read by readTfjsModel (convert/model-files.ts). */
export async function convertFiles(files: TfjsModel, out: string, opts: ConvertOptions = {}): Promise<ConvertResult> {
  const log = opts.log ?? (() => {});
  checkOutputPath(out, files);
  log(
    `read ${files.file}: ${files.format}, ${files.specs.length} weights in ${files.shards} shard` +
      `${files.shards === 1 ? '' : 's'} (${mb(files.data.length)})`,
  );
  if (!tfjs.findBackend('wasm') && !tfjs.findBackend('tensorflow')) await selectBackend('auto');
  const planFor = (io: ModelIO, ranges: Map<string, number>): InterfacePlan => {
    if (!opts.generator) return plainInterface(io, ranges, sourceProps(files));
    // A tfjs model exported by onnxgan carries its metadata: its classes and data set are the defaults.
    const carried = carriedMetadata(files);
    const g = opts.generator;
    return generatorInterface(io, {
      ...g,
      classes: g.classes ?? carried?.classes ?? undefined,
      dataset: g.dataset ?? carried?.dataset ?? path.basename(path.dirname(path.resolve(files.file))),
      ...(carried ? { carried } : {}),
    });
  };
  const converted = files.format === 'layers-model' ? await convertLayers(files, opts, planFor) : await convertGraph(files, opts, planFor);
  try {
    log(`converted to ${converted.nodes} ONNX nodes (opset 17); checking against tfjs on ${PARITY_ROWS} random samples`);
    const maxDiff = await parity(converted);
    if (!(maxDiff <= TOLERANCE))
      throw new ParityError(`tfjs and onnxruntime differ by ${maxDiff.toExponential(2)} (> ${TOLERANCE}): not writing ${out}`);
    writeFileAtomic(out, converted.bytes);
    return { file: out, bytes: converted.bytes.length, format: files.format, maxDiff, io: converted.io, nodes: converted.nodes };
  } finally {
    converted.dispose();
  }
}

/** onnxgan metadata in model.json's userDefinedMetadata (written by `onnxgan export --format tfjs`). */
function carriedMetadata(files: TfjsModel): ModelMetadata | null {
  const props = files.json.userDefinedMetadata?.onnxgan;
  if (!props || typeof props !== 'object') return null;
  try {
    return metadataFromProps(props as Record<string, string>);
  } catch {
    return null;
  }
}

function sourceProps(files: TfjsModel): Record<string, string> {
  const props: Record<string, string> = { 'tfjs.format': files.format };
  if (files.json.generatedBy) props['tfjs.generated_by'] = String(files.json.generatedBy);
  if (files.json.convertedBy) props['tfjs.converted_by'] = String(files.json.convertedBy);
  return props;
}

const arrayBuffer = (a: Uint8Array): ArrayBuffer => a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength) as ArrayBuffer;

/** Why tfjs could not load a LayersModel, in this converter's words when it can tell. */
async function diagnoseLayersModel(files: TfjsModel, cause: unknown): Promise<Error> {
  let model: tf.LayersModel;
  try {
    model = await withWeightBudget(files.specs, () => tfjs.models.modelFromJSON({ modelTopology: files.topology } as never));
  } catch (e) {
    return new UnsupportedError(`${files.file}: tfjs cannot build this LayersModel: ${describeTfjsError(e, files)}`);
  }
  try {
    checkLayers(model);
    checkWeights(model, files.weights);
    return new UnsupportedError(`${files.file}: tfjs cannot load this LayersModel: ${describeTfjsError(cause, files)}`);
  } catch (e) {
    return e as Error;
  } finally {
    model.dispose();
  }
}

async function convertLayers(
  files: TfjsModel,
  opts: ConvertOptions,
  planFor: (io: ModelIO, r: Map<string, number>) => InterfacePlan,
): Promise<Converted> {
  registerShims();
  let model: tf.LayersModel;
  try {
    // tfjs's own loader (and decoder of the weights): what tf.loadLayersModel does with these files.
    model = await withWeightBudget(files.specs, () =>
      tfjs.loadLayersModel(
        tfjs.io.fromMemory({
          modelTopology: files.topology,
          weightSpecs: files.specs as tf.io.WeightsManifestEntry[],
          weightData: arrayBuffer(files.data),
        }),
        { strict: true },
      ),
    );
  } catch (e) {
    throw await diagnoseLayersModel(files, e);
  }
  const dispose = (): void => {
    model.dispose();
  };
  try {
    checkLayers(model);
    checkWeights(model, files.weights);
    const io = layersInterface(model);
    checkSampleSizes([...io.inputs, ...io.outputs]);
    const plan = planFor(io, embeddingRanges(model));
    const e = new Emitter({ keepFp16: opts.keepFp16 });
    plan.outputs(e, layersGraph(e, model, files.weights, plan.inputs(e)));
    return {
      bytes: e.g.model(model.name, plan.metadata, PRODUCER),
      plan,
      io,
      nodes: e.g.size.nodes,
      reference: (inputs) => {
        const y = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
        return Array.isArray(y) ? y : [y];
      },
      dispose,
    };
  } catch (err) {
    dispose();
    throw err;
  }
}

async function convertGraph(
  files: TfjsModel,
  opts: ConvertOptions,
  planFor: (io: ModelIO, r: Map<string, number>) => InterfacePlan,
): Promise<Converted> {
  const graph = files.topology as unknown as GraphDef;
  if (files.json.modelInitializer)
    throw new UnsupportedError(`${files.file}: models with an initializer graph (hash tables) are not supported`);
  let model: tf.GraphModel;
  try {
    model = await tfjs.loadGraphModel({
      load: async () => ({
        modelTopology: files.topology,
        weightSpecs: files.specs as tf.io.WeightsManifestEntry[],
        weightData: arrayBuffer(files.data),
        format: files.json.format,
        generatedBy: files.json.generatedBy,
        convertedBy: files.json.convertedBy ?? null,
        signature: files.json.signature as object | undefined,
        userDefinedMetadata: files.json.userDefinedMetadata as Record<string, object> | undefined,
      }),
    });
  } catch (e) {
    throw new UnsupportedError(`${files.file}: tfjs cannot load this GraphModel: ${(e as Error).message}`);
  }
  const dispose = (): void => model.dispose();
  try {
    const tensors = graphInterface(model);
    const nodes = neededNodes(
      graph,
      tensors.outputs.map((o) => o.node),
    );
    checkOps(graph, nodes);
    for (const i of tensors.inputs) {
      i.shape ??= signatureShape(files, i.name);
      if (!i.shape)
        throw new UnsupportedError(`input "${i.name}" has no known shape (neither its placeholder nor the signature gives one)`);
    }
    checkSampleSizes(tensors.inputs.map((i) => ({ name: i.name, shape: i.shape! })));
    // The probe run at PROBE_ROWS gives every tensor's shape; outputs whose first dim follows it are batched.
    const probeIo: ModelIO = {
      inputs: tensors.inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape! })),
      outputs: tensors.outputs.map((o) => ({ name: o.name, dtype: o.dtype, shape: o.shape ?? [] })),
    };
    const ranges = gatherRanges(nodes, files.weights, tensors.inputs);
    const probeSample = plainInterface(probeIo, ranges, {}).sample(PROBE_ROWS, SEED);
    const feeds = Object.fromEntries(tensors.inputs.map((t, i) => [t.name, toTf(probeSample.tfjs[i]!)]));
    let shapes: Map<string, { shape: Shape; dtype: 'float32' | 'int32' | 'bool' | 'int64' }>;
    try {
      shapes = probe(model, feeds, probedTensors(nodes, tensors.outputs));
    } catch (e) {
      throw new UnsupportedError(`tfjs cannot run this GraphModel: ${(e as Error).message}`);
    } finally {
      tfjs.dispose(Object.values(feeds));
    }
    const batched = tensors.inputs.some((i) => i.shape![0] === null);
    // Open sizes other than the batch: the probe's sizes must not become constants of the graph.
    const fixedSizes = tensors.inputs.every((i) => i.shape!.slice(1).every((d) => d !== null));
    const io: ModelIO = {
      inputs: probeIo.inputs,
      outputs: tensors.outputs.map((o) => {
        const s = shapes.get(o.index ? `${o.node}:${o.index}` : o.node)!;
        return {
          name: o.name,
          dtype: o.dtype,
          shape: s.shape.map((d, k) => ((k === 0 && batched && d === PROBE_ROWS) || (k > 0 && !fixedSizes) ? null : d)),
        };
      }),
    };
    const plan = planFor(io, ranges);
    const e = new Emitter({ keepFp16: opts.keepFp16, fixedSizes });
    const inputValues = plan.inputs(e);
    const placeholders = new Map(tensors.inputs.map((t, i) => [t.node, inputValues[i]!]));
    plan.outputs(e, graphGraph(e, graph, nodes, files.weights, shapes, placeholders, tensors.outputs));
    return {
      bytes: e.g.model('graph_model', plan.metadata, PRODUCER),
      plan,
      io,
      nodes: e.g.size.nodes,
      reference: (inputs) => {
        const y = model.execute(Object.fromEntries(tensors.inputs.map((t, i) => [t.name, inputs[i]!])), model.outputNodes);
        return Array.isArray(y) ? y : [y];
      },
      dispose,
    };
  } catch (err) {
    dispose();
    throw err;
  }
}

/** Refuses tensors whose declared shape would make the random samples (or tfjs's results on them) absurdly large. */
function checkSampleSizes(tensors: { name: string; shape: Shape }[]): void {
  const rows = Math.max(PARITY_ROWS, PROBE_ROWS);
  for (const t of tensors) {
    const perRow = declaredValues(t.shape.map((d, k) => (k === 0 && d === null ? rows : d === null ? 1 : d)));
    if (!Number.isFinite(perRow)) {
      throw new UnsupportedError(
        `tensor "${t.name}" is declared [${t.shape.map((d) => d ?? 'N').join(', ')}]: more than ` +
          `${MAX_TENSOR_VALUES} values for a batch of ${rows} (or not a list of sizes), too large to check`,
      );
    }
  }
}

/** An input's shape from model.json's signature (-1: open). */
function signatureShape(files: TfjsModel, name: string): Shape | undefined {
  const entry = (files.json.signature as { inputs?: Record<string, { tensorShape?: { dim?: { size?: string | number }[] } }> } | undefined)
    ?.inputs?.[name];
  return entry?.tensorShape?.dim?.map((d) => (Number(d.size ?? -1) < 0 ? null : Number(d.size)));
}

const toTf = (t: HostTensor): tf.Tensor => tfjs.tensor(t.data as Float32Array, t.shape, t.dtype as tf.DataType);

/** Runs both sides on the same random sample; the largest difference, relative above magnitude 1. */
async function parity(c: Converted): Promise<number> {
  const sample = c.plan.sample(PARITY_ROWS, SEED + 1);
  const inputs = sample.tfjs.map(toTf);
  let expected: Record<string, HostTensor>;
  try {
    const outs = tfjs.tidy(() => c.reference(inputs));
    expected = c.plan.expected(outs.map((t) => ({ data: t.dataSync() as Float32Array, shape: t.shape, dtype: t.dtype as 'float32' })));
    tfjs.dispose(outs);
  } catch (e) {
    throw new ParityError(`tfjs could not run the model on random inputs: ${(e as Error).message}`);
  } finally {
    tfjs.dispose(inputs);
  }
  let session: ort.InferenceSession;
  try {
    session = await openSession(c.bytes, 'check');
  } catch (e) {
    throw new ParityError(`onnxruntime cannot load the converted graph: ${(e as Error).message}`);
  }
  try {
    let got: Record<string, { data: ArrayLike<number | bigint>; dims: readonly number[] }>;
    if (c.plan.generator) {
      // Generators run the way serve and the browser run them.
      const runner = new GeneratorRunner(session, ort.Tensor, c.plan.generator);
      const noise = sample.onnx.noise!.data as Float32Array;
      const labels = sample.onnx.label ? Int32Array.from(sample.onnx.label.data as BigInt64Array, Number) : null;
      got = { image: { data: await runner.run(noise, labels), dims: expected.image!.shape } };
    } else {
      const feeds = Object.fromEntries(
        Object.entries(sample.onnx).map(([k, t]) => [
          k,
          new ort.Tensor(t.dtype === 'bool' ? 'bool' : t.dtype, t.data as Float32Array, t.shape),
        ]),
      );
      got = (await session.run(feeds)) as unknown as typeof got;
    }
    let max = 0;
    for (const [name, want] of Object.entries(expected)) {
      const have = got[name];
      if (!have) throw new ParityError(`onnxruntime gave no output "${name}"`);
      if (have.dims.join() !== want.shape.join())
        throw new ParityError(`output "${name}" is [${have.dims.join(', ')}] in onnxruntime but [${want.shape.join(', ')}] in tfjs`);
      for (let i = 0; i < want.data.length; i++) {
        const a = Number(have.data[i]!);
        const b = Number(want.data[i]!);
        const d = Math.abs(a - b) / Math.max(1, Math.abs(b));
        if (!(d <= max)) max = Number.isNaN(d) ? (Number.isNaN(a) && Number.isNaN(b) ? max : Infinity) : d;
      }
    }
    return max;
  } catch (e) {
    if (e instanceof ParityError) throw e;
    throw new ParityError(`onnxruntime could not run the converted graph: ${(e as Error).message}`);
  } finally {
    await session.release();
  }
}

/** tfjs's message for a topology it cannot build, with the position and the supported list for unknown classes. */
function describeTfjsError(e: unknown, files: TfjsModel): string {
  const msg = (e as Error).message ?? String(e);
  const unknown = /Unknown layer: (\w+)/.exec(msg);
  if (!unknown) return msg.split('\n')[0]!;
  const cls = unknown[1]!;
  const where = findLayerClass(files.topology, cls);
  return `unsupported layer class ${cls}${where ? ` (${where})` : ''}; supported: ${SUPPORTED_LAYERS.join(', ')}`;
}

/** "layer 3 of 7 ("name") in model "m"" for the first layer of class `cls` in a Keras topology. */
function findLayerClass(topology: Record<string, unknown>, cls: string): string | null {
  const visit = (model: Record<string, unknown>, pathName: string): string | null => {
    const config = (model.config ?? {}) as { layers?: Record<string, unknown>[]; name?: string };
    const layers = Array.isArray(model.config) ? (model.config as Record<string, unknown>[]) : (config.layers ?? []);
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i]!;
      const name = (l.config as { name?: string } | undefined)?.name ?? (l.name as string | undefined) ?? '?';
      if (l.class_name === cls) return `layer ${i + 1} of ${layers.length} ("${name}") in model "${pathName}"`;
      if (['Sequential', 'Model', 'Functional'].includes(l.class_name as string)) {
        const inner = visit(l, `${pathName}/${name}`);
        if (inner) return inner;
      }
    }
    return null;
  };
  const root = (topology.model_config ?? topology) as Record<string, unknown>;
  return visit(root, ((root.config as { name?: string } | undefined)?.name ?? 'model') as string);
}
