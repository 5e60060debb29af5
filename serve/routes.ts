// HTTP API: model listing, generation, health, readiness, metrics, and the model files for the browser.
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { imageValues, isConditional } from '../common/metadata.js';
import { gridPng, imagePng } from '../common/png.js';
import { randomSeed } from '../common/rng.js';
import type { ServeMetrics } from './metrics.js';
import type { LoadedModel, ModelRegistry } from './model-registry.js';
import { modelNameSchema, validationError, type GenerateRequest } from './schemas.js';

export interface RouteContext {
  registry: ModelRegistry;
  metrics: ServeMetrics;
  /** True once shutdown began: readiness turns 503 so load balancers stop sending traffic. */
  isShuttingDown: () => boolean;
  /** Size limit of JSON bodies (e.g. "1kb"). */
  bodyLimit: string;
}

/** Sets the metric route label: a fixed template, never the raw URL (unbounded cardinality). */
const route = (res: Response, name: string): void => {
  res.locals.route = name;
};

export function sendError(res: Response, status: number, error: string, detail: string, field?: string): void {
  res.status(status).json(field === undefined ? { error, detail } : { error, detail, field });
}

/** Express 5 leaves req.body undefined when no parser matched: a body of another type is refused. */
const requireJsonBody: RequestHandler = (req, res, next) => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (req.body === undefined && hasBody)
    return sendError(res, 415, 'unsupported_media_type', `body: expected Content-Type application/json, got ${req.headers['content-type'] ?? 'none'}`, '(body)');
  next();
};

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
    size: m.size,
    file: `/models/${m.name}.onnx`,
    loaded_at: m.loadedAt.toISOString(),
  };
}

/** Resolves :name to a servable model or answers 400/404/503 itself. */
function findModel(ctx: RouteContext, req: Request, res: Response): LoadedModel | undefined {
  const parsed = modelNameSchema.safeParse(req.params.name);
  if (!parsed.success) {
    sendError(res, 400, 'invalid_model_name', `name: ${parsed.error.issues[0]!.message}`, 'name');
    return undefined;
  }
  const name = parsed.data;
  const model = ctx.registry.models.get(name);
  if (model) return model;
  const failed = ctx.registry.failed.get(name);
  if (failed) sendError(res, 503, 'model_unavailable', `name: model "${name}" failed to load: ${failed.error}`, 'name');
  else sendError(res, 404, 'model_not_found', `name: no model "${name}" (loaded: ${[...ctx.registry.models.keys()].join(', ') || 'none'})`, 'name');
  return undefined;
}

function respond(res: Response, model: LoadedModel, req: GenerateRequest, seed: number, images: Float32Array): void {
  res.setHeader('X-Seed', String(seed));
  res.setHeader('X-Model', model.name);
  if (req.label !== null) res.setHeader('X-Label', String(req.label));
  const n = req.count;
  // [C, H, W]: grey PNGs for C = 1, RGB for C = 3.
  const shape = model.metadata.imageShape;
  const v = imageValues(shape);
  switch (req.format) {
    case 'png':
      res.type('image/png').send(imagePng(images, shape));
      return;
    case 'grid':
      res.type('image/png').send(gridPng(images, n, undefined, 2, 1, shape));
      return;
    case 'json': {
      const pngs: string[] = [];
      for (let i = 0; i < n; i++) pngs.push(imagePng(images.subarray(i * v, (i + 1) * v), shape).toString('base64'));
      res.json({ model: model.name, seed, label: req.label, count: n, images: pngs });
      return;
    }
    case 'tensor':
      // Plain JSON numbers: each float32 prints as the shortest double that reads back to the same float32.
      res.json({ model: model.name, seed, label: req.label, shape: [n, ...shape], data: Array.from(images) });
      return;
  }
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
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
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

  const generateRoute: RequestHandler = (_req, res, next) => {
    route(res, '/v1/models/:name/generate'); // before the body parser, so its 400/413s are counted here
    next();
  };
  router.post('/v1/models/:name/generate', generateRoute, express.json({ limit: ctx.bodyLimit, strict: true }), requireJsonBody, async (req, res) => {
    const model = findModel(ctx, req, res);
    if (!model) return;
    const parsed = model.schema.safeParse(req.body ?? {});
    if (!parsed.success) {
      const v = validationError(parsed.error);
      return sendError(res, 400, v.error, v.detail, v.field);
    }
    const body = parsed.data;
    const seed = body.seed ?? randomSeed();
    const noise = model.runner.noise(seed, body.count);
    const labels = model.runner.labels(body.count, body.label);
    let images: Float32Array;
    try {
      // No await between the registry lookup and submit: a concurrent reload retires the old
      // batcher only after draining what was submitted to it.
      images = await model.batcher.submit({ noise, labels, rows: body.count });
    } catch (e) {
      if (res.headersSent) return;
      return sendError(res, 503, 'model_unavailable', `name: model "${model.name}" could not run: ${(e as Error).message}`, 'name');
    }
    respond(res, model, body, seed, images);
  });

  // The browser demo downloads the exact bytes the server runs (from memory, not a path on disk,
  // so there is nothing to traverse). Express computes an ETag, so reloads are cheap.
  router.get('/models/:file', (req, res) => {
    route(res, '/models/:file');
    const m = /^(.+)\.onnx$/.exec(req.params.file);
    const model = m && modelNameSchema.safeParse(m[1]).success ? registry.models.get(m[1]!) : undefined;
    if (!model) return sendError(res, 404, 'not_found', `no model file "${req.params.file}"`, 'file');
    res.type('application/octet-stream').send(Buffer.from(model.bytes.buffer, model.bytes.byteOffset, model.bytes.byteLength));
  });

  return router;
}
