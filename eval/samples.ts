// Sample sources for evaluation: an exported ONNX generator, or a NumPy .npy file of images.
import { existsSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { openSession } from '../backend/ort-session.js';
import { GeneratorRunner } from '../common/generator-runner.js';
import { IMAGE_PIXELS, IMAGE_SIZE, imageValues, type ModelKind } from '../common/metadata.js';
import { readModelInfo, type ModelFileInfo } from '../export/onnx-read.js';

export class SampleError extends Error {}

export interface Samples {
  /** Row-major [count, 784] in [-1, 1]. */
  images: Float32Array;
  count: number;
  /** Requested class of each sample (conditional generators / labelled .npy), else null. */
  labels: Int32Array | null;
  /** Description for reports: "onnx cgan (noise_dim 100)", "npy float32 [5000,784]". */
  source: string;
  kind: ModelKind | null;
  /** Class names the generator was trained with, when it says. */
  classes: string[] | null;
  /** Data set named in the generator's metadata (ONNX only). */
  dataset: string | null;
  /** Things the user should know (e.g. samples that look like [0, 1] images). */
  notes: string[];
}

// ---------------------------------------------------------------------------------------------
// .npy (NumPy format 1.0 / 2.0 / 3.0)

export interface NpyArray {
  dtype: string; // e.g. '<f4', '|u1'
  shape: number[];
  data:
    | Float32Array
    | Float64Array
    | Uint8Array
    | Int8Array
    | Int16Array
    | Uint16Array
    | Int32Array
    | Uint32Array
    | BigInt64Array
    | BigUint64Array;
}

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

const NPY_TYPES: Record<string, { bytes: number; make: (buf: ArrayBuffer, n: number) => NpyArray['data'] }> = {
  f4: { bytes: 4, make: (b, n) => new Float32Array(b, 0, n) },
  f8: { bytes: 8, make: (b, n) => new Float64Array(b, 0, n) },
  u1: { bytes: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  i1: { bytes: 1, make: (b, n) => new Int8Array(b, 0, n) },
  b1: { bytes: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  i2: { bytes: 2, make: (b, n) => new Int16Array(b, 0, n) },
  u2: { bytes: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  i4: { bytes: 4, make: (b, n) => new Int32Array(b, 0, n) },
  u4: { bytes: 4, make: (b, n) => new Uint32Array(b, 0, n) },
  i8: { bytes: 8, make: (b, n) => new BigInt64Array(b, 0, n) },
  u8: { bytes: 8, make: (b, n) => new BigUint64Array(b, 0, n) },
};

/** Parse a .npy file (little-endian or single-byte dtypes, C order). */
export function parseNpy(buf: Uint8Array, file: string): NpyArray {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(NPY_MAGIC)) throw new SampleError(`${file}: not a NumPy .npy file (bad magic)`);
  const major = b[6]!;
  const headerLenSize = major === 1 ? 2 : major === 2 || major === 3 ? 4 : 0;
  if (!headerLenSize) throw new SampleError(`${file}: unsupported .npy format version ${major}`);
  const headerLen = headerLenSize === 2 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = 8 + headerLenSize + headerLen;
  if (b.length < start) throw new SampleError(`${file}: truncated .npy header`);
  const header = b.subarray(8 + headerLenSize, start).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw new SampleError(`${file}: unreadable .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') throw new SampleError(`${file}: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new SampleError(`${file}: bad shape (${shapeText})`);
  const order = descr[0];
  const kind = descr.slice(1);
  const t = NPY_TYPES[kind];
  if (!t || !'<|='.includes(order ?? '') || (order === '=' && t.bytes > 1 && !isLittleEndianHost())) {
    throw new SampleError(`${file}: unsupported dtype '${descr}' (use float32, float64, uint8 or a little-endian integer type)`);
  }
  if (t.bytes > 1 && order === '|') throw new SampleError(`${file}: unsupported dtype '${descr}'`);
  const count = shape.reduce((a, d) => a * d, 1);
  const need = count * t.bytes;
  if (b.length - start < need)
    throw new SampleError(`${file}: truncated data (${b.length - start} bytes, shape [${shape}] of ${descr} needs ${need})`);
  // Copy to an aligned buffer of its own.
  const copy = new ArrayBuffer(need);
  new Uint8Array(copy).set(b.subarray(start, start + need));
  return { dtype: descr, shape, data: t.make(copy, count) };
}

const isLittleEndianHost = (): boolean => new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Serialise a float32 / uint8 / int64 / int32 array as .npy (format 1.0). */
export function encodeNpy(data: Float32Array | Uint8Array | BigInt64Array | Int32Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Uint8Array ? '|u1' : data instanceof BigInt64Array ? '<i8' : '<i4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  NPY_MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** The labels file beside a samples file: x.npy -> x.labels.npy. */
export const labelsPathFor = (file: string): string => file.replace(/\.npy$/i, '') + '.labels.npy';

/**
 * Read samples from a .npy file: float32/float64 in [-1, 1] or uint8 in 0..255, of shape [n, 784],
 * [n, 28, 28] or [n, 1, 28, 28]. A sibling `<name>.labels.npy` (integers, shape [n]) gives the
 * requested class of each sample. At most `limit` samples are used.
 */
export function readNpySamples(file: string, limit: number, numClasses: number): Samples {
  if (!existsSync(file)) throw new SampleError(`${file}: no such file`);
  const arr = parseNpy(readFileSync(file), file);
  const s = arr.shape;
  const okShape =
    (s.length === 2 && s[1] === IMAGE_PIXELS) ||
    (s.length === 3 && s[1] === IMAGE_SIZE && s[2] === IMAGE_SIZE) ||
    (s.length === 4 && s[1] === 1 && s[2] === IMAGE_SIZE && s[3] === IMAGE_SIZE);
  if (!okShape) throw new SampleError(`${file}: samples have shape [${s}]; expected [n, 784], [n, 28, 28] or [n, 1, 28, 28]`);
  const total = s[0]!;
  if (total < 1) throw new SampleError(`${file}: holds no samples`);
  const count = Math.min(total, limit);
  const images = new Float32Array(count * IMAGE_PIXELS);
  const notes: string[] = [];
  if (total > limit) notes.push(`${file}: scored the first ${count} of ${total} samples (--n ${limit})`);
  else if (total < limit) notes.push(`${file}: holds ${total} samples (fewer than --n ${limit})`);
  const d = arr.data;
  if (d instanceof Uint8Array && arr.dtype !== '|b1') {
    for (let i = 0; i < images.length; i++) images[i] = (d[i]! / 255) * 2 - 1;
  } else if (d instanceof Float32Array || d instanceof Float64Array) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < images.length; i++) {
      const v = d[i]!;
      if (!Number.isFinite(v)) throw new SampleError(`${file}: sample ${Math.floor(i / IMAGE_PIXELS)} holds a non-finite value (${v})`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      images[i] = v;
    }
    const tol = 1e-3;
    if (lo < -1 - tol || hi > 1 + tol) {
      const hint = hi > 1.5 ? ' (0..255 pixels? save them as uint8)' : '';
      throw new SampleError(
        `${file}: float samples must be in [-1, 1]; found values in [${lo.toPrecision(4)}, ${hi.toPrecision(4)}]${hint}`,
      );
    }
    if (lo >= -tol) notes.push(`${file}: no negative values: are the samples in [0, 1]? float samples must be in [-1, 1] (x * 2 - 1)`);
  } else {
    throw new SampleError(`${file}: samples must be float32, float64 or uint8, not '${arr.dtype}'`);
  }
  const labelFile = labelsPathFor(file);
  let labels: Int32Array | null = null;
  if (existsSync(labelFile)) {
    const l = parseNpy(readFileSync(labelFile), labelFile);
    if (l.shape.length !== 1 || l.shape[0] !== total)
      throw new SampleError(`${labelFile}: labels have shape [${l.shape}]; expected [${total}] (one per sample in ${file})`);
    if (l.data instanceof Float32Array || l.data instanceof Float64Array)
      throw new SampleError(`${labelFile}: labels must be integers, not '${l.dtype}'`);
    labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const v = Number(l.data[i]!);
      if (!Number.isInteger(v) || v < 0 || v >= numClasses)
        throw new SampleError(`${labelFile}: label ${v} at index ${i} is out of range 0..${numClasses - 1}`);
      labels[i] = v;
    }
  }
  return {
    images,
    count,
    labels,
    source: `npy ${arr.dtype} [${s}]${labels ? ' + labels' : ''}`,
    kind: null,
    classes: null,
    dataset: null,
    notes,
  };
}

// ---------------------------------------------------------------------------------------------
// ONNX generators

/** A generator file read once: its bytes (for the session) and its interface and metadata. */
export interface GeneratorFile {
  bytes: Uint8Array;
  info: ModelFileInfo;
}

/** The .onnx file read and decoded once, or null when it is no readable generator (generateOnnxSamples then says why). */
export function readGeneratorFile(file: string): GeneratorFile | null {
  if (!/\.onnx$/i.test(file) || !existsSync(file)) return null;
  try {
    const bytes = readFileSync(file);
    return { bytes, info: readModelInfo(file, bytes) };
  } catch {
    return null;
  }
}

export interface OnnxSampleOptions {
  n: number;
  /** The file as evaluate() read it already (else it is read here). */
  model?: GeneratorFile | null;
  seed: number;
  batch?: number;
  /** Called after each batch with the samples made so far. */
  onProgress?: (done: number) => void;
}

/**
 * Generate n samples with an exported generator: noise = generatorNoise(seed, n, noise_dim), run in
 * batches; conditional models get labels cycling through the classes (i mod K).
 */
export async function generateOnnxSamples(file: string, o: OnnxSampleOptions): Promise<Samples> {
  if (!existsSync(file)) throw new SampleError(`${file}: no such file`);
  const bytes = o.model?.bytes ?? readFileSync(file);
  const m = (o.model?.info ?? readModelInfo(file, bytes)).metadata;
  let session: ort.InferenceSession;
  try {
    session = await openSession(bytes, 'check');
  } catch (e) {
    throw new SampleError(`${file}: onnxruntime cannot load it (${(e as Error).message})`);
  }
  const n = o.n;
  const batch = o.batch ?? 250;
  const v = imageValues(m.imageShape); // [N, C, H, W] rows, planar
  const images = new Float32Array(n * v);
  let labels: Int32Array | null;
  try {
    const runner = new GeneratorRunner(session, ort.Tensor, m);
    const noise = runner.noise(o.seed, n);
    labels = runner.labels(n);
    for (let start = 0; start < n; start += batch) {
      const end = Math.min(start + batch, n);
      const rows = await runner
        .run(noise.slice(start * m.noiseDim, end * m.noiseDim), labels?.subarray(start, end) ?? null)
        .catch((e: Error) => {
          throw new SampleError(`${file}: samples ${start}..${end - 1}: ${e.message}`);
        });
      images.set(rows, start * v);
      o.onProgress?.(end);
    }
  } catch (e) {
    throw e instanceof SampleError ? e : new SampleError(`${file}: ${(e as Error).message}`);
  } finally {
    await session.release();
  }
  return {
    images,
    count: n,
    labels,
    source: `onnx ${m.kind} (noise_dim ${m.noiseDim}, ${m.dataset}, ${m.epochs} epochs)`,
    kind: m.kind,
    classes: m.classes,
    dataset: m.dataset ?? null,
    notes: [],
  };
}
