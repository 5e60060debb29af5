// `onnxgan triton`: a Triton Inference Server model repository from a models folder, for users who
// move on to Triton or KServe: NAME/config.pbtxt (Triton's ModelConfig in protobuf text format) and
// NAME/1/model.onnx for every generator. Triton then speaks the same Open Inference Protocol as
// `onnxgan serve`'s /v2 routes, so clients keep working.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { IO, isConditional, metadataToProps, type ModelMetadata } from '../common/metadata.js';
import { readGenerator } from './model-file.js';
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

/** A protobuf text format string literal (C escapes; UTF-8 passes through). */
const str = (s: string): string =>
  `"${[...s].map((c) => (c === '"' ? '\\"' : c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c.charCodeAt(0) < 0x20 ? `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}` : c)).join('')}"`;

/** Triton's ModelConfig for one generator. Dims exclude the batch, which max_batch_size adds. */
export function tritonConfig(name: string, meta: ModelMetadata, o: Pick<TritonOptions, 'maxBatch' | 'maxWaitMs' | 'instances' | 'gpu'>): string {
  const list = (v: number[]): string => (v.length ? `[ ${v.join(', ')} ]` : '[ ]');
  const tensor = (n: string, type: string, dims: number[], reshape?: number[]): string =>
    [`  {`, `    name: ${str(n)}`, `    data_type: ${type}`, `    dims: ${list(dims)}`, ...(reshape ? [`    reshape: { shape: ${list(reshape)} }`] : []), `  }`].join('\n');
  // A label is one int64 per row: [N] to the model. Triton's config for such inputs is dims [ 1 ]
  // reshaped to [ ] (clients send [N, 1], which /v2 of `onnxgan serve` accepts too).
  const inputs = [tensor(IO.noise, 'TYPE_FP32', [meta.noiseDim]), ...(isConditional(meta) ? [tensor(IO.label, 'TYPE_INT64', [1], [])] : [])];
  const params = Object.entries(metadataToProps(meta)).map(([k, v]) => `parameters { key: ${str(k)} value: { string_value: ${str(v)} } }`);
  return [
    `# Written by onnxgan triton. Inputs: noise [N, ${meta.noiseDim}] uniform(-1, 1)${isConditional(meta) ? `, label [N, 1] (class index)` : ''}; output: image [N, ${meta.imageShape.join(', ')}] in [${meta.valueRange.join(', ')}].`,
    `name: ${str(name)}`,
    `platform: "onnxruntime_onnx"`,
    `max_batch_size: ${o.maxBatch}`,
    `input [\n${inputs.join(',\n')}\n]`,
    `output [\n${tensor(IO.image, 'TYPE_FP32', meta.imageShape)}\n]`,
    `dynamic_batching {\n  max_queue_delay_microseconds: ${Math.round(o.maxWaitMs * 1000)}\n}`,
    `instance_group [\n  {\n    count: ${o.instances}\n    kind: ${o.gpu ? 'KIND_GPU' : 'KIND_CPU'}\n  }\n]`,
    ...params,
    '',
  ].join('\n');
}

/**
 * Checks every *.onnx of the folder first (bytes, graph and metadata, as the server does) and
 * writes nothing unless all are sound; then writes each model's folder next to its old one and
 * swaps it in, so an interrupted run never leaves half a model. Returns the models written.
 */
export async function writeTritonRepository(o: TritonOptions, progress: (line: string) => void = () => {}): Promise<string[]> {
  const files = (await fs.readdir(o.models).catch(() => {
    throw new Error(`models folder ${o.models} does not exist`);
  }))
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
  if (problems.length) throw new Error(`${problems.length} of ${files.length} models cannot be exported, nothing written: ${problems.join('; ')}`);
  await fs.mkdir(o.out, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`cannot create ${o.out}: ${e.code === 'EEXIST' || e.code === 'ENOTDIR' ? 'a file is in the way' : e.message}`);
  });
  for (const { name, bytes, meta } of found) {
    const final = path.join(o.out, name);
    const tmp = path.join(o.out, `.${name}.tmp-${process.pid}`);
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.mkdir(path.join(tmp, '1'), { recursive: true });
    await fs.writeFile(path.join(tmp, 'config.pbtxt'), tritonConfig(name, meta, o));
    await fs.writeFile(path.join(tmp, '1', 'model.onnx'), bytes);
    const old = path.join(o.out, `.${name}.old-${process.pid}`);
    const existed = await fs.rename(final, old).then(
      () => true,
      () => false,
    );
    await fs.rename(tmp, final);
    if (existed) await fs.rm(old, { recursive: true, force: true });
    progress(`${final}: config.pbtxt, 1/model.onnx (${meta.kind}, noise ${meta.noiseDim}, image [${meta.imageShape.join(', ')}]${isConditional(meta) ? `, ${meta.classes.length} classes` : ''})`);
  }
  return found.map((f) => f.name);
}
