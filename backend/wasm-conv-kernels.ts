// The wasm backend's convolution gradients on backend/conv-kernels.ts (im2col on onnxruntime's GEMM),
// so that tfjs autodiff of a conv GAN with a gradient penalty runs on wasm. tfjs-backend-wasm 4.22
// has no Conv2DBackpropFilter (every conv layer's weight gradient) and no UnsortedSegmentSum (the
// gradient of tf.gather: label embeddings); its Conv2DBackpropInput (the input gradient, and
// conv2dTranspose's forward) is a scalar loop, replaced here by the GEMM for NHWC float32.
// Its own file: it needs both ort-matmul.ts (the GEMM) and wasm-kernels.ts (replaceKernel), which
// import each other's way already.
import type * as tf from '@tensorflow/tfjs-core';
import { tfjs } from './tfjs.js';
import { ConvKernels, convGeometry, type ConvGeometry } from './conv-kernels.js';
import { ortGemm } from './ort-matmul.js';
import { replaceKernel } from './wasm-kernels.js';

/** The parts of tfjs-backend-wasm's backend that kernels use. */
interface WasmBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: Parameters<typeof tfjs.backend_util.computeConv2DInfo>[4];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Our geometry for tfjs's conv attributes (NHWC only: null for NCHW). */
function geometry(xShape: number[], filterShape: number[], a: ConvAttrs): ConvGeometry | null {
  if (a.dataFormat === 'NCHW') return null;
  const info = tfjs.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { top, left, bottom, right } = info.padInfo;
  const g = convGeometry({
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    o: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    pads: [top, left, bottom, right],
  });
  // tfjs's rounding modes can give an output size our floor does not: leave those to tfjs.
  return g.oh === info.outHeight && g.ow === info.outWidth ? g : null;
}

const heap = (backend: WasmBackend, t: tf.TensorInfo): Float32Array => backend.typedArrayFromHeap(t) as Float32Array;

/**
 * Register Conv2DBackpropFilter and UnsortedSegmentSum for wasm and put Conv2DBackpropInput on the
 * GEMM. Why not when onnxruntime-node's binding is unusable or the wasm backend is not loaded (then
 * conv layers' gradients stay unavailable on wasm, and a run picks another backend).
 */
export function useOrtConvKernels(threads = 1): { ok: true } | { ok: false; why: string } {
  if (!tfjs.getKernel('Conv2D', 'wasm')) return { ok: false, why: 'the wasm backend is not registered' };
  const opened = ortGemm(threads);
  if ('why' in opened) return { ok: false, why: opened.why };
  const kernels = new ConvKernels(opened.gemm);

  const filterGrad: tf.KernelFunc = (args) => {
    const backend = args.backend as WasmBackend;
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    const g = geometry(x.shape, attrs.filterShape, attrs);
    if (!g || x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('Conv2DBackpropFilter on wasm takes float32 NHWC tensors');
    const out = backend.makeOutput([...attrs.filterShape], 'float32');
    // Views after makeOutput: an allocation may grow (and so replace) the wasm heap.
    kernels.conv2dFilterGrad(heap(backend, x), heap(backend, dy), g, heap(backend, out), null);
    return out;
  };
  tfjs.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: filterGrad });

  replaceKernel('Conv2DBackpropInput', 'wasm', (orig) => (args) => {
    const backend = args.backend as WasmBackend;
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
    const g = geometry(attrs.inputShape, filter.shape, attrs);
    if (!g || dy.dtype !== 'float32' || filter.dtype !== 'float32') return orig(args);
    const out = backend.makeOutput([...attrs.inputShape], 'float32');
    kernels.conv2dInputGrad(heap(backend, dy), heap(backend, filter), g, heap(backend, out));
    return out;
  });

  tfjs.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum });
  return { ok: true };
}

/** out [numSegments, ...] = sum of x's slices per segment id (ids outside [0, numSegments) dropped, as TensorFlow does). */
const unsortedSegmentSum: tf.KernelFunc = (args) => {
  const backend = args.backend as WasmBackend;
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = args.attrs as unknown as { numSegments: number };
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`UnsortedSegmentSum on wasm takes float32 or int32, not ${x.dtype}`);
  const ids = segmentIds.shape.reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(segmentIds.shape.length);
  const row = inner.reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([numSegments, ...inner], x.dtype);
  const o = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  const v = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const s = backend.typedArrayFromHeap(segmentIds) as Int32Array;
  o.fill(0);
  for (let i = 0; i < ids; i++) {
    const id = s[i]!;
    if (id < 0 || id >= numSegments) continue;
    for (let j = 0, a = id * row, b = i * row; j < row; j++) o[a + j]! += v[b + j]!;
  }
  return out;
};
