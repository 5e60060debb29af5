// The Open Inference Protocol (KServe v2) REST API next to /v1: server and model metadata, health,
// model readiness, and infer (JSON or binary tensors) through the same dynamic batcher. Errors are
// {"error": "..."}: 400 for the request, 404 for an unknown model or version, 503 while not ready.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router, type Request, type Response } from 'express';
import { packageInfo } from '../common/package-info.js';
import { BodyError, closeAfter, readBody } from './body.js';
import type { LoadedModel } from './model-registry.js';
import { inferResponse, modelTensors, OIP_VERSION, OipError, parseInferRequest, PLATFORM } from './oip-request.js';
import { sendJson, type RouteContext } from './routes.js';
import { MAX_COUNT } from './schemas.js';

export const OIP_EXTENSIONS = ['binary_tensor_data'];

const route = (res: Response, name: string): void => {
  res.locals.route = name;
};

/** The loaded model of a URL's name and optional version, or the OipError to answer with. */
function findModel(ctx: RouteContext, name: string, version: string | undefined): LoadedModel {
  const found = ctx.registry.lookup(name);
  if ('status' in found) throw new OipError(found.status, found.message);
  if (version !== undefined && version !== OIP_VERSION) throw new OipError(404, `model "${name}" has no version "${version}" (versions: ${OIP_VERSION})`);
  return found;
}

const sendOipError = (res: ServerResponse, e: OipError): void => sendJson(res, e.status, { error: e.message });

export function oipRoutes(ctx: RouteContext): Router {
  const router = Router();
  const guard =
    (name: string, handler: (req: Request, res: Response) => void) =>
    (req: Request, res: Response): void => {
      route(res, name);
      try {
        handler(req, res);
      } catch (e) {
        if (e instanceof OipError) return sendOipError(res, e);
        throw e;
      }
    };

  router.get(['/v2', '/v2/'], guard('/v2', (_req, res) => sendJson(res, 200, { name: 'onnxgan', version: packageInfo().version, extensions: OIP_EXTENSIONS })));
  router.get('/v2/health/live', guard('/v2/health/live', (_req, res) => sendJson(res, 200, { live: true })));
  router.get(
    '/v2/health/ready',
    guard('/v2/health/ready', (_req, res) => {
      const { registry } = ctx;
      const reason = ctx.isShuttingDown() ? 'shutting down' : registry.models.size === 0 ? 'no model loaded' : registry.pendingLoads > 0 ? `${registry.pendingLoads} model load(s) pending` : null;
      sendJson(res, reason ? 503 : 200, reason ? { ready: false, error: `not ready: ${reason}` } : { ready: true });
    }),
  );
  const metadata = guard('/v2/models/:name', (req, res) => {
    const model = findModel(ctx, String(req.params.name), req.params.version as string | undefined);
    sendJson(res, 200, { name: model.name, versions: [OIP_VERSION], platform: PLATFORM, ...modelTensors(model.metadata) });
  });
  router.get(['/v2/models/:name', '/v2/models/:name/versions/:version'], metadata);
  const ready = guard('/v2/models/:name/ready', (req, res) => {
    const name = String(req.params.name);
    try {
      findModel(ctx, name, req.params.version as string | undefined);
    } catch (e) {
      if (e instanceof OipError && e.status === 503) return sendJson(res, 503, { name, ready: false, error: e.message });
      throw e;
    }
    sendJson(res, 200, { name, ready: true });
  });
  router.get(['/v2/models/:name/ready', '/v2/models/:name/versions/:version/ready'], ready);
  // The rest of /v2 answers in the protocol's error format (infer itself is served by the inference lane).
  router.all(['/v2/*rest'], guard('/v2 (unmatched)', (req) => {
    throw new OipError(404, `no route ${req.method} ${req.path}`);
  }));
  return router;
}

/** POST /v2/models/{name}[/versions/{v}]/infer, on plain node:http (serve/inference-lane.ts). */
export async function infer(ctx: RouteContext, name: string, version: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const accepted = findModel(ctx, name, version);
    // Room for the largest request a model takes as JSON numbers (~32 bytes per value), plus the header.
    let body: Buffer;
    try {
      body = await readBody(req, 64 * 1024 + MAX_COUNT * (accepted.metadata.noiseDim + 1) * 32, 'json-or-binary');
    } catch (e) {
      if (!(e instanceof BodyError)) throw e;
      if (e.status === 413) closeAfter(res);
      return sendJson(res, e.status, { error: e.message });
    }
    // The model serving now: a file replaced while the body arrived retired the one found above,
    // and answering from its replacement is what /v1 does (issue 29).
    const model = findModel(ctx, name, version);
    const meta = model.metadata;
    const header = req.headers['inference-header-content-length'];
    const request = parseInferRequest(body, Array.isArray(header) ? header[0] : header, meta, MAX_COUNT);
    let images: Float32Array;
    try {
      images = await model.batcher.submit({ noise: request.noise, labels: request.labels, rows: request.rows });
    } catch (e) {
      throw new OipError(503, `model "${model.name}" could not run these inputs: ${(e as Error).message}`);
    }
    const out = inferResponse(model.name, meta, request, images);
    res.writeHead(200, { ...out.headers, 'Content-Length': out.body.length });
    res.end(out.body);
  } catch (e) {
    if (e instanceof OipError) return sendOipError(res, e);
    throw e;
  }
}
