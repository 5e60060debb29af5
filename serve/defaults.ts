// The server's defaults, apart from server.ts so the CLI's --help does not load express or onnxruntime.
export const SERVE_DEFAULTS = { models: 'models', port: 8080, host: '127.0.0.1', maxBatch: 64, maxWaitMs: 2 } as const;
