// HTTP API: model listing, generation, health, readiness, metrics (the model files: static-files.ts).
import type { ServerResponse } from 'node:http';
import { Router, type Request, type Response } from 'express';
import { isConditional } from '../common/metadata.js';
import type { ServeMetrics } from './metrics.js';
import type { LoadedModel, ModelRegistry } from './model-registry.js';
import { modelNameSchema } from './schemas.js';

export interface RouteContext {
  registry: ModelRegistry;
  metrics: ServeMetrics;
  /** True once shutdown began: readiness turns 503 so load balancers stop sending traffic. */
  isShuttingDown: () => boolean;
  /** Size limit of /v1 JSON bodies, in bytes. */
  bodyLimit: number;
  /** The /metrics text: this process's registry, or every worker's aggregated (--workers). */
  metricsText: () => Promise<string>;
}

/** Sets the metric route label: a fixed template, never the raw URL (unbounded cardinality). */
const route = (res: Response, name: string): void => {
  res.locals.route = name;
};

/** The `{ error, detail, field }` body of every /v1 error (plain node:http, so the inference lane uses it too). */
export function sendError(res: ServerResponse, status: number, error: string, detail: string, field?: string): void {
  sendJson(res, status, field === undefined ? { error, detail } : { error, detail, field });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': bytes.length });
  res.end(bytes);
}

function describe(m: LoadedModel) {
  const md = m.metadata;
  return {
    name: m.name,
    status: 'loaded' as const,
    kind: md.kind,
    conditional: isConditional(md),
    classes: md.classes,
    noise_dim: md.noiseDim,
    noise: md.noise,
    dataset: md.dataset,
    epochs: md.epochs,
    steps: md.steps,
    value_range: md.valueRange,
    image_shape: md.imageShape,
    ...(md.ema !== undefined ? { ema: md.ema } : {}),
    // Informational metadata the file holds malformed: left out above, and why.
    ...(md.dropped ? { dropped_metadata: md.dropped } : {}),
    size: m.size,
    file: `/models/${m.name}.onnx`,
    loaded_at: m.loadedAt.toISOString(),
  };
}

/** Resolves :name to a servable model or answers 400/404/503 itself. */
function findModel(ctx: RouteContext, req: Request, res: Response): LoadedModel | undefined {
  const found = ctx.registry.lookup(String(req.params.name));
  if (!('status' in found)) return found;
  sendError(res, found.status, { 400: 'invalid_model_name', 404: 'model_not_found', 503: 'model_unavailable' }[found.status], `name: ${found.message}`, 'name');
  return undefined;
}

export function apiRoutes(ctx: RouteContext): Router {
  const router = Router();
  const { registry } = ctx;

  router.get('/healthz', (_req, res) => {
    route(res, '/healthz');
    res.json({ status: 'ok' });
  });

  router.get('/readyz', (_req, res) => {
    route(res, '/readyz');
    const loaded = [...registry.models.keys()];
    const failed = [...registry.failed.values()].map((f) => ({ name: f.name, error: f.error }));
    const pending = registry.pendingLoads;
    const reason = ctx.isShuttingDown()
      ? 'shutting down'
      : loaded.length === 0
        ? 'no model loaded'
        : pending > 0
          ? `${pending} model load(s) pending`
          : null;
    res.status(reason ? 503 : 200).json({ ready: !reason, ...(reason ? { reason } : {}), loaded, failed, pending });
  });

  router.get('/metrics', async (_req, res) => {
    route(res, '/metrics');
    res.type(ctx.metrics.registry.contentType).send(await ctx.metricsText());
  });

  router.get('/v1/models', (_req, res) => {
    route(res, '/v1/models');
    res.json({
      models: [...registry.models.values()].map(describe).sort((a, b) => a.name.localeCompare(b.name)),
      // Listed apart (not downloadable): the error says which file and why.
      failed: [...registry.failed.values()].map((f) => ({ name: f.name, status: 'failed', error: f.error, failed_at: f.failedAt.toISOString() })),
    });
  });

  router.get('/v1/models/:name', (req, res) => {
    route(res, '/v1/models/:name');
    const model = findModel(ctx, req, res);
    if (model) res.json(describe(model));
  });

  // POST /v1/models/:name/generate is answered before Express (serve/inference-lane.ts).

  return router;
}
