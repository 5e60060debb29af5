// Reads a tfjs model from disk: model.json (a LayersModel's Keras topology or a GraphModel's
// GraphDef) and every shard of every weight group in its manifest, checked against the manifest.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { checkSpec, decodeGroup, type Weight, type WeightSpec } from './weights.js';

export type ModelFormat = 'layers-model' | 'graph-model';

export interface TfjsModel {
  file: string;
  format: ModelFormat;
  /** model.json as parsed. */
  json: ModelJson;
  /** Keras topology (layers) or GraphDef in its JSON form (graph). */
  topology: Record<string, unknown>;
  /** Every manifest entry, group after group: the order of `data`. */
  specs: WeightSpec[];
  /** All groups' shards concatenated, as tfjs's loaders hand them to tf.io.decodeWeights. */
  data: Uint8Array;
  /** Decoded weights by name. */
  weights: Map<string, Weight>;
  shards: number;
}

export interface ModelJson {
  format?: string;
  modelTopology?: unknown;
  weightsManifest?: unknown;
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  generatedBy?: string;
  convertedBy?: string | null;
  [key: string]: unknown;
}

export class TfjsModelError extends Error {}

function parseJson(file: string): ModelJson {
  if (!existsSync(file)) throw new TfjsModelError(`${file}: no such file`);
  if (statSync(file).isDirectory()) {
    const inside = path.join(file, 'model.json');
    if (existsSync(inside)) return parseJson(inside);
    throw new TfjsModelError(`${file}: a folder without model.json`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TfjsModelError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new TfjsModelError(`${file}: not a tfjs model.json (expected an object with modelTopology and weightsManifest)`);
  return json as ModelJson;
}

/** Which kind of model: the declared format, else what the topology looks like. */
function formatOf(json: ModelJson, file: string): ModelFormat {
  const t = json.modelTopology as Record<string, unknown> | undefined;
  if (!t || typeof t !== 'object') throw new TfjsModelError(`${file}: no modelTopology: not a tfjs model.json`);
  if (json.format === 'layers-model' || json.format === 'graph-model') return json.format;
  if (Array.isArray(t.node)) return 'graph-model';
  if (typeof t.class_name === 'string' || (t.model_config && typeof t.model_config === 'object')) return 'layers-model';
  throw new TfjsModelError(`${file}: modelTopology is neither a Keras model (class_name) nor a TensorFlow GraphDef (node)`);
}

/** Reads model.json (or DIR/model.json) and all its weights; throws one clear error on any mismatch. */
export function readTfjsModel(input: string): TfjsModel {
  const json = parseJson(input);
  const file = statSync(input).isDirectory() ? path.join(input, 'model.json') : input;
  const format = formatOf(json, file);
  const dir = path.dirname(path.resolve(file));
  const manifest = json.weightsManifest ?? [];
  if (!Array.isArray(manifest)) throw new TfjsModelError(`${file}: weightsManifest is not a list of weight groups`);
  const specs: WeightSpec[] = [];
  const parts: Uint8Array[] = [];
  const weights = new Map<string, Weight>();
  let shards = 0;
  manifest.forEach((group: { paths?: unknown; weights?: unknown }, g) => {
    const where = `${file}: weight group ${g + 1}`;
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new TfjsModelError(`${where} has no paths or weights list`);
    const entries = group.weights as unknown[];
    entries.forEach((s) => checkSpec(s, where));
    const files = (group.paths as unknown[]).map((p) => {
      if (typeof p !== 'string' || p === '') throw new TfjsModelError(`${where}: a shard path is not a file name`);
      const shard = path.resolve(dir, p);
      if (path.relative(dir, shard).startsWith('..') || path.isAbsolute(p)) throw new TfjsModelError(`${where}: shard "${p}" is outside the model's folder`);
      if (!existsSync(shard)) throw new TfjsModelError(`${where}: shard ${p} is missing (next to ${path.basename(file)})`);
      return shard;
    });
    const bytes = concat(files.map((f) => readFileSync(f)));
    const what = `${where} (${(group.paths as string[]).join(', ')})`;
    for (const [name, w] of decodeGroup(entries as WeightSpec[], bytes, what)) {
      if (weights.has(name)) throw new TfjsModelError(`${file}: weight "${name}" appears twice in the manifest`);
      weights.set(name, w);
    }
    specs.push(...(entries as WeightSpec[]));
    parts.push(bytes);
    shards += files.length;
  });
  return { file, format, json, topology: json.modelTopology as Record<string, unknown>, specs, data: concat(parts), weights, shards };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
