// Loads onnxruntime-web (WASM backend) once per page, from the copy next to this bundle or from a
// folder the page names (never a CDN of ours), picks threads only where they work and opens sessions
// with a deadline: every failure ends in one short sentence within seconds, none waits forever.
// Its three files are fetched in parallel as soon as an element loads.
import type * as Ort from 'onnxruntime-web';
import { SESSION_PROFILES } from '../../common/ort-profiles.js';
import { download, type OnBytes } from './download.js';
import { cspBlock, importFailure, STALL_MS, wasmBlockedByCsp, withDeadline, withIdleDeadline } from './load-failures.js';
import { measured } from './timing.js';

export type OrtModule = typeof Ort;

/** The runtime's files relative to this bundle, content-hashed; set by web-demo/build.mjs. */
declare const __ONNXGAN_ORT_FILES__: RuntimeFiles;

interface RuntimeFiles {
  /** The ES module API (ort.wasm.min.mjs). */
  module: string;
  /** Its Emscripten glue, which the worker threads run too. */
  glue: string;
  /** The WebAssembly binary (14 MB, ~2.3 MB with brotli). */
  wasm: string;
}

export interface Runtime {
  ort: OrtModule;
  /** 1 unless the page is cross-origin isolated (SharedArrayBuffer) and may start blob: workers. */
  threads: number;
}

let runtimeFolder: string | null = null;
let loading: Promise<Runtime> | null = null;
/** Set once onnxruntime-web failed to start: it cannot start twice in one page. */
let broken: string | null = null;

/**
 * Where onnxruntime-web's files are, for every generator of the page: a folder with its own file
 * names (`ort.wasm.min.mjs`, `ort-wasm-simd-threaded.mjs`, `ort-wasm-simd-threaded.wasm`), such as an
 * onnxgan server's `/ort/`. Default: the copy next to this bundle. Call it before the first element loads.
 */
export function setRuntimeLocation(folder: string | null): void {
  runtimeFolder = folder;
}

function runtimeFiles(folder: string | null): RuntimeFiles {
  if (folder) {
    const base = new URL(folder, document.baseURI).href.replace(/\/?$/, '/');
    return { module: `${base}ort.wasm.min.mjs`, glue: `${base}ort-wasm-simd-threaded.mjs`, wasm: `${base}ort-wasm-simd-threaded.wasm` };
  }
  const at = (file: string): string => new URL(file, import.meta.url).href;
  return { module: at(__ONNXGAN_ORT_FILES__.module), glue: at(__ONNXGAN_ORT_FILES__.glue), wasm: at(__ONNXGAN_ORT_FILES__.wasm) };
}

/** Why this browser cannot run the generator, or null when it can. */
export function wasmUnsupportedReason(): string | null {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') {
    return 'This browser does not support WebAssembly, which the generator needs. Try a current Chrome, Firefox, Safari or Edge.';
  }
  return null;
}

/**
 * onnxruntime-web, ready to open sessions. The first call decides the folder for the page: `folder`,
 * else setRuntimeLocation()'s, else the bundled copy. Download progress goes to `onBytes`.
 */
export function loadRuntime(folder?: string | null, onBytes?: OnBytes): Promise<Runtime> {
  const refused = wasmUnsupportedReason() ?? wasmBlockedByCsp() ?? broken;
  if (refused) return Promise.reject(new Error(refused));
  loading ??= start(runtimeFiles(folder ?? runtimeFolder), onBytes).catch((e: unknown) => {
    loading = null; // a later element may retry, e.g. after the network came back
    throw e;
  });
  return loading;
}

async function start(files: RuntimeFiles, onBytes?: OnBytes): Promise<Runtime> {
  const wasm = measured('runtime-wasm', download(files.wasm, onBytes).then(checkWasm)).catch((e: Error) => {
    throw new Error(`could not download onnxruntime-web's ${files.wasm}: ${e.message}`);
  });
  // The glue too, now rather than when the first session opens (onnxruntime-web imports it then,
  // from the module map): one round trip less after the wasm arrives.
  const glue = measured(
    'runtime-glue',
    threadedGlue(files.glue).then(async (blob) => blob ?? (await importRuntime(files.glue), files.glue)),
  );
  const [ort, binary, glueUrl] = await Promise.all([measured('runtime-module', importRuntime(files.module)), wasm, glue]);
  // Bytes downloaded here (with progress and a stall deadline) instead of by onnxruntime-web.
  // (Compiling them while they download, with WebAssembly.compileStreaming fed from this download,
  // was no faster: Blink decodes a streamed module on the page's main thread; bench/RESULTS.md.)
  ort.env.wasm.wasmBinary = binary;
  ort.env.wasm.wasmPaths = { mjs: glueUrl, wasm: files.wasm };
  ort.env.wasm.numThreads = glueUrl.startsWith('blob:') ? threadCount() : 1;
  return { ort, threads: ort.env.wasm.numThreads };
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d]; // "\0asm"

/** The bytes, when they are WebAssembly; a page or an error body gets a short reason, not a CompileError. */
function checkWasm(bytes: Uint8Array): Uint8Array {
  if (WASM_MAGIC.every((b, i) => bytes[i] === b)) return bytes;
  const start = new TextDecoder().decode(bytes.subarray(0, 16)).replace(/[^\x20-\x7e]/g, '?');
  throw new Error(`not WebAssembly (it starts with "${start}")`);
}

async function importRuntime(url: string): Promise<OrtModule> {
  const stuck = `no answer within ${STALL_MS / 1000} s`;
  try {
    return await withDeadline(import(/* @vite-ignore */ /* webpackIgnore: true */ url) as Promise<OrtModule>, STALL_MS, stuck);
  } catch (e) {
    const reason = (e as Error).message === stuck ? stuck : await importFailure(url, e as Error);
    throw new Error(
      `could not load onnxruntime-web from ${url}: ${reason} (the runtime location: the ort attribute or setRuntimeLocation())`,
    );
  }
}

const threadCount = (): number => Math.min(4, navigator.hardwareConcurrency || 1);

/**
 * A blob: URL of the glue when threads can work here, else null (one thread). A worker of a
 * cross-origin isolated page needs COEP on its own script's response, which sites often send on their
 * HTML only: without it the worker never starts and onnxruntime-web waits forever. A blob: worker
 * inherits the page's policy instead, if the page's CSP allows blob: scripts and workers.
 */
async function threadedGlue(url: string): Promise<string | null> {
  if (!globalThis.crossOriginIsolated || threadCount() < 2) return null;
  try {
    const code = await download(url);
    const glue = URL.createObjectURL(new Blob([code as BlobPart], { type: 'text/javascript' }));
    const probe = URL.createObjectURL(new Blob([''], { type: 'text/javascript' }));
    try {
      new Worker(probe, { type: 'module' }).terminate(); // throws when the CSP's worker-src forbids blob:
    } finally {
      URL.revokeObjectURL(probe);
    }
    await import(/* @vite-ignore */ /* webpackIgnore: true */ glue); // rejects when the CSP's script-src forbids blob:
    return glue;
  } catch (e) {
    console.info(`<onnx-gan>: one thread, the page does not allow blob: workers (${(e as Error).message})`);
    return null;
  }
}

/** Opens a session; onnxruntime-web's start (compile, threads) happens in the first one. */
export async function openSession(runtime: Runtime, model: Uint8Array): Promise<Ort.InferenceSession> {
  if (broken) throw new Error(broken);
  const what =
    runtime.threads > 1 ? `onnxruntime-web did not start its ${runtime.threads} worker threads` : 'onnxruntime-web did not start';
  const stuck = `${what} within ${STALL_MS / 1000} s`;
  try {
    const session = await withIdleDeadline(
      measured('session', runtime.ort.InferenceSession.create(model, SESSION_PROFILES.web)),
      STALL_MS,
      stuck,
    );
    runtime.ort.env.wasm.wasmBinary = undefined; // compiled: let the 14 MB go
    return session;
  } catch (e) {
    const message = (e as Error).message;
    if (message !== stuck) throw e;
    const directive = await cspBlock('blob:');
    broken = directive ? `${stuck}: this page's Content-Security-Policy (${directive}) blocks them` : stuck;
    throw new Error(broken);
  }
}
