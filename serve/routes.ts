// The API's one route table: every health, metrics, /v1 and /v2 route, with its method, path
// pattern (its metric label, unless it shares one) and handler. serve/router.ts answers them on plain
// node:http; what no route matches goes on to Express (static files, serve/static-files.ts).
import { isConditional } from '../common/metadata.js';
import { generate } from './generate.js';
import type { LoadedModel } from './model-registry.js';
import { infer, modelMetadata, modelReady, serverMetadata, unmatchedV2 } from './oip.js';
import { type Dialect, sendJson } from './responses.js';
import { findModel, notReadyReason, type Handler } from './route-context.js';

export interface Route {
  /** GET routes answer HEAD too; '*' takes every method. */
  method: 'GET' | 'POST' | '*';
  /** Literal segments (matched without regard to case) and `:param` segments; a last `*` takes any rest. */
  pattern: string;
  /** The metric label, when not the pattern (versioned OIP paths count with the unversioned ones). */
  label?: string;
  /** The error format of the route's answers. */
  dialect: Dialect;
  handler: Handler;
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

const readyz: Handler = (ctx, _req, res) => {
  const { registry } = ctx;
  const reason = notReadyReason(ctx);
  // Sorted: models load concurrently, so the maps' order is the order loads happened to finish.
  const failed = [...registry.failed.values()].map((f) => ({ name: f.name, error: f.error })).sort((a, b) => a.name.localeCompare(b.name));
  sendJson(res, reason ? 503 : 200, {
    ready: !reason,
    ...(reason ? { reason } : {}),
    loaded: [...registry.models.keys()].sort(),
    failed,
    pending: registry.pendingLoads,
  });
};

const metrics: Handler = async (ctx, _req, res) => {
  const text = Buffer.from(await ctx.metricsText());
  res.writeHead(200, { 'Content-Type': ctx.metrics.registry.contentType, 'Content-Length': text.length });
  res.end(text);
};

const listModels: Handler = ({ registry }, _req, res) =>
  sendJson(res, 200, {
    models: [...registry.models.values()].map(describe).sort((a, b) => a.name.localeCompare(b.name)),
    // Listed apart (not downloadable): the error says which file and why.
    failed: [...registry.failed.values()].map((f) => ({
      name: f.name,
      status: 'failed',
      error: f.error,
      failed_at: f.failedAt.toISOString(),
    })),
  });

export const ROUTES: Route[] = [
  { method: 'GET', pattern: '/healthz', dialect: 'v1', handler: (_ctx, _req, res) => sendJson(res, 200, { status: 'ok' }) },
  { method: 'GET', pattern: '/readyz', dialect: 'v1', handler: readyz },
  { method: 'GET', pattern: '/metrics', dialect: 'v1', handler: metrics },
  { method: 'GET', pattern: '/v1/models', dialect: 'v1', handler: listModels },
  {
    method: 'GET',
    pattern: '/v1/models/:name',
    dialect: 'v1',
    handler: (ctx, _req, res, p) => sendJson(res, 200, describe(findModel(ctx, p.name!))),
  },
  { method: 'POST', pattern: '/v1/models/:name/generate', dialect: 'v1', handler: generate },
  { method: 'GET', pattern: '/v2', dialect: 'v2', handler: serverMetadata },
  { method: 'GET', pattern: '/v2/health/live', dialect: 'v2', handler: (_ctx, _req, res) => sendJson(res, 200, { live: true }) },
  {
    method: 'GET',
    pattern: '/v2/health/ready',
    dialect: 'v2',
    handler: (ctx, _req, res) => {
      const reason = notReadyReason(ctx);
      sendJson(res, reason ? 503 : 200, reason ? { ready: false, error: `not ready: ${reason}` } : { ready: true });
    },
  },
  { method: 'GET', pattern: '/v2/models/:name', dialect: 'v2', handler: modelMetadata },
  { method: 'GET', pattern: '/v2/models/:name/versions/:version', label: '/v2/models/:name', dialect: 'v2', handler: modelMetadata },
  { method: 'GET', pattern: '/v2/models/:name/ready', dialect: 'v2', handler: modelReady },
  {
    method: 'GET',
    pattern: '/v2/models/:name/versions/:version/ready',
    label: '/v2/models/:name/ready',
    dialect: 'v2',
    handler: modelReady,
  },
  { method: 'POST', pattern: '/v2/models/:name/infer', dialect: 'v2', handler: infer },
  { method: 'POST', pattern: '/v2/models/:name/versions/:version/infer', label: '/v2/models/:name/infer', dialect: 'v2', handler: infer },
  // The rest of /v2 answers in the protocol's error format.
  { method: '*', pattern: '/v2/*', label: '/v2 (unmatched)', dialect: 'v2', handler: unmatchedV2 },
];
