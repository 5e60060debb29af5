// Loads onnxruntime-web (WASM backend) once per page from local files, never from a CDN.
import type * as Ort from 'onnxruntime-web';

export type OrtModule = typeof Ort;

/** Default: the copy `web-demo/build.mjs` places next to the bundle (web-demo/dist/ort/). */
export const DEFAULT_ORT_BASE = new URL('./ort/', import.meta.url).href;

let loading: { base: string; module: Promise<OrtModule> } | null = null;

/** Why this browser cannot run the generator, or null when it can. */
export function wasmUnsupportedReason(): string | null {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') {
    return 'This browser does not support WebAssembly, which the generator needs. Try a current Chrome, Firefox, Safari or Edge.';
  }
  return null;
}

/**
 * The ORT module served from `base` (a folder holding ort.wasm.min.mjs and its .wasm files; the
 * onnxgan server also exposes them at /ort/). The first call decides the folder for the page.
 */
export function loadOrt(base: string = DEFAULT_ORT_BASE): Promise<OrtModule> {
  const unsupported = wasmUnsupportedReason();
  if (unsupported) return Promise.reject(new Error(unsupported));
  const folder = new URL(base, document.baseURI).href.replace(/\/?$/, '/');
  if (loading) return loading.module;
  const module = (import(/* webpackIgnore: true */ `${folder}ort.wasm.min.mjs`) as Promise<OrtModule>).then(
    (ort) => {
      ort.env.wasm.wasmPaths = folder;
      // Threads need cross-origin isolation (the onnxgan server sends COOP/COEP); else one thread.
      ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
      return ort;
    },
    (e: unknown) => {
      loading = null; // let a later call retry, e.g. with another folder
      throw new Error(`could not load onnxruntime-web from ${folder} (${(e as Error).message})`);
    },
  );
  loading = { base: folder, module };
  return module;
}
