// Matrix products on onnxruntime-node's CPU GEMM (MLAS, AVX2/AVX-512), for the wasm backend's
// BatchMatMul kernel, the hand-written training step (train/mlp-step.ts) and eval's metrics
// (`matrixProducts`: pairwise dot products of thousands of feature vectors and the bootstrap's
// weighted covariances take seconds in plain JavaScript and tens of milliseconds here).
// Why: matmuls are ~2/3 of a training step, and XNNPACK in wasm (128-bit SIMD, no FMA) runs them
// ~2.8x slower than MLAS on this CPU (per step, bench/RESULTS.md). onnxruntime-node is
// already a dependency (the server), so this costs no install. Gemm takes transA/transB itself, so
// the gradients' transposed products need no explicit transpose.
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { gemmModel } from '../common/onnx-graph.js';
import { SESSION_PROFILES } from '../common/ort-profiles.js';
import { replaceKernel } from './wasm-kernels.js';

const require = createRequire(import.meta.url);

/** The synchronous native session of onnxruntime-node (its public `run` wraps this in a Promise). */
interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, unknown>, options: object): Record<string, unknown>;
}
interface OrtBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}
type OrtTensor = new (type: 'float32', data: Float32Array, dims: number[]) => unknown;

/**
 * out [m, n] = op(A) op(B), op transposing when asked; A is [aRows, aCols] and B [bRows, bCols] as
 * stored (row-major). Synchronous, on the calling thread (plus threads-1 of onnxruntime's pool).
 */
export type Gemm = (
  A: Float32Array,
  aShape: [number, number],
  B: Float32Array,
  bShape: [number, number],
  tA: boolean,
  tB: boolean,
  out: Float32Array,
) => void;
/** The same product into an array onnxruntime allocates (from its arena: cheaper than a new large array). */
type Product = (
  A: Float32Array,
  aShape: [number, number],
  B: Float32Array,
  bShape: [number, number],
  tA: boolean,
  tB: boolean,
) => Float32Array;

let opened: { gemm: Gemm; product: Product; threads: number } | { why: string } | undefined;

/**
 * onnxruntime's GEMM with `threads` threads (1: the other core stays free, and PyTorch's peer uses
 * one; more for an otherwise idle machine). Opened once per process; why not when onnxruntime-node's
 * native binding is unusable.
 */
export function ortGemm(threads = 1): { gemm: Gemm; product: Product } | { why: string } {
  if (opened) return opened;
  try {
    const ort = require('onnxruntime-node') as { Tensor: OrtTensor };
    const b = require('onnxruntime-node/dist/binding') as OrtBinding;
    b.initOrt();
    const Tensor = ort.Tensor;
    const sessions: NativeSession[] = [];
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const s = new b.binding.InferenceSession();
        const m = gemmModel(tA, tB);
        s.loadModel(m.buffer as ArrayBuffer, m.byteOffset, m.byteLength, { ...SESSION_PROFILES.gemm, intraOpNumThreads: threads });
        if (typeof s.run !== 'function') throw new Error('onnxruntime-node has no synchronous run');
        sessions.push(s);
      }
    }
    const run = (
      A: Float32Array,
      aShape: [number, number],
      B: Float32Array,
      bShape: [number, number],
      tA: boolean,
      tB: boolean,
      Y: unknown,
    ) => {
      const feeds = { A: new Tensor('float32', A, aShape), B: new Tensor('float32', B, bShape) };
      return sessions[(tA ? 2 : 0) + (tB ? 1 : 0)]!.run(feeds, { Y }, {}).Y as { data: Float32Array };
    };
    const gemm: Gemm = (A, aShape, B, bShape, tA, tB, out) => {
      run(A, aShape, B, bShape, tA, tB, new Tensor('float32', out, [tA ? aShape[1] : aShape[0], tB ? bShape[0] : bShape[1]]));
    };
    const product: Product = (A, aShape, B, bShape, tA, tB) => run(A, aShape, B, bShape, tA, tB, null).data;
    opened = { gemm, product, threads };
  } catch (e) {
    opened = { why: (e as Error).message.split('\n')[0]! };
  }
  return opened;
}

/** The products eval's metrics take, each into a new array. */
export interface MatrixProducts {
  /** A B^T for A [ra, d], B [rb, d] (row-major; longer arrays: their first rows): [ra, rb]. */
  dots(a: Float32Array, ra: number, b: Float32Array, rb: number, d: number): Float32Array;
  /** A^T B for A [r, da], B [r, db]: [da, db]. */
  transposedProduct(a: Float32Array, b: Float32Array, r: number, da: number, db: number): Float32Array;
}

/** `ortGemm`'s products for eval; throws when onnxruntime-node's native binding is unusable. */
export function matrixProducts(): MatrixProducts {
  const opened = ortGemm();
  if ('why' in opened) throw new Error(`onnxruntime's GEMM is unusable: ${opened.why}`);
  const { product } = opened;
  return {
    dots: (a, ra, b, rb, d) => product(a.subarray(0, ra * d), [ra, d], b.subarray(0, rb * d), [rb, d], false, true),
    transposedProduct: (a, b, r, da, db) => product(a.subarray(0, r * da), [r, da], b.subarray(0, r * db), [r, db], true, false),
  };
}

/** The parts of tfjs-backend-wasm's backend that kernels use. */
interface WasmBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/**
 * Replace the wasm BatchMatMul kernel by one that runs single (batch 1) float32 products on
 * onnxruntime and leaves everything else to the original. Reads and writes the wasm heap in place
 * (no copies). Returns why it could not when onnxruntime-node's native binding is unusable.
 */
export function useOrtMatMul(threads = 1): { ok: true } | { ok: false; why: string } {
  const opened = ortGemm(threads);
  if ('why' in opened) return { ok: false, why: opened.why };
  const { gemm } = opened;
  const replaced = replaceKernel('BatchMatMul', 'wasm', (orig) => (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as WasmBackend;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const single = (s: number[]): boolean => s.every((d) => d === 1);
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || !single(batchA) || !single(batchB) || a.shape.length < 2 || b.shape.length < 2) {
      return orig(args);
    }
    const [ra, ca] = a.shape.slice(-2) as [number, number];
    const [rb, cb] = b.shape.slice(-2) as [number, number];
    const m = transposeA ? ca : ra;
    const k = transposeA ? ra : ca;
    const n = transposeB ? rb : cb;
    // Mismatched or empty shapes: the original kernel raises tfjs's own error or handles them.
    if (k !== (transposeB ? cb : rb) || m * n * k === 0) return orig(args);
    const outShape = [...(batchA.length >= batchB.length ? batchA : batchB), m, n];
    const out = backend.makeOutput(outShape, 'float32');
    // Views after makeOutput: an allocation may grow (and so replace) the wasm heap.
    gemm(
      backend.typedArrayFromHeap(a),
      [ra, ca],
      backend.typedArrayFromHeap(b),
      [rb, cb],
      transposeA,
      transposeB,
      backend.typedArrayFromHeap(out),
    );
    return out;
  });
  return replaced ? { ok: true } : { ok: false, why: 'the wasm backend is not registered' };
}
