// The onnxruntime session options of every use, by name: one table for Node (backend/ort-session.ts
// opens sessions with it, backend/ort-matmul.ts its GEMM) and the browser (web-demo/src/ort-runtime.ts).
// Browser-safe: plain data, types only from onnxruntime-common (shared by -node and -web).
import type { InferenceSession } from 'onnxruntime-common';

const ONE_THREAD = { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' } as const;

// (Why each, here and not inside the table: esbuild keeps comments inside expressions in the web bundle.)
// - serve: a served generator, one thread. These run in ~50 us per image, where a thread pool's
//   hand-off and spinning cost more CPU than they save and steal the core that HTTP and PNG encoding
//   need; throughput comes from dynamic batching (and --workers) instead.
// - check: one-off runs at onnxruntime's defaults (every core): export's and convert's parity checks,
//   eval's samples.
// - judge: the eval judge, one thread: the machines this runs on are often shared, batches are small.
// - gemm: matrix products (backend/ort-matmul.ts), run synchronously between the step's own
//   JavaScript. No spinning: onnxruntime's idle pool threads otherwise spin between products and took
//   the core the JavaScript needs (--threads 2 was 1.4x slower than 1; bench/RESULTS.md).
// - web: onnxruntime-web's wasm (its threads are env.wasm.numThreads, set in ort-runtime.ts).
export const SESSION_PROFILES = {
  serve: ONE_THREAD,
  check: {},
  judge: ONE_THREAD,
  gemm: { ...ONE_THREAD, extra: { session: { intra_op: { allow_spinning: '0' } } } },
  web: { executionProviders: ['wasm'] },
} satisfies Record<string, InferenceSession.SessionOptions>;

export type SessionProfile = keyof typeof SESSION_PROFILES;
