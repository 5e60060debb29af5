// The inference routes (POST /v1/models/{name}/generate and /v2/models/{name}[/versions/{v}]/infer)
// answered on plain node:http, in front of Express: Express's per-request work (its router, request
// and response decoration, body-parser, res.send's ETag hashing) cost more than generating the
// image. The same middleware still runs on them (metrics, access log, security headers, CORS), in
// the same order; everything else goes on to the Express app.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ClientGone } from './body.js';
import { generate } from './generate.js';
import { infer } from './oip.js';
import { sendError, sendJson, type RouteContext } from './routes.js';

/** A connect-style middleware (helmet, cors, pino-http and ours all are). */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

const GENERATE = /^\/v1\/models\/([^/?]+)\/generate\/?(?:\?.*)?$/i;
const INFER = /^\/v2\/models\/([^/?]+)(?:\/versions\/([^/?]+))?\/infer\/?(?:\?.*)?$/i;

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function inferenceLane(ctx: RouteContext & { middleware: Middleware[]; logger: Logger }, fallback: (req: IncomingMessage, res: ServerResponse) => void) {
  const failed = (res: ServerResponse, e: unknown): void => {
    if (e instanceof ClientGone) return;
    ctx.logger.error({ err: e }, 'unhandled error');
    if (!res.headersSent) sendError(res, 500, 'internal_error', 'the server failed to handle this request (see its logs)');
    else res.destroy();
  };
  const run = (req: IncomingMessage, res: ServerResponse, routeName: string, handler: Handler): void => {
    (res as ServerResponse & { locals: Record<string, unknown> }).locals = { route: routeName };
    let i = 0;
    const next = (err?: unknown): void => {
      if (err) return failed(res, err);
      const m = ctx.middleware[i++];
      if (m) {
        try {
          m(req, res, next);
        } catch (e) {
          failed(res, e);
        }
      } else handler(req, res).catch((e: unknown) => failed(res, e));
    };
    next();
  };
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '';
    if (req.method === 'POST' && url.charCodeAt(0) === 47 /* / */) {
      let m = GENERATE.exec(url);
      if (m) {
        const name = decode(m[1]!);
        return run(req, res, '/v1/models/:name/generate', (q, s) =>
          name === null ? Promise.resolve(sendError(s, 400, 'invalid_model_name', 'name: not valid percent-encoding', 'name')) : generate(ctx, name, q, s),
        );
      }
      m = INFER.exec(url);
      if (m) {
        const name = decode(m[1]!);
        const version = m[2] === undefined ? undefined : decode(m[2]);
        return run(req, res, '/v2/models/:name/infer', (q, s) =>
          name === null || version === null ? Promise.resolve(sendJson(s, 400, { error: 'the model name or version is not valid percent-encoding' })) : infer(ctx, name, version, q, s),
        );
      }
    }
    fallback(req, res);
  };
}

function decode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}
