// Answers the API (serve/routes.ts's table) on plain node:http, in front of Express: Express's
// per-request work (its router, request and response decoration, res.send's ETag hashing) cost more
// than generating the image. The same middleware runs on every request (metrics, access log,
// security headers, CORS), in the same order; what no route matches goes on to Express.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ClientGone, closeAfter } from './body.js';
import { labelRoute } from './metrics.js';
import { ApiError, sendApiError } from './responses.js';
import type { RouteContext } from './route-context.js';
import type { Params } from './route-context.js';
import { ROUTES, type Route } from './routes.js';

/** A connect-style middleware (helmet, cors, pino-http and ours all are). */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

interface Compiled {
  route: Route;
  label: string;
  /** Lower-case literal segments, or null where a parameter goes. */
  literals: (string | null)[];
  names: (string | null)[];
  /** Ends in `*`: matches paths with at least the segments before it. */
  rest: boolean;
}

function compile(route: Route): Compiled {
  const segments = route.pattern.split('/').slice(1);
  const rest = segments.at(-1) === '*';
  if (rest) segments.pop();
  return {
    route,
    label: route.label ?? route.pattern,
    literals: segments.map((s) => (s.startsWith(':') ? null : s.toLowerCase())),
    names: segments.map((s) => (s.startsWith(':') ? s.slice(1) : null)),
    rest,
  };
}

/** The route and its raw parameters for a method and URL (query and one trailing slash ignored). */
function match(table: Compiled[], method: string, url: string): { c: Compiled; raw: [string, string][] } | null {
  let end = url.indexOf('?');
  if (end < 0) end = url.length;
  if (end > 1 && url.charCodeAt(end - 1) === 47 /* / */) end--;
  const segments = url.slice(1, end).split('/');
  const asGet = method === 'HEAD' ? 'GET' : method;
  for (const c of table) {
    const m = c.route.method;
    if (m !== '*' && m !== asGet) continue;
    if (c.rest ? segments.length < c.literals.length : segments.length !== c.literals.length) continue;
    const raw: [string, string][] = [];
    let ok = true;
    for (let i = 0; i < c.literals.length && ok; i++) {
      const lit = c.literals[i];
      if (lit === null) raw.push([c.names[i]!, segments[i]!]);
      else ok = segments[i]!.length === lit.length && segments[i]!.toLowerCase() === lit;
    }
    if (ok) return { c, raw };
  }
  return null;
}

export function apiRouter(
  ctx: RouteContext & { middleware: Middleware[]; logger: Logger },
  fallback: (req: IncomingMessage, res: ServerResponse) => void,
) {
  const table = ROUTES.map(compile);
  const failed = (res: ServerResponse, route: Route, e: unknown): void => {
    if (e instanceof ClientGone) return;
    if (e instanceof ApiError) {
      if (e.status === 413) closeAfter(res); // the rest of the body is not read
      if (!res.headersSent) return sendApiError(res, route.dialect, e);
    }
    ctx.logger.error({ err: e }, 'unhandled error');
    if (!res.headersSent)
      sendApiError(res, route.dialect, new ApiError(500, 'internal_error', 'the server failed to handle this request (see its logs)'));
    else res.destroy();
  };
  const run = (req: IncomingMessage, res: ServerResponse, route: Route, params: Params | ApiError): void => {
    const handle = (): void => {
      if (params instanceof ApiError) return failed(res, route, params);
      try {
        const done = route.handler(ctx, req, res, params);
        if (done) done.catch((e: unknown) => failed(res, route, e));
      } catch (e) {
        failed(res, route, e);
      }
    };
    let i = 0;
    const next = (err?: unknown): void => {
      if (err) return failed(res, route, err);
      const m = ctx.middleware[i++];
      if (!m) return handle();
      try {
        m(req, res, next);
      } catch (e) {
        failed(res, route, e);
      }
    };
    next();
  };
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '';
    const found = url.charCodeAt(0) === 47 /* / */ ? match(table, req.method ?? '', url) : null;
    if (!found) return fallback(req, res);
    labelRoute(res, found.c.label);
    run(req, res, found.c.route, decodeParams(found.raw));
  };
}

function decodeParams(raw: [string, string][]): Params | ApiError {
  const params: Params = {};
  for (const [name, value] of raw) {
    try {
      params[name] = decodeURIComponent(value);
    } catch {
      return new ApiError(400, name === 'name' ? 'invalid_model_name' : 'invalid_request', 'not valid percent-encoding', name);
    }
  }
  return params;
}
