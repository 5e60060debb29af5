// Writes real tfjs models to disk in the format tensorflowjs_converter and tfjs's model.save() write:
// model.json (format, generatedBy, convertedBy, modelTopology, weightsManifest) and binary shards,
// with the converter's optional weight quantization (uint8/uint16 affine with a nudged zero, float16).
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { toHalfBits } from '../../common/onnx-graph.js';

export type Quantization = 'uint8' | 'uint16' | 'float16';

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  data: Float32Array | Int32Array | Uint8Array;
}

export interface WriteOptions {
  /** Quantize float32 weights whose name matches (every one when no pattern). */
  quantize?: { dtype: Quantization; match?: RegExp };
  /** Shard size in bytes (tensorflowjs_converter: 4 MB). */
  shardBytes?: number;
  /** Split the weights into this many groups. */
  groups?: number;
}

/** tensorflowjs quantization.py: affine over [min, max] with zero exactly representable (nudged). */
function quantize(data: Float32Array, dtype: Quantization): { bytes: Uint8Array; meta: Record<string, number | string> } {
  if (dtype === 'float16') return { bytes: new Uint8Array(Uint16Array.from(data, toHalfBits).buffer), meta: { dtype } };
  const qmax = dtype === 'uint8' ? 255 : 65535;
  let min = Infinity;
  let max = -Infinity;
  for (const v of data) [min, max] = [Math.min(min, v), Math.max(max, v)];
  let scale = 1;
  let q: number[];
  if (min === max) q = Array.from(data, () => 0);
  else {
    scale = (max - min) / qmax;
    if (min <= 0 && 0 <= max) {
      const zero = Math.round((0 - min) / scale);
      min = -zero * scale;
      max = qmax * scale + min;
    }
    q = Array.from(data, (v) => Math.round((Math.min(max, Math.max(min, v)) - min) / scale));
  }
  const arr = dtype === 'uint8' ? Uint8Array.from(q) : Uint16Array.from(q);
  return { bytes: new Uint8Array(arr.buffer), meta: { dtype, min, scale, original_dtype: 'float32' } };
}

/** Writes model.json + shards for a topology and its weights. */
export function writeModel(dir: string, json: Record<string, unknown>, weights: WeightEntry[], o: WriteOptions = {}): string {
  mkdirSync(dir, { recursive: true });
  const groups = Math.max(1, Math.min(o.groups ?? 1, weights.length));
  const per = Math.ceil(weights.length / groups);
  const manifest = [];
  for (let g = 0; g < groups; g++) {
    const entries = weights.slice(g * per, (g + 1) * per);
    const specs: Record<string, unknown>[] = [];
    const chunks: Uint8Array[] = [];
    for (const w of entries) {
      const spec: Record<string, unknown> = { name: w.name, shape: w.shape, dtype: w.dtype };
      const q =
        o.quantize && w.dtype === 'float32' && (!o.quantize.match || o.quantize.match.test(w.name))
          ? quantize(w.data as Float32Array, o.quantize.dtype)
          : null;
      if (q) spec.quantization = q.meta;
      chunks.push(q ? q.bytes : new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
      specs.push(spec);
    }
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    const shard = o.shardBytes ?? 4 * 1024 * 1024;
    const count = Math.max(1, Math.ceil(all.length / shard));
    const paths: string[] = [];
    for (let s = 0; s < count; s++) {
      const file = `group${g + 1}-shard${s + 1}of${count}.bin`;
      writeFileSync(path.join(dir, file), all.subarray(s * shard, (s + 1) * shard));
      paths.push(file);
    }
    manifest.push({ paths, weights: specs });
  }
  const file = path.join(dir, 'model.json');
  writeFileSync(file, JSON.stringify({ ...json, weightsManifest: manifest }));
  return file;
}

/** A LayersModel as model.save() writes it, optionally quantized and sharded like the converter. */
export async function saveLayersModel(model: tf.LayersModel, dir: string, o: WriteOptions = {}): Promise<string> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts!;
  const data = new Uint8Array(a.weightData as ArrayBuffer);
  let offset = 0;
  const weights = a.weightSpecs!.map((s) => {
    const n = s.shape.reduce((x, y) => x * y, 1);
    const bytes = data.slice(offset, offset + n * 4);
    offset += n * 4;
    const w: WeightEntry = {
      name: s.name,
      shape: s.shape,
      dtype: s.dtype as 'float32',
      data: s.dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer),
    };
    return w;
  });
  return writeModel(
    dir,
    {
      format: 'layers-model',
      generatedBy: a.generatedBy,
      convertedBy: o.quantize ? 'TensorFlow.js Converter v4.22.0' : null,
      modelTopology: a.modelTopology,
    },
    weights,
    o,
  );
}

/** Every BatchNormalization's moving statistics set to non-trivial values (fresh layers have 0 and 1). */
export function randomiseBatchNorm(model: tf.LayersModel, seed = 1): void {
  let s = seed;
  const next = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const visit = (m: tf.LayersModel): void => {
    for (const l of m.layers) {
      if ('layers' in l) visit(l as tf.LayersModel);
      if (l.getClassName() !== 'BatchNormalization' && l.getClassName() !== 'LayerNormalization') continue;
      l.setWeights(
        l.getWeights().map((w) => {
          const n = w.size;
          const name = w.name ?? '';
          void name;
          return tf.tensor(
            Float32Array.from({ length: n }, () => 0.5 + next()),
            w.shape,
          );
        }),
      );
    }
  };
  visit(model);
}

/** The model artifacts of a model.json folder, read the way tfjs's HTTP and file loaders read them. */
export async function artifactsFromDir(dir: string): Promise<tf.io.ModelArtifacts> {
  const { readFileSync } = await import('node:fs');
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const data = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => readFileSync(path.join(dir, p)))));
    return [manifest.flatMap((g) => g.weights), data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer];
  });
}
