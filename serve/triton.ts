// `onnxgan triton`: a Triton Inference Server model repository from a models folder, for users who
// move on to Triton or KServe: NAME/config.pbtxt (Triton's ModelConfig in protobuf text format) and
// NAME/1/model.onnx for every generator. Triton then speaks the same Open Inference Protocol as
// `onnxgan serve`'s /v2 routes, so clients keep working.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { IO, isConditional, metadataToProps, type ModelMetadata } from '../common/metadata.js';
import { readGenerator } from './model-file.js';
import { LABEL_GRAPH_SHAPE, modelTensors, PLATFORM, type TensorMetadata } from './oip-request.js';
import { MODEL_NAME } from './schemas.js';

export interface TritonOptions {
  models: string;
  out: string;
  /** Triton's max_batch_size: rows per run, and the most one request may hold. */
  maxBatch: number;
  /** dynamic_batching's max_queue_delay_microseconds, in ms. */
  maxWaitMs: number;
  /** instance_group count. */
  instances: number;
  /** instance_group kind: KIND_CPU, or KIND_GPU with --gpu. */
  gpu: boolean;
}

/** One character of a protobuf text format string literal, escaped. */
const escapeChar = (c: string): string =>
  c === '"'
    ? '\\"'
    : c === '\\'
      ? '\\\\'
      : c === '\n'
        ? '\\n'
        : c.charCodeAt(0) < 0x20
          ? `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`
          : c;
/** A protobuf text format string literal (C escapes; UTF-8 passes through). */
const str = (s: string): string => `"${[...s].map((c) => escapeChar(c)).join('')}"`;

/** Triton's ModelConfig for one generator: the tensors of serve/oip-request.ts, dims without the batch (max_batch_size adds it). */
export function tritonConfig(
  name: string,
  meta: ModelMetadata,
  o: Pick<TritonOptions, 'maxBatch' | 'maxWaitMs' | 'instances' | 'gpu'>,
): string {
  const list = (v: number[]): string => (v.length ? `[ ${v.join(', ')} ]` : '[ ]');
  const tensor = ({ name: n, datatype, shape }: TensorMetadata): string =>
    [
      `  {`,
      `    name: ${str(n)}`,
      `    data_type: TYPE_${datatype}`,
      `    dims: ${list(shape.slice(1))}`,
      // Clients send a label as [N, 1]; the graph takes [N].
      ...(n === IO.label ? [`    reshape: { shape: ${list(LABEL_GRAPH_SHAPE)} }`] : []),
      `  }`,
    ].join('\n');
  const { inputs, outputs } = modelTensors(meta);
  const params = Object.entries(metadataToProps(meta)).map(([k, v]) => `parameters { key: ${str(k)} value: { string_value: ${str(v)} } }`);
  return [
    `# Written by onnxgan triton. Inputs: noise [N, ${meta.noiseDim}] uniform(-1, 1)` +
      `${isConditional(meta) ? `, label [N, 1] (class index)` : ''}; output: image [N, ` +
      `${meta.imageShape.join(', ')}] in [${meta.valueRange.join(', ')}].`,
    `name: ${str(name)}`,
    `platform: ${str(PLATFORM)}`,
    `max_batch_size: ${o.maxBatch}`,
    `input [\n${inputs.map(tensor).join(',\n')}\n]`,
    `output [\n${outputs.map(tensor).join(',\n')}\n]`,
    `dynamic_batching {\n  max_queue_delay_microseconds: ${Math.round(o.maxWaitMs * 1000)}\n}`,
    `instance_group [\n  {\n    count: ${o.instances}\n    kind: ${o.gpu ? 'KIND_GPU' : 'KIND_CPU'}\n  }\n]`,
    ...params,
    '',
  ].join('\n');
}

/**
 * Checks every *.onnx of the folder first (bytes, graph and metadata, as the server does) and
 * writes nothing unless all are sound; then stages every model's folder next to the old ones and
 * swaps them in only once all are written. A failure (a full disk) removes what this run wrote and
 * leaves the repository as it was. Returns the models written.
 */
export async function writeTritonRepository(o: TritonOptions, progress: (line: string) => void = () => {}): Promise<string[]> {
  const files = (
    await fs.readdir(o.models).catch(() => {
      throw new Error(`models folder ${o.models} does not exist`);
    })
  )
    .filter((f) => f.endsWith('.onnx'))
    .sort();
  if (files.length === 0) throw new Error(`no .onnx models in ${o.models}`);
  const problems: string[] = [];
  const found: { name: string; bytes: Buffer; meta: ModelMetadata }[] = [];
  for (const f of files) {
    const name = f.slice(0, -'.onnx'.length);
    if (!MODEL_NAME.test(name) || /^\.+$/.test(name)) {
      problems.push(`${f}: invalid model name (file names must match ${MODEL_NAME.source})`);
      continue;
    }
    try {
      const { bytes, meta } = await readGenerator(path.join(o.models, f));
      found.push({ name, bytes, meta });
    } catch (e) {
      problems.push((e as Error).message.replaceAll(path.join(o.models, f), f));
    }
  }
  if (problems.length)
    throw new Error(`${problems.length} of ${files.length} models cannot be exported, nothing written: ${problems.join('; ')}`);
  const created = await fs.mkdir(o.out, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`cannot create ${o.out}: ${e.code === 'EEXIST' || e.code === 'ENOTDIR' ? 'a file is in the way' : e.message}`);
  });
  const staged = found.map((f) => ({
    ...f,
    final: path.join(o.out, f.name),
    tmp: path.join(o.out, `.${f.name}.tmp-${process.pid}`),
    old: path.join(o.out, `.${f.name}.old-${process.pid}`),
  }));
  const swapped: { m: (typeof staged)[number]; existed: boolean }[] = [];
  try {
    for (const { name, bytes, meta, tmp } of staged) {
      await fs.rm(tmp, { recursive: true, force: true });
      await fs.mkdir(path.join(tmp, '1'), { recursive: true });
      await fs.writeFile(path.join(tmp, 'config.pbtxt'), tritonConfig(name, meta, o));
      await fs.writeFile(path.join(tmp, '1', 'model.onnx'), bytes);
    }
    for (const m of staged) {
      const existed = await fs.rename(m.final, m.old).then(
        () => true,
        (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? false : Promise.reject(e)),
      );
      try {
        await fs.rename(m.tmp, m.final);
      } catch (e) {
        if (existed) await fs.rename(m.old, m.final);
        throw e;
      }
      swapped.push({ m, existed });
    }
  } catch (e) {
    // Undo: the swapped models get their old folders back (or go), every staged folder goes.
    for (const { m, existed } of swapped.reverse()) {
      await fs.rm(m.final, { recursive: true, force: true }).catch(() => {});
      if (existed) await fs.rename(m.old, m.final).catch(() => {});
    }
    for (const m of staged) await fs.rm(m.tmp, { recursive: true, force: true }).catch(() => {});
    if (created !== undefined) await fs.rm(created, { recursive: true, force: true }).catch(() => {});
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOSPC' ? 'no space left on the device' : err.code === 'EDQUOT' ? 'disk quota exceeded' : err.message;
    throw new Error(`cannot write the model repository ${o.out}: ${why}; it is left as it was`, { cause: e });
  }
  for (const m of staged) {
    await fs.rm(m.old, { recursive: true, force: true });
    progress(
      `${m.final}: config.pbtxt, 1/model.onnx (${m.meta.kind}, noise ${m.meta.noiseDim}, image [` +
        `${m.meta.imageShape.join(', ')}]${isConditional(m.meta) ? `, ${m.meta.classes.length} classes` : ''}` +
        `)`,
    );
  }
  return found.map((f) => f.name);
}
