// Prometheus metrics. Each server gets its own Registry (not prom-client's global one) so several
// servers can live in one process (tests) without "metric already registered" errors.
import type { ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

type Labelled = ServerResponse & { locals?: Record<string, unknown> };

/**
 * Sets a response's route label: a fixed template, never the raw URL (unbounded cardinality). Kept in res.locals, where
 * Express keeps its own.
 */
export function labelRoute(res: ServerResponse, route: string): void {
  const r = res as Labelled;
  (r.locals ??= {}).route = route;
}

/** The route label of a response ('unmatched' when none was set). */
export const routeLabelOf = (res: ServerResponse): string => ((res as Labelled).locals?.route as string | undefined) ?? 'unmatched';

export interface ServeMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  latency: Histogram<'route' | 'method'>;
  inFlight: Gauge;
  /** Rows per onnxruntime run: values > 1 prove that requests were merged. */
  batchRows: Histogram<'model'>;
  /** Requests per onnxruntime run. */
  batchRequests: Histogram<'model'>;
  inferenceSeconds: Histogram<'model'>;
  /** Requests retried alone after the merged run they were in failed. */
  batchRetries: Counter<'model'>;
  /** Requests whose rows failed in a run of their own. */
  inferenceFailures: Counter<'model'>;
  loadErrors: Counter<'model'>;
  modelsLoaded: Gauge;
}

const POWERS_OF_TWO = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export function createMetrics(): ServeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'onnxgan_' });
  return {
    registry,
    requests: new Counter({
      name: 'onnxgan_http_requests_total',
      help: 'HTTP requests by route, method and status code',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'onnxgan_http_request_duration_seconds',
      help: 'HTTP request latency (until the response is flushed)',
      labelNames: ['route', 'method'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'onnxgan_http_requests_in_flight',
      help: 'Requests received and not yet answered (including queued for a batch)',
      registers: [registry],
    }),
    batchRows: new Histogram({
      name: 'onnxgan_batch_size',
      help: 'Image rows per onnxruntime run (dynamic batching)',
      labelNames: ['model'],
      buckets: POWERS_OF_TWO,
      registers: [registry],
    }),
    batchRequests: new Histogram({
      name: 'onnxgan_batch_requests',
      help: 'Requests merged into one onnxruntime run',
      labelNames: ['model'],
      buckets: POWERS_OF_TWO,
      registers: [registry],
    }),
    inferenceSeconds: new Histogram({
      name: 'onnxgan_inference_duration_seconds',
      help: 'Duration of one onnxruntime run',
      labelNames: ['model'],
      buckets: [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
      registers: [registry],
    }),
    batchRetries: new Counter({
      name: 'onnxgan_batch_retries_total',
      help: 'Requests run again on their own because the merged onnxruntime run they were in failed',
      labelNames: ['model'],
      registers: [registry],
    }),
    inferenceFailures: new Counter({
      name: 'onnxgan_inference_failures_total',
      help: 'Requests whose own onnxruntime run failed (answered with an error)',
      labelNames: ['model'],
      registers: [registry],
    }),
    loadErrors: new Counter({
      name: 'onnxgan_model_load_errors_total',
      help: 'Model files that failed to load (corrupt, not an onnxgan generator, bad name)',
      labelNames: ['model'],
      registers: [registry],
    }),
    modelsLoaded: new Gauge({
      name: 'onnxgan_models_loaded',
      help: 'Models currently serving',
      registers: [registry],
      // With --workers every worker loads the folder: report what all of them serve, not the sum.
      aggregator: 'min',
    }),
  };
}
