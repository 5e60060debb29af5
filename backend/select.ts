// Chooses the fastest tfjs backend present and patches the wasm matmul.
// tfjs-core's Node entry registers no gradients; the @tensorflow/tfjs bundle registers them all
// (into tfjs-core's global registry). Loaded by require (backend/tfjs.ts says why).
import { requireCjs, tfjs as tf } from './tfjs.js';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { useOrtMatMul } from './ort-matmul.js';
import { patchWasmMatMulTranspose, shareWasmIdentity } from './wasm-kernels.js';
import { useOrtConvKernels } from './wasm-conv-kernels.js';
import type { BackendChoice } from './choices.js';

export type { BackendChoice };

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

/** How the wasm kernels were patched in this process (undefined: not yet). */
let wasmMatmul: string | undefined;

export interface WasmOptions {
  /** Where the wasm backend's matrix products run: onnxruntime-node's GEMM (default) or XNNPACK. */
  matmul?: 'onnxruntime' | 'xnnpack';
  /** Threads of onnxruntime's GEMM (default 1: the other core stays free for the rest of the step). */
  threads?: number;
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
export async function selectBackend(choice: BackendChoice = 'auto', opts: WasmOptions = {}): Promise<BackendInfo> {
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
    requireCjs('@tensorflow/tfjs-backend-wasm');
    // Kernels are patched once per process (a second call would wrap the wrappers).
    wasmMatmul ??= (() => {
      const ort = opts.matmul === 'xnnpack' ? { ok: false as const, why: 'requested' } : useOrtMatMul(opts.threads ?? 1);
      if (!ort.ok) patchWasmMatMulTranspose();
      shareWasmIdentity();
      useOrtConvKernels(opts.threads ?? 1); // conv gradients; without onnxruntime they stay missing on wasm
      return ort.ok
        ? `matmuls on onnxruntime (MLAS, ${opts.threads ?? 1} thread${(opts.threads ?? 1) > 1 ? 's' : ''})`
        : `matmuls on XNNPACK (onnxruntime: ${ort.why})`;
    })();
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
    return { name: 'wasm', reason: `${reason}; ${wasmMatmul}` };
  };
  const useCpu = async (reason: string): Promise<BackendInfo> => {
    requireCjs('@tensorflow/tfjs-backend-cpu');
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
