// Reads a tfjs model from disk: model.json (a LayersModel's Keras topology or a GraphModel's
// GraphDef) and every shard of every weight group in its manifest, checked against the manifest.
import { realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { openErrorText, readRegularFile } from '../common/regular-file.js';
import { checkGraphDef } from './graphdef.js';
import { checkKerasTopology } from './keras-topology.js';
import { MAX_MODEL_JSON_BYTES, MAX_WEIGHT_BYTES } from './limits.js';
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
  /** Every file read (model.json, then the shards), as the file system identifies them: outputs must be none of them. */
  inputs: { file: string; dev: number; ino: number }[];
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

/** model.json's path: the file, or model.json inside a folder. */
function modelJsonPath(input: string): string {
  let st: Stats;
  try {
    st = statSync(input);
  } catch (e) {
    throw new TfjsModelError(`${input}: ${openErrorText(e)}`);
  }
  if (!st.isDirectory()) return input;
  const inside = path.join(input, 'model.json');
  if (!statSync(inside, { throwIfNoEntry: false })) throw new TfjsModelError(`${input}: a folder without model.json`);
  return inside;
}

function parseJson(file: string): { json: ModelJson; stat: Stats } {
  const { bytes, stat } = readRegularFile(file, MAX_MODEL_JSON_BYTES);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new TfjsModelError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new TfjsModelError(`${file}: not a tfjs model.json (expected an object with modelTopology and weightsManifest)`);
  return { json: json as ModelJson, stat };
}

/**
 * A manifest's shard path as a file inside the model's folder (`dir`, links resolved), or an error:
 * tfjs fetches paths relative to model.json, so a URL, an absolute path, `..` or a link leading out
 * of the folder would read what the model's author chose from anywhere.
 */
function shardFile(dir: string, p: string, where: string, modelJson: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(p))
    throw new TfjsModelError(`${where}: shard "${p}" is a URL: only files in the model's folder are read`);
  if (path.isAbsolute(p) || p.split(/[/\\]/).includes('..'))
    throw new TfjsModelError(`${where}: shard "${p}" is outside the model's folder`);
  if (p.includes('\0')) throw new TfjsModelError(`${where}: shard "${p}" is not a file name`);
  let real: string;
  try {
    real = realpathSync(path.join(dir, p));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new TfjsModelError(`${where}: shard ${p} is missing (next to ${path.basename(modelJson)})`);
    throw new TfjsModelError(`${where}: shard ${p}: ${openErrorText(e)}`);
  }
  if (path.relative(dir, real).split(path.sep)[0] === '..' || path.isAbsolute(path.relative(dir, real))) {
    throw new TfjsModelError(`${where}: shard "${p}" is a link to ${real}, outside the model's folder`);
  }
  return real;
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
  const file = modelJsonPath(input);
  const { json, stat } = parseJson(file);
  const format = formatOf(json, file);
  // The topology before tfjs sees it: its builders loop forever on dangling names and cycles.
  if (format === 'layers-model') checkKerasTopology(json.modelTopology as Record<string, unknown>, file);
  else checkGraphDef(json.modelTopology, json.signature, file);
  const dir = realpathSync(path.dirname(path.resolve(file)));
  const manifest = json.weightsManifest ?? [];
  if (!Array.isArray(manifest)) throw new TfjsModelError(`${file}: weightsManifest is not a list of weight groups`);
  const specs: WeightSpec[] = [];
  const parts: Uint8Array[] = [];
  const weights = new Map<string, Weight>();
  const inputs: TfjsModel['inputs'] = [{ file, dev: stat.dev, ino: stat.ino }];
  let shards = 0;
  let read = 0;
  manifest.forEach((group: { paths?: unknown; weights?: unknown }, g) => {
    const where = `${file}: weight group ${g + 1}`;
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights))
      throw new TfjsModelError(`${where} has no paths or weights list`);
    const entries = group.weights as unknown[];
    entries.forEach((s) => checkSpec(s, where));
    const files = (group.paths as unknown[]).map((p) => {
      if (typeof p !== 'string' || p === '') throw new TfjsModelError(`${where}: a shard path is not a file name`);
      return { name: p, real: shardFile(dir, p, where, file) };
    });
    const bytes = concat(
      files.map((f) => {
        const r = readRegularFile(
          f.real,
          MAX_WEIGHT_BYTES - read,
          `${where}: shard ${f.name}`,
          'an ONNX file can hold (2 GiB, all shards together)',
        );
        read += r.bytes.length;
        inputs.push({ file: f.real, dev: r.stat.dev, ino: r.stat.ino });
        return r.bytes;
      }),
    );
    const what = `${where} (${files.map((f) => f.name).join(', ')})`;
    for (const [name, w] of decodeGroup(entries as WeightSpec[], bytes, what)) {
      if (weights.has(name)) throw new TfjsModelError(`${file}: weight "${name}" appears twice in the manifest`);
      weights.set(name, w);
    }
    specs.push(...(entries as WeightSpec[]));
    parts.push(bytes);
    shards += files.length;
  });
  return {
    file,
    format,
    json,
    topology: json.modelTopology as Record<string, unknown>,
    specs,
    data: concat(parts),
    weights,
    shards,
    inputs,
  };
}

/**
 * Throws unless `out` is a new file or a file that is none of the model's own (whatever the spelling:
 * links, `..`, hard links are compared by device and inode): writing it must not destroy an input.
 */
export function checkOutputPath(out: string, files: Pick<TfjsModel, 'inputs' | 'file'>): void {
  let st: Stats | undefined;
  try {
    st = statSync(out, { throwIfNoEntry: false });
  } catch {
    return; // a link loop or an unreadable path: not an input, and the write replaces the name itself
  }
  if (!st) return;
  if (st.isDirectory()) throw new TfjsModelError(`--out ${out} is a folder: name the .onnx file to write`);
  const same = files.inputs.find((i) => i.dev === st.dev && i.ino === st.ino);
  if (same)
    throw new TfjsModelError(
      `--out ${out} is ${same.file === files.file ? 'the model.json' : `the weight shard ${same.file}`} ` +
        `being converted: writing it would destroy the input; choose another --out`,
    );
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
