// The tfjs weights format (tfjs-core io_utils, tensorflowjs write_weights.py): each manifest group's
// shards, concatenated, hold its weights back to back, each prod(shape) values of its dtype, or of its
// quantization dtype (uint8/uint16: value = q * scale + min; float16: IEEE half). Decoded here
// independently of tfjs, so the parity check also checks this reader against tfjs's own.

/** One entry of a model.json weightsManifest group. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number; original_dtype?: string };
}

export type WeightDType = 'float32' | 'int32' | 'bool';

/** A decoded weight: float32, int32 or bool values; `half` keeps a float16 weight's original bits. */
export interface Weight {
  name: string;
  shape: number[];
  dtype: WeightDType;
  data: Float32Array | Int32Array | Uint8Array;
  half?: Uint16Array;
}

export class WeightsError extends Error {}

const VALUE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };
const STORED_DTYPES = ['float32', 'int32', 'bool', 'string', 'complex64'];
const QUANTIZATIONS = ['uint8', 'uint16', 'float16'];

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Throws unless the manifest entry is well formed (name, shape, known dtype and quantization). */
export function checkSpec(spec: unknown, where: string): asserts spec is WeightSpec {
  const s = spec as Partial<WeightSpec> | null;
  if (!s || typeof s !== 'object' || typeof s.name !== 'string') throw new WeightsError(`${where}: a weight entry without a name`);
  if (!Array.isArray(s.shape) || !s.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new WeightsError(`${where}: weight "${s.name}" has shape ${JSON.stringify(s.shape)}, not a list of sizes`);
  }
  if (!STORED_DTYPES.includes(s.dtype as string)) {
    throw new WeightsError(
      `${where}: weight "${s.name}" has unknown dtype ${JSON.stringify(s.dtype)} (tfjs weights are ${STORED_DTYPES.join(', ')})`,
    );
  }
  const q = s.quantization;
  if (q !== undefined) {
    if (!q || !QUANTIZATIONS.includes(q.dtype)) {
      throw new WeightsError(
        `${where}: weight "${s.name}" has unknown quantization ${JSON.stringify(q?.dtype)} (tfjs knows ${QUANTIZATIONS.join(', ')})`,
      );
    }
    if (q.dtype === 'float16' ? s.dtype !== 'float32' : s.dtype !== 'float32' && s.dtype !== 'int32') {
      throw new WeightsError(`${where}: weight "${s.name}" is ${s.dtype} quantized as ${q.dtype}, which tfjs does not decode`);
    }
    if (q.dtype !== 'float16' && !(Number.isFinite(q.min) && Number.isFinite(q.scale))) {
      throw new WeightsError(`${where}: weight "${s.name}" is quantized as ${q.dtype} without numeric min and scale`);
    }
  }
}

/** Bytes the weight at `offset` occupies (strings carry a 4-byte length before each value). */
export function weightBytes(spec: WeightSpec, data: Uint8Array, offset: number): number {
  if (spec.quantization) return size(spec.shape) * VALUE_BYTES[spec.quantization.dtype]!;
  if (spec.dtype !== 'string') return size(spec.shape) * VALUE_BYTES[spec.dtype]!;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = offset;
  for (let i = 0; i < size(spec.shape); i++) {
    if (at + 4 > data.length) return Infinity;
    at += 4 + view.getUint32(at, true);
  }
  return at - offset;
}

/** float16 bits -> float32 (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Copy `length` bytes at `offset` into an aligned buffer (shards concatenate at any byte offset). */
const aligned = (data: Uint8Array, offset: number, length: number): ArrayBuffer =>
  data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + length) as ArrayBuffer;

function decodeOne(spec: WeightSpec, data: Uint8Array, offset: number, length: number): Weight | null {
  const { name, shape } = spec;
  const q = spec.quantization;
  const raw = aligned(data, offset, length);
  if (q) {
    if (q.dtype === 'float16') {
      const half = new Uint16Array(raw);
      return { name, shape, dtype: 'float32', data: Float32Array.from(half, halfToFloat), half };
    }
    const quantized = q.dtype === 'uint8' ? new Uint8Array(raw) : new Uint16Array(raw);
    const { min, scale } = q as { min: number; scale: number };
    // The same float64 arithmetic as tfjs (q * scale + min, rounded for int32).
    if (spec.dtype === 'int32')
      return { name, shape, dtype: 'int32', data: Int32Array.from(quantized, (v) => Math.round(v * scale + min)) };
    return { name, shape, dtype: 'float32', data: Float32Array.from(quantized, (v) => v * scale + min) };
  }
  switch (spec.dtype) {
    case 'float32':
      return { name, shape, dtype: 'float32', data: new Float32Array(raw) };
    case 'int32':
      return { name, shape, dtype: 'int32', data: new Int32Array(raw) };
    case 'bool':
      return { name, shape, dtype: 'bool', data: new Uint8Array(raw) };
    default:
      return null; // string and complex64 weights: skipped (no model op here uses them)
  }
}

/**
 * Decode one group's weights from its concatenated shards. Throws naming the group's files when
 * their size does not match what the manifest describes.
 */
export function decodeGroup(specs: WeightSpec[], data: Uint8Array, what: string): Map<string, Weight> {
  const out = new Map<string, Weight>();
  let offset = 0;
  for (const spec of specs) {
    const length = weightBytes(spec, data, offset);
    if (offset + length > data.length) {
      const fixed = specs.reduce((n, s) => n + (s.dtype === 'string' && !s.quantization ? 0 : weightBytes(s, data, 0)), 0);
      const need = Math.max(fixed, Number.isFinite(length) ? offset + length : data.length + 1);
      throw new WeightsError(
        `${what} hold ${data.length} bytes, but the manifest's weights need ` +
          `${need === fixed ? need : `at least ${need}`} (weight "${spec.name}" ${JSON.stringify(spec.shape)} ` +
          `ends past the data): a shard is truncated or missing, or the manifest does not match it`,
      );
    }
    const w = decodeOne(spec, data, offset, length);
    if (w) out.set(spec.name, w);
    offset += length;
  }
  if (offset !== data.length) {
    throw new WeightsError(
      `${what} hold ${data.length} bytes, but the manifest's ${specs.length} weights take ${offset}: the ` +
        `manifest does not match the shards`,
    );
  }
  return out;
}
