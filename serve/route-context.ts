// What every API handler is given, and the facts several routes share: which model a URL names
// (or why none serves), and whether the server is ready.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServeMetrics } from './metrics.js';
import type { LoadedModel, ModelRegistry } from './model-registry.js';
import { OIP_VERSION } from './oip-request.js';
import { ApiError } from './responses.js';

/** `:name` segments of a route's pattern, percent-decoded. */
export type Params = Record<string, string>;
/** What a row of the route table (routes.ts) runs. */
export type Handler = (ctx: RouteContext, req: IncomingMessage, res: ServerResponse, params: Params) => void | Promise<void>;

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

const LOOKUP_CODES = { 400: 'invalid_model_name', 404: 'model_not_found', 503: 'model_unavailable' } as const;

/** The model serving under a URL's name (and OIP version, when given), or the ApiError saying why none. */
export function findModel(ctx: RouteContext, name: string, version?: string): LoadedModel {
  const found = ctx.registry.lookup(name);
  if ('status' in found) throw new ApiError(found.status, LOOKUP_CODES[found.status], found.message, 'name');
  if (version !== undefined && version !== OIP_VERSION)
    throw new ApiError(404, 'model_not_found', `model "${name}" has no version "${version}" (versions: ${OIP_VERSION})`, 'version');
  return found;
}

/** Why the server does not take traffic now, or null when it does (/readyz and /v2/health/ready). */
export function notReadyReason(ctx: RouteContext): string | null {
  const { registry } = ctx;
  if (ctx.isShuttingDown()) return 'shutting down';
  if (registry.models.size === 0) return 'no model loaded';
  if (registry.pendingLoads > 0) return `${registry.pendingLoads} model load(s) pending`;
  return null;
}
