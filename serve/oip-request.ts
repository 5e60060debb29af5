// The Open Inference Protocol (KServe v2) infer request and response for a generator, JSON and
// Triton's binary tensor data extension (a JSON header of Inference-Header-Content-Length bytes,
// then each binary tensor in order, little-endian, row-major). Validation follows the spec: every
// input the model takes, its datatype, its shape and its data's length, with 400s that say which.
import { z } from 'zod';
import { IO, isConditional, type ModelMetadata } from '../common/metadata.js';
import { ApiError } from './responses.js';

export const OIP_VERSION = '1';
export const PLATFORM = 'onnxruntime_onnx';

/** Bytes per element of the spec's tensor data types (BYTES is variable). */
const TYPE_SIZE: Record<string, number> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
  BF16: 2,
};

/** The label's shape in the graph after the batch (common/metadata.ts IO: int64 [N]). */
export const LABEL_GRAPH_SHAPE: number[] = [];

export interface TensorMetadata {
  name: string;
  datatype: 'FP32' | 'INT64';
  shape: number[];
}

/**
 * The model's tensors as the spec's metadata shows them, -1 for the batch: the one interface of
 * `onnxgan serve` and of the Triton repository `onnxgan triton` writes from it (serve/triton.ts).
 * A label is one class index per row, [-1, 1] as Triton declares it; the graph takes it as [N]
 * (LABEL_GRAPH_SHAPE), and /v2 accepts [N] too.
 */
export function modelTensors(meta: ModelMetadata): { inputs: TensorMetadata[]; outputs: TensorMetadata[] } {
  const inputs: TensorMetadata[] = [{ name: IO.noise, datatype: 'FP32', shape: [-1, meta.noiseDim] }];
  if (isConditional(meta)) inputs.push({ name: IO.label, datatype: 'INT64', shape: [-1, 1] });
  return { inputs, outputs: [{ name: IO.image, datatype: 'FP32', shape: [-1, ...meta.imageShape] }] };
}

const parameters = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
const requestSchema = z.looseObject({
  id: z.string().optional(),
  parameters: parameters.optional(),
  inputs: z
    .array(
      z.looseObject({
        name: z.string(),
        shape: z.array(z.int().min(0)),
        datatype: z.string(),
        parameters: parameters.optional(),
        data: z.unknown().optional(),
      }),
    )
    .min(1),
  outputs: z.array(z.looseObject({ name: z.string(), parameters: parameters.optional() })).optional(),
});
type RequestInput = z.output<typeof requestSchema>['inputs'][number];

export interface InferRequest {
  id?: string;
  rows: number;
  /** Row-major [rows, noiseDim]. */
  noise: Float32Array;
  labels: Int32Array | null;
  /** Return the image output as binary data (else JSON). */
  binaryOutput: boolean;
}

const bad = (message: string): ApiError => new ApiError(400, 'invalid_request', message);
const showShape = (s: number[]): string => `[${s.join(', ')}]`;

/**
 * Parses and checks one infer request body for a model. `headerLength` is the
 * Inference-Header-Content-Length header (absent: the whole body is JSON).
 */
export function parseInferRequest(body: Buffer, headerLength: string | undefined, meta: ModelMetadata, maxRows: number): InferRequest {
  let jsonBytes = body.length;
  if (headerLength !== undefined) {
    jsonBytes = Number(headerLength);
    if (!/^\d+$/.test(headerLength.trim()) || jsonBytes > body.length) {
      throw bad(`Inference-Header-Content-Length ${JSON.stringify(headerLength)} must be a byte count within the ${body.length}-byte body`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(body.subarray(0, jsonBytes).toString('utf8'));
  } catch (e) {
    throw bad(`malformed JSON${headerLength !== undefined ? ` in the ${jsonBytes}-byte inference header` : ''}: ${(e as Error).message}`);
  }
  const parsed = requestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw bad(`${issue.path.join('.') || 'request'}: ${issue.message}`);
  }
  const request = parsed.data;
  const binary = body.subarray(jsonBytes);
  const { inputs: expected, outputs } = modelTensors(meta);
  const want = (name: string): string => {
    const t = expected.find((e) => e.name === name)!;
    return `${t.datatype} ${showShape(t.shape)}`;
  };
  const takes = expected.map((e) => `${e.name} ${want(e.name)}`).join(', ');

  // Inputs by name, each once, and only the model's; binary data is taken in the inputs' order.
  const byName = new Map<string, { input: RequestInput; bytes: Buffer | null }>();
  let offset = 0;
  for (const input of request.inputs) {
    if (byName.has(input.name)) throw bad(`input "${input.name}" is given twice`);
    if (!expected.some((e) => e.name === input.name)) throw bad(`unknown input "${input.name}" (this model takes ${takes})`);
    const size = input.parameters?.binary_data_size;
    let bytes: Buffer | null = null;
    if (size !== undefined) {
      if (!(typeof size === 'number' && Number.isInteger(size) && size >= 0))
        throw bad(`input "${input.name}": binary_data_size must be a byte count, got ${JSON.stringify(size)}`);
      if (input.data !== undefined) throw bad(`input "${input.name}" has both "data" and binary_data_size`);
      if (offset + size > binary.length) {
        throw bad(
          `input "${input.name}": binary_data_size ${size} runs past the end of the body (` +
            `${binary.length - offset} bytes of binary data left)`,
        );
      }
      bytes = binary.subarray(offset, offset + size);
      offset += size;
    } else if (input.data === undefined) throw bad(`input "${input.name}" has neither "data" nor binary_data_size`);
    byName.set(input.name, { input, bytes });
  }
  if (offset !== binary.length)
    throw bad(`the body holds ${binary.length} bytes of binary tensor data but the inputs' binary_data_size add up to ${offset}`);
  for (const e of expected) if (!byName.has(e.name)) throw bad(`missing input "${e.name}" (${want(e.name)})`);
  for (const [name, { input }] of byName) {
    const datatype = input.datatype;
    if (!(datatype in TYPE_SIZE) && datatype !== 'BYTES') throw bad(`input "${name}": unknown datatype ${JSON.stringify(datatype)}`);
    const e = expected.find((t) => t.name === name)!;
    if (datatype !== e.datatype) throw bad(`input "${name}": datatype ${datatype}, expected ${e.datatype}`);
  }

  const noiseIn = byName.get(IO.noise)!;
  const shape = noiseIn.input.shape;
  if (shape.length !== 2 || shape[1] !== meta.noiseDim)
    throw bad(`input "${IO.noise}": shape ${showShape(shape)} does not match ${want(IO.noise)}`);
  const rows = shape[0]!;
  if (rows < 1) throw bad(`input "${IO.noise}": shape ${showShape(shape)} has no rows`);
  if (rows > maxRows) throw bad(`input "${IO.noise}": ${rows} rows, more than the ${maxRows} one request may hold`);
  const noise = floats(noiseIn, rows * meta.noiseDim);

  let labels: Int32Array | null = null;
  if (isConditional(meta)) {
    const labelIn = byName.get(IO.label)!;
    const ls = labelIn.input.shape;
    if (!((ls.length === 1 || (ls.length === 2 && ls[1] === 1)) && ls[0] === rows)) {
      throw bad(
        `input "${IO.label}": shape ${showShape(ls)} does not match the ${rows} row${rows > 1 ? 's' : ''} of ` +
          `"${IO.noise}" ([${rows}] or [${rows}, 1])`,
      );
    }
    labels = classIndices(labelIn, rows, meta.classes.length);
  }

  // Outputs: only the model's, each once; binary per output, else the request-wide default.
  const binaryDefault = request.parameters?.binary_data_output ?? false;
  if (typeof binaryDefault !== 'boolean') throw bad(`parameters.binary_data_output must be true or false`);
  let binaryOutput = binaryDefault;
  const seen = new Set<string>();
  for (const o of request.outputs ?? []) {
    if (!outputs.some((m) => m.name === o.name))
      throw bad(`unknown output "${o.name}" (model outputs: ${outputs.map((m) => m.name).join(', ')})`);
    if (seen.has(o.name)) throw bad(`output "${o.name}" is requested twice`);
    seen.add(o.name);
    const b = o.parameters?.binary_data ?? binaryDefault;
    if (typeof b !== 'boolean') throw bad(`output "${o.name}": binary_data must be true or false`);
    binaryOutput = b;
  }
  return { ...(request.id !== undefined ? { id: request.id } : {}), rows, noise, labels, binaryOutput };
}

/** The spec allows nested or flat row-major data; nesting deeper than the shape is refused. */
function flatten(data: unknown, name: string, depth: number): unknown[] {
  if (!Array.isArray(data)) throw bad(`input "${name}": data must be a list`);
  if (!data.some(Array.isArray)) return data;
  if (depth <= 1) throw bad(`input "${name}": data is nested deeper than its shape`);
  const out: unknown[] = [];
  for (const d of data) {
    if (Array.isArray(d)) for (const v of flatten(d, name, depth - 1)) out.push(v);
    else out.push(d);
  }
  return out;
}

function floats({ input, bytes }: { input: RequestInput; bytes: Buffer | null }, count: number): Float32Array {
  const out = new Float32Array(count);
  if (bytes) {
    if (bytes.length !== count * 4)
      throw bad(
        `input "${input.name}": binary_data_size ${bytes.length} does not match shape ` +
          `${showShape(input.shape)} of FP32 (${count * 4} bytes)`,
      );
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  } else {
    const values = flatten(input.data, input.name, input.shape.length);
    if (values.length !== count) throw bad(`input "${input.name}": ${values.length} values for shape ${showShape(input.shape)} (${count})`);
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (typeof v !== 'number') throw bad(`input "${input.name}": element ${i} is ${JSON.stringify(v)}, expected a number`);
      out[i] = v;
    }
  }
  for (let i = 0; i < count; i++)
    if (!Number.isFinite(out[i]!)) throw bad(`input "${input.name}": element ${i} is ${out[i]}, expected a finite number`);
  return out;
}

function classIndices({ input, bytes }: { input: RequestInput; bytes: Buffer | null }, rows: number, classes: number): Int32Array {
  const out = new Int32Array(rows);
  const check = (v: number | bigint, i: number): number => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 0 && n < classes))
      throw bad(`input "${input.name}": element ${i} is ${String(v)}, not a class index (0..${classes - 1})`);
    return n;
  };
  if (bytes) {
    if (bytes.length !== rows * 8)
      throw bad(
        `input "${input.name}": binary_data_size ${bytes.length} does not match shape ` +
          `${showShape(input.shape)} of INT64 (${rows * 8} bytes)`,
      );
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < rows; i++) out[i] = check(view.getBigInt64(i * 8, true), i);
  } else {
    const values = flatten(input.data, input.name, input.shape.length);
    if (values.length !== rows) throw bad(`input "${input.name}": ${values.length} values for shape ${showShape(input.shape)} (${rows})`);
    for (let i = 0; i < rows; i++) {
      const v = values[i];
      if (typeof v !== 'number') throw bad(`input "${input.name}": element ${i} is ${JSON.stringify(v)}, expected an integer`);
      out[i] = check(v, i);
    }
  }
  return out;
}

/** The response body and headers: JSON, or a JSON header followed by the image tensor's bytes. */
export function inferResponse(
  model: string,
  meta: ModelMetadata,
  request: InferRequest,
  images: Float32Array,
): { body: Buffer; headers: Record<string, string> } {
  const output = { name: IO.image, datatype: 'FP32', shape: [request.rows, ...meta.imageShape] };
  const head = { model_name: model, model_version: OIP_VERSION, ...(request.id !== undefined ? { id: request.id } : {}) };
  if (!request.binaryOutput) {
    const body = Buffer.from(JSON.stringify({ ...head, outputs: [{ ...output, data: Array.from(images) }] }));
    return { body, headers: { 'Content-Type': 'application/json' } };
  }
  const header = Buffer.from(JSON.stringify({ ...head, outputs: [{ ...output, parameters: { binary_data_size: images.byteLength } }] }));
  const data = Buffer.alloc(images.byteLength);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < images.length; i++) view.setFloat32(i * 4, images[i]!, true);
  return {
    body: Buffer.concat([header, data]),
    headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) },
  };
}
