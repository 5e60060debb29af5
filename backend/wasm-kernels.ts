// Kernel replacements that make tfjs-backend-wasm faster for training (same results).
import type * as tf from '@tensorflow/tfjs-core';
import { tfjs } from './tfjs.js';

/**
 * Re-register kernel `name` of `backend` as `wrap(original)`. Returns false when the kernel is not
 * registered (its backend package not loaded).
 */
export function replaceKernel(name: string, backend: string, wrap: (orig: tf.KernelFunc) => tf.KernelFunc): boolean {
  const orig = tfjs.getKernel(name, backend);
  if (!orig) return false;
  tfjs.unregisterKernel(name, backend);
  tfjs.registerKernel({ ...orig, kernelFunc: wrap(orig.kernelFunc) });
  return true;
}

/**
 * The wasm BatchMatMul only takes XNNPACK's fast path when neither operand is transposed; with a
 * transposed operand it falls to a scalar loop. Every matmul gradient is transposed, so we transpose
 * explicitly (cheap, O(n^2)) and call the fast path (O(n^3)). Measured ~4x per training step.
 * Done at the kernel level so forward, first and second derivatives all benefit.
 */
export function patchWasmMatMulTranspose(): void {
  const transpose = tfjs.getKernel('Transpose', 'wasm');
  if (!transpose) return;
  replaceKernel('BatchMatMul', 'wasm', (orig) => ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return orig({ inputs, backend, attrs });
    const temps: tf.TensorInfo[] = [];
    const explicit = (t: tf.TensorInfo): tf.TensorInfo => {
      const perm = t.shape.map((_, i) => i);
      const n = perm.length;
      [perm[n - 2], perm[n - 1]] = [perm[n - 1]!, perm[n - 2]!];
      const out = transpose.kernelFunc({ inputs: { x: t }, backend, attrs: { perm } }) as tf.TensorInfo;
      temps.push(out);
      return out;
    };
    const a = transposeA ? explicit(inputs.a!) : inputs.a!;
    const b = transposeB ? explicit(inputs.b!) : inputs.b!;
    const out = orig({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    for (const t of temps) (backend as tf.KernelBackend).disposeData(t.dataId);
    return out;
  });
}

/**
 * Identity (tf.clone, and every gradient's cast of a float32 to float32) and same-dtype Cast copy
 * the tensor in wasm; tfjs tensors are immutable, so, like the cpu backend, share the data and
 * count a reference instead. ~1,500 copies per cgan step.
 */
export function shareWasmIdentity(): void {
  for (const name of ['Identity', 'Cast']) {
    replaceKernel(name, 'wasm', (orig) => (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      const to = (args.attrs as { dtype?: tf.DataType } | undefined)?.dtype ?? x.dtype;
      if (to !== x.dtype || x.dtype === 'string') return orig(args);
      (args.backend as unknown as { incRef(id: tf.DataId): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    });
  }
}
