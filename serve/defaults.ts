// The server's defaults, apart from server.ts so the CLI's --help does not load express or onnxruntime.
export const SERVE_DEFAULTS = {
  models: 'models',
  port: 8080,
  host: '127.0.0.1',
  maxBatch: 64,
  maxWaitMs: 2,
  /** Largest /v1 request body, in bytes (a generate request is a few dozen). */
  bodyLimit: 1024,
  /** How long a refused body (413) is still read and discarded after the answer, before the connection closes. */
  lingerMs: 2000,
  /** Longest wait for in-flight requests on close() before connections are cut. */
  shutdownGraceMs: 10_000,
} as const;
