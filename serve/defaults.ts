// The server's defaults, apart from server.ts so the CLI's --help does not load express or onnxruntime.
export const SERVE_DEFAULTS = {
  models: 'models',
  port: 8080,
  host: '127.0.0.1',
  maxBatch: 64,
  maxWaitMs: 2,
  /** Most images (rows) one request may ask for, /v1 count and /v2 rows alike. */
  maxCount: 64,
  /** Largest /v1 request body, in bytes (a generate request is a few dozen). */
  bodyLimit: 1024,
  /** How long a refused body (413) is still read and discarded after the answer, before the connection closes. */
  lingerMs: 2000,
  /** Longest wait for in-flight requests on close() before connections are cut. */
  shutdownGraceMs: 10_000,
  /** /v2 infer bodies: room for the JSON around the tensors, and bytes per value written as a JSON number. */
  inferHeaderBytes: 64 * 1024,
  inferBytesPerValue: 32,
  /** Quiet period after the last change event in the models folder before a file is (re)loaded. */
  reloadDebounceMs: 150,
  /** --workers: attempts per request (a retry goes to another ready worker when there is one). */
  workerAttempts: 3,
  /** --workers: how long a request waits for a ready worker (one restarting) before its 503. */
  waitForWorkerMs: 3000,
  /** --workers: the largest body the primary holds for a retry; the workers' own limits are far below it. */
  primaryBodyLimit: 32 * 1024 * 1024,
  /** --workers: a worker that does not hand over its metrics in this time is left out of /metrics. */
  workerMetricsTimeoutMs: 2000,
  /** --workers: a pause before replacing a dead worker, so one that keeps dying does not spin the primary. */
  workerRestartDelayMs: 1000,
  /** --workers: the primary's grace on stop, longer than a worker's own (shutdownGraceMs). */
  primaryStopGraceMs: 15_000,
} as const;
