// Chooses the fastest tfjs backend present and patches the wasm matmul.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node entry registers no gradients; the @tensorflow/tfjs bundle registers them all
// (into tfjs-core's global registry).
import '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

const require = createRequire(import.meta.url);

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** A CUDA GPU is visible when the NVIDIA driver exposes a device node or nvidia-smi exists. */
function cudaGpuPresent(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/version');
}

/**
 * The wasm BatchMatMul only takes XNNPACK's fast path when neither operand is transposed; with a
 * transposed operand it falls to a scalar loop. Every matmul gradient is transposed, so we transpose
 * explicitly (cheap, O(n^2)) and call the fast path (O(n^3)). Measured ~4x per training step.
 * Done at the kernel level so forward, first and second derivatives all benefit.
 */
function patchWasmMatMul(): void {
  const orig = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!orig || !transpose) return;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    ...orig,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return orig.kernelFunc({ inputs, backend, attrs });
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
      const out = orig.kernelFunc({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
      for (const t of temps) (backend as tf.KernelBackend).disposeData(t.dataId);
      return out;
    },
  });
}

export interface BackendInfo {
  name: string;
  reason: string;
}

/**
 * auto: tfjs-node-gpu (installed + CUDA GPU) > tfjs-node (installed) > wasm > cpu.
 * The native packages are optional: they download libtensorflow at install time, so they are never
 * dependencies of onnxgan. Users with internet add them with `npm install @tensorflow/tfjs-node`.
 */
export async function selectBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  const tryNative = async (pkg: string): Promise<boolean> => {
    if (!installed(pkg)) return false;
    try {
      await import(pkg);
      return tf.findBackend('tensorflow') !== null;
    } catch {
      return false;
    }
  };
  const useWasm = async (reason: string): Promise<BackendInfo> => {
    await import('@tensorflow/tfjs-backend-wasm');
    patchWasmMatMul();
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
    return { name: 'wasm', reason };
  };
  const useCpu = async (reason: string): Promise<BackendInfo> => {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    return { name: 'cpu', reason };
  };

  switch (choice) {
    case 'tensorflow': {
      if ((await tryNative('@tensorflow/tfjs-node-gpu')) || (await tryNative('@tensorflow/tfjs-node'))) {
        await tf.setBackend('tensorflow');
        return { name: 'tensorflow', reason: 'requested' };
      }
      throw new Error(
        'backend "tensorflow" needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu: ' +
          'run `npm install @tensorflow/tfjs-node` (it downloads libtensorflow, so it needs internet)',
      );
    }
    case 'wasm':
      return useWasm('requested');
    case 'cpu':
      return useCpu('requested');
    case 'auto': {
      if (cudaGpuPresent() && (await tryNative('@tensorflow/tfjs-node-gpu'))) {
        await tf.setBackend('tensorflow');
        return { name: 'tensorflow', reason: 'auto: @tensorflow/tfjs-node-gpu installed and a CUDA GPU is present' };
      }
      if (await tryNative('@tensorflow/tfjs-node')) {
        await tf.setBackend('tensorflow');
        return { name: 'tensorflow', reason: 'auto: @tensorflow/tfjs-node installed (native CPU)' };
      }
      const why = cudaGpuPresent() ? 'no native tfjs package installed' : 'no CUDA GPU and no @tensorflow/tfjs-node';
      try {
        return await useWasm(`auto: ${why}; wasm is the fastest backend present`);
      } catch (e) {
        return useCpu(`auto: ${why}; wasm failed (${(e as Error).message})`);
      }
    }
  }
}
