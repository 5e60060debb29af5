// POST /v1/models/{name}/generate (its route: serve/routes.ts).
import type { ServerResponse } from 'node:http';
import { imageValues } from '../common/metadata.js';
import { gridPng, imagePng } from '../common/png.js';
import { randomSeed } from '../common/rng.js';
import { readBody } from './body.js';
import type { LoadedModel } from './model-registry.js';
import { ApiError, sendJson } from './responses.js';
import { findModel } from './route-context.js';
import type { Handler } from './route-context.js';
import { validationError, type GenerateRequest } from './schemas.js';

export const generate: Handler = async (ctx, req, res, p) => {
  const raw = await readBody(req, ctx.bodyLimit, 'json');
  let body: unknown = {};
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      throw new ApiError(400, 'malformed_json', (e as Error).message, '(body)');
    }
  }
  const model = findModel(ctx, p.name!);
  const parsed = model.schema.safeParse(body);
  if (!parsed.success) {
    const v = validationError(parsed.error);
    throw new ApiError(400, v.error, v.message, v.field);
  }
  const request = parsed.data;
  const seed = request.seed ?? randomSeed();
  let images: Float32Array;
  try {
    // No await between the registry lookup and submit: a concurrent reload retires the old
    // batcher only after draining what was submitted to it.
    images = await model.batcher.submit({
      noise: model.runner.noise(seed, request.count),
      labels: model.runner.labels(request.count, request.label),
      rows: request.count,
    });
  } catch (e) {
    throw new ApiError(503, 'model_unavailable', `model "${model.name}" could not run: ${(e as Error).message}`, 'name');
  }
  respond(res, model, request, seed, images);
};
function respond(res: ServerResponse, model: LoadedModel, req: GenerateRequest, seed: number, images: Float32Array): void {
  res.setHeader('X-Seed', String(seed));
  res.setHeader('X-Model', model.name);
  if (req.label !== null) res.setHeader('X-Label', String(req.label));
  const n = req.count;
  const shape = model.metadata.imageShape; // grey PNGs for C = 1, RGB for C = 3
  const png = (bytes: Buffer): void => {
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': bytes.length });
    res.end(bytes);
  };
  switch (req.format) {
    case 'png':
      return png(imagePng(images, shape));
    case 'grid':
      return png(gridPng(images, n, undefined, 2, 1, shape));
    case 'json': {
      const size = imageValues(model.metadata.imageShape);
      const pngs: string[] = [];
      for (let i = 0; i < n; i++) pngs.push(imagePng(images.subarray(i * size, (i + 1) * size), shape).toString('base64'));
      return sendJson(res, 200, { model: model.name, seed, label: req.label, count: n, images: pngs });
    }
    case 'tensor':
      // Plain JSON numbers: each float32 prints as the shortest double that reads back to the same float32.
      return sendJson(res, 200, {
        model: model.name,
        seed,
        label: req.label,
        shape: [n, ...model.metadata.imageShape],
        data: Array.from(images),
      });
  }
}
