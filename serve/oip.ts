// The Open Inference Protocol (KServe v2) REST API next to /v1 (its routes: serve/routes.ts): server
// and model metadata, model readiness, and infer (JSON or binary tensors) through the same dynamic
// batcher. Errors are {"error": "..."}: 400 for the request, 404 for an unknown model or version,
// 503 while not ready.
import { packageInfo } from '../common/package-info.js';
import { readBody } from './body.js';
import { SERVE_DEFAULTS } from './defaults.js';
import { inferResponse, modelTensors, OIP_VERSION, parseInferRequest, PLATFORM } from './oip-request.js';
import { ApiError, sendJson } from './responses.js';
import { findModel } from './route-context.js';
import type { Handler } from './route-context.js';
import { MAX_COUNT } from './schemas.js';

export const OIP_EXTENSIONS = ['binary_tensor_data'];

export const serverMetadata: Handler = (_ctx, _req, res) =>
  sendJson(res, 200, { name: 'onnxgan', version: packageInfo().version, extensions: OIP_EXTENSIONS });

export const modelMetadata: Handler = (ctx, _req, res, p) => {
  const model = findModel(ctx, p.name!, p.version);
  sendJson(res, 200, { name: model.name, versions: [OIP_VERSION], platform: PLATFORM, ...modelTensors(model.metadata) });
};

export const modelReady: Handler = (ctx, _req, res, p) => {
  const name = p.name!;
  try {
    findModel(ctx, name, p.version);
  } catch (e) {
    if (e instanceof ApiError && e.status === 503) return sendJson(res, 503, { name, ready: false, error: e.message });
    throw e;
  }
  sendJson(res, 200, { name, ready: true });
};

export const unmatchedV2: Handler = (_ctx, req) => {
  throw new ApiError(404, 'not_found', `no route ${req.method} ${(req.url ?? '').split('?')[0]}`);
};

/** POST /v2/models/{name}[/versions/{v}]/infer. */
export const infer: Handler = async (ctx, req, res, p) => {
  const accepted = findModel(ctx, p.name!, p.version);
  // Room for the largest request a model takes as JSON numbers, plus the JSON around them.
  const { inferHeaderBytes, inferBytesPerValue } = SERVE_DEFAULTS;
  const body = await readBody(req, inferHeaderBytes + MAX_COUNT * (accepted.metadata.noiseDim + 1) * inferBytesPerValue, 'json-or-binary');
  // The model serving now: a file replaced while the body arrived retired the one found above,
  // and answering from its replacement is what /v1 does (issue 29).
  const model = findModel(ctx, p.name!, p.version);
  const meta = model.metadata;
  const header = req.headers['inference-header-content-length'];
  const request = parseInferRequest(body, Array.isArray(header) ? header[0] : header, meta, MAX_COUNT);
  let images: Float32Array;
  try {
    images = await model.batcher.submit({ noise: request.noise, labels: request.labels, rows: request.rows });
  } catch (e) {
    throw new ApiError(503, 'model_unavailable', `model "${model.name}" could not run these inputs: ${(e as Error).message}`);
  }
  const out = inferResponse(model.name, meta, request, images);
  res.writeHead(200, { ...out.headers, 'Content-Length': out.body.length });
  res.end(out.body);
};
