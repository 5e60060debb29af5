// onnxgan export --format tfjs: the generator as a TensorFlow.js LayersModel (model.json + one weight
// shard) that tfjs.loadLayersModel loads in Node and in the browser, with the same interface as the
// ONNX file (noise [N, noise_dim] float32, label [N, 1] int32 when conditional -> image [N, C, H, W])
// and onnxgan's metadata in userDefinedMetadata. Verified against the ONNX export before it is kept.
import type * as tf from '@tensorflow/tfjs';
import { tfjs } from '../backend/tfjs.js';
import * as ort from 'onnxruntime-node';
import { openSession } from '../backend/ort-session.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GeneratorRunner } from '../common/generator-runner.js';
import { IO, metadataToProps, type ModelMetadata } from '../common/metadata.js';
import { selectBackend } from '../backend/select.js';
import { checkpointFileOf, readCheckpoint, restoreGenerator } from '../train/checkpoint.js';
import type { Sequential } from '../train/layers.js';
import { checkpointMetadata } from './export.js';
import { ParityError, PRODUCER, TOLERANCE, VERIFY_SAMPLES } from './verify.js';
import { generatorGraph, layerShapes } from './layer-mapping.js';

/**
 * Largest accepted |tfjs model - ONNX file| over the verification samples: export's own tfjs-vs-
 * onnxruntime bound. Both graphs compute the same operations, but their float32 matrix products sum
 * in different orders (XNNPACK in tfjs's wasm, MLAS in onnxruntime): each engine is ~1e-5 from the
 * float64 result on the shipped generators' last Dense, so they differ by 4e-6 to 1.4e-5
 * (bench/tfjs-export-precision.ts, bench/RESULTS.md).
 */
export const TFJS_TOLERANCE = TOLERANCE.fp32;
export const MODEL_JSON = 'model.json';
export const SHARD = 'group1-shard1of1.bin';

export interface TfjsExportResult {
  dir: string;
  files: string[];
  bytes: number;
  maxAbsDiff: number;
  metadata: ModelMetadata;
}

/** The generator's layer stack as a tfjs functional model with its weights (each kind's own tfjs form). */
export function generatorLayersModel(net: Sequential, meta: ModelMetadata): tf.LayersModel {
  const noise = tfjs.input({ shape: [net.config.inputDim], name: IO.noise });
  // Labels [N, 1]: tfjs's predict() turns a 1-d input into [N, 1] anyway, so [N] labels work too.
  const label = net.conditional ? tfjs.input({ shape: [1], name: IO.label, dtype: 'int32' }) : null;
  let h: tf.SymbolicTensor = noise;
  const weights: [tf.layers.Layer, tf.Tensor[]][] = [];
  const add = <L extends tf.layers.Layer>(layer: L, w: tf.Tensor[] = []): L => {
    weights.push([layer, w]);
    return layer;
  };
  layerShapes(net, 'tfjs').forEach(({ layer, kind }, i) => {
    h = kind.tfjs!(layer, h, { tfjs, label, name: `${i}_${layer.config.type.toLowerCase()}`, add });
  });
  const image = tfjs.layers.reshape({ targetShape: meta.imageShape, name: IO.image }).apply(h) as tf.SymbolicTensor;
  const model = tfjs.model({ inputs: label ? [noise, label] : [noise], outputs: image, name: `onnxgan_${meta.kind}` });
  for (const [layer, w] of weights) {
    layer.setWeights(w);
    tfjs.dispose(w);
  }
  model.setUserDefinedMetadata({ onnxgan: metadataToProps(meta) });
  return model;
}

/** model.json (as tfjs's file and HTTP savers write it) and the weight shard. */
async function modelFiles(model: tf.LayersModel): Promise<{ json: string; shard: Uint8Array }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tfjs.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts!;
  const json = {
    format: 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: `${PRODUCER.name} ${PRODUCER.version}`,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [SHARD], weights: a.weightSpecs }],
    userDefinedMetadata: a.userDefinedMetadata,
  };
  return { json: JSON.stringify(json), shard: new Uint8Array(a.weightData as ArrayBuffer) };
}

/** Loads a model folder the way tfjs.loadLayersModel does over HTTP (model.json, then its shards). */
export async function loadLayersModelFromDir(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(path.join(dir, MODEL_JSON), 'utf8')) as tf.io.ModelJSON;
  const artifacts = await tfjs.io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs = manifest.flatMap((g) => g.weights);
    const shards = manifest.flatMap((g) => g.paths.map((p) => readFileSync(path.join(dir, p))));
    const data = Buffer.concat(shards);
    return [specs, data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer];
  });
  return tfjs.loadLayersModel(tfjs.io.fromMemory(artifacts));
}

/** Max |tfjs model - ONNX graph| on the export's verification inputs (every class). */
async function compareWithOnnx(model: tf.LayersModel, onnx: Uint8Array, meta: ModelMetadata): Promise<number> {
  const session = await openSession(onnx, 'check');
  try {
    const runner = new GeneratorRunner(session, ort.Tensor, meta);
    const n = VERIFY_SAMPLES;
    const noise = runner.noise(12345, n);
    const labels = runner.labels(n);
    const expected = await runner.run(noise, labels);
    const got = tfjs.tidy(() => {
      const inputs = [tfjs.tensor2d(noise, [n, meta.noiseDim]), ...(labels ? [tfjs.tensor2d(labels, [n, 1], 'int32')] : [])];
      return (model.predict(inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor).dataSync() as Float32Array;
    });
    if (got.length !== expected.length)
      throw new ParityError(`the tfjs model gives ${got.length} values for ${expected.length} in the ONNX file`);
    let max = 0;
    for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i]! - expected[i]!));
    return max;
  } finally {
    await session.release();
  }
}

/** A folder `dir` may be replaced by an export: absent, empty, or a previous tfjs export. */
function replaceable(dir: string): boolean {
  if (!existsSync(dir)) return true;
  return readdirSync(dir).every((f) => f === MODEL_JSON || /^group\d+-shard\d+of\d+(\.bin)?$/.test(f));
}

/** RUN_DIR or checkpoint file -> a tfjs LayersModel folder, verified against the ONNX export. */
export async function exportTfjs(source: string, dir: string, opts: { useEma?: boolean; best?: boolean } = {}): Promise<TfjsExportResult> {
  const file = checkpointFileOf(source, { best: opts.best });
  const ckpt = readCheckpoint(file);
  if (!replaceable(dir)) throw new Error(`${dir} holds other files than a tfjs model: not writing into it`);
  if (!tfjs.findBackend('wasm') && !tfjs.findBackend('tensorflow')) await selectBackend('auto');
  const { generator, ema } = restoreGenerator(ckpt, file, opts.useEma ?? true);
  const tmp = `${dir.replace(/\/+$/, '')}.tmp-${process.pid}`;
  let model: tf.LayersModel | undefined;
  let loaded: tf.LayersModel | undefined;
  try {
    const meta = checkpointMetadata(ckpt, ema);
    model = generatorLayersModel(generator, meta);
    const { json, shard } = await modelFiles(model);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileSync(path.join(tmp, MODEL_JSON), json);
    writeFileSync(path.join(tmp, SHARD), shard);
    // Check what was written, loaded back the way users load it, against the ONNX export.
    loaded = await loadLayersModelFromDir(tmp);
    const onnx = generatorGraph(generator, 'fp32', meta.imageShape).model(`onnxgan_${meta.kind}`, metadataToProps(meta), PRODUCER);
    const maxAbsDiff = await compareWithOnnx(loaded, onnx, meta);
    if (!(maxAbsDiff <= TFJS_TOLERANCE))
      throw new ParityError(
        `the tfjs model and the ONNX export differ by ${maxAbsDiff.toExponential(2)} (> ${TFJS_TOLERANCE}): not writing ${dir}`,
      );
    const old = `${tmp}-old`;
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
    return { dir, files: [MODEL_JSON, SHARD], bytes: json.length + shard.length, maxAbsDiff, metadata: meta };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    model?.dispose();
    loaded?.dispose();
    generator.dispose();
  }
}
