// Assembles the Express app (security headers, CORS, logging, metrics, API, static files) and runs it.
import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import cors from 'cors';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import helmet from 'helmet';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { pinoHttp } from 'pino-http';
import { packageInfo } from '../common/package-info.js';
import { createMetrics, type ServeMetrics } from './metrics.js';
import { SERVE_DEFAULTS } from './defaults.js';
import { clusterMetricsText, joinCluster } from './cluster.js';
import { labelRoute, routeLabelOf } from './metrics.js';
import { ModelRegistry } from './model-registry.js';
import { sendError } from './responses.js';
import type { RouteContext } from './route-context.js';
import { apiRouter, type Middleware } from './router.js';
import { staticFiles } from './static-files.js';

export interface ServerOptions {
  /** Folder of *.onnx generators (watched). */
  models: string;
  /** 0 = an ephemeral port (see the returned url). */
  port?: number;
  host?: string;
  /** Rows per onnxruntime run; 1 disables batching. */
  maxBatch?: number;
  /** How long a lone request waits for others to batch with. */
  maxWaitMs?: number;
  /** Allowed cross-origin origins ('*' for any); CORS is off when empty. */
  cors?: string[];
  /** Folder served at / (defaults to the package's web-demo/). */
  webRoot?: string;
  /** Origins that may embed the public files (/dist/, /ort/, /models/); default: every origin. */
  embedOrigins?: string[];
  logger?: Logger;
  logLevel?: LevelWithSilent;
  /** Per-request access logs (on by default). */
  accessLog?: boolean;
  /** Body size limit of /v1 POST requests, in bytes (/v2 infer: what its largest request needs). */
  bodyLimit?: number;
  /** Longest wait for in-flight requests on close() before connections are cut. */
  shutdownGraceMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  registry: ModelRegistry;
  metrics: ServeMetrics;
  logger: Logger;
  /** Stop accepting connections, finish in-flight requests, release the models. */
  close(): Promise<void>;
}

function securityHeaders(corsEnabled: boolean): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        // onnxruntime-web compiles wasm, may start its threads from blob: workers, and the page draws
        // the images into a canvas / <img src="data:...">.
        'script-src': ["'self'", "'wasm-unsafe-eval'", 'blob:'],
        'worker-src': ["'self'", 'blob:'],
        'img-src': ["'self'", 'data:', 'blob:'],
        'connect-src': ["'self'", 'blob:', 'data:'],
        // helmet would force https for every subresource: breaks the plain-http local server.
        'upgrade-insecure-requests': null,
      },
    },
    // SharedArrayBuffer (onnxruntime-web threads) needs cross-origin isolation: COOP + COEP.
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: { policy: 'require-corp' },
    crossOriginResourcePolicy: { policy: corsEnabled ? 'cross-origin' : 'same-origin' },
  });
}

/**
 * helmet's headers, computed once by helmet itself: with no nonces they are the same for every
 * response, and setting them from a list costs a fraction of helmet's chain of middlewares, which
 * was 3% of a single-image request's time (bench/RESULTS.md, issue 16).
 */
function presetHeaders(headerMiddleware: RequestHandler): Middleware {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  let done = false;
  headerMiddleware(res.req as express.Request, res as unknown as express.Response, () => (done = true));
  if (!done) throw new Error('helmet did not set its headers synchronously');
  const headers = Object.entries(res.getHeaders()) as [string, string | string[]][];
  return (_req, out, next) => {
    for (const [name, value] of headers) out.setHeader(name, value);
    next();
  };
}

/** Errors of the static file routes (a malformed path is a 4xx from express.static). */
const errorHandler =
  (logger: Logger): ErrorRequestHandler =>
  (err: { status?: number; statusCode?: number; message?: string }, _req, res, next) => {
    if (res.headersSent) return next(err);
    const status = err.status ?? err.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendError(res, status, 'bad_request', err.message ?? 'bad request');
    logger.error({ err }, 'unhandled error');
    sendError(res, 500, 'internal_error', 'the server failed to handle this request (see its logs)');
  };

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const opts = { ...SERVE_DEFAULTS, ...options };
  const logger = opts.logger ?? pino({ name: 'onnxgan-serve', level: opts.logLevel ?? 'info' });
  const metrics = createMetrics();
  const registry = new ModelRegistry({
    dir: path.resolve(opts.models),
    maxBatch: opts.maxBatch,
    maxWaitMs: opts.maxWaitMs,
    logger,
    metrics,
  });
  const webRoot = opts.webRoot ?? path.join(packageInfo().root, 'web-demo');
  const corsOrigins = opts.cors?.filter(Boolean) ?? [];
  let shuttingDown = false;

  const app = express();
  app.disable('x-powered-by');
  // Run on the API routes (serve/router.ts) and by Express alike, in this order.
  const middleware: Middleware[] = [];
  middleware.push((req, res, next) => {
    const started = process.hrtime.bigint();
    metrics.inFlight.inc();
    res.on('close', () => {
      metrics.inFlight.dec();
      const labels = { route: routeLabelOf(res), method: req.method ?? '' };
      // A response closed before it finished means the client went away: counted as status 499.
      metrics.requests.inc({ ...labels, status: res.writableFinished ? String(res.statusCode) : '499' });
      metrics.latency.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    // While draining, every response closes its keep-alive connection so the server can exit.
    if (shuttingDown) res.setHeader('Connection', 'close');
    next();
  });
  if (opts.accessLog !== false) {
    middleware.push(
      pinoHttp({
        logger,
        autoLogging: { ignore: (req) => ['/healthz', '/readyz', '/metrics'].includes(req.url ?? '') },
        customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
        serializers: {
          req: (req: IncomingMessage & { id?: unknown }) => ({ id: req.id, method: req.method, url: req.url }),
          res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
        },
      }) as Middleware,
    );
  }
  middleware.push(presetHeaders(securityHeaders(corsOrigins.length > 0)));
  if (corsOrigins.length)
    middleware.push(
      cors({ origin: corsOrigins.includes('*') ? '*' : corsOrigins, exposedHeaders: ['X-Seed', 'X-Label', 'X-Model'] }) as Middleware,
    );
  for (const m of middleware) app.use(m as RequestHandler);
  const routeContext: RouteContext = {
    registry,
    metrics,
    isShuttingDown: () => shuttingDown,
    bodyLimit: options.bodyLimit ?? SERVE_DEFAULTS.bodyLimit,
    metricsText: clusterMetricsText(metrics.registry),
  };
  app.use(staticFiles({ webRoot, registry, embedOrigins: opts.embedOrigins }));
  app.use((req, res) => {
    labelRoute(res, 'unmatched');
    sendError(res, 404, 'not_found', `no route ${req.method} ${req.path}`);
  });
  app.use(errorHandler(logger));

  const server = createServer(apiRouter({ ...routeContext, middleware, logger }, app));
  const port = await listen(server, opts.port, opts.host);
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  try {
    await registry.start(); // /healthz answers meanwhile; /readyz says 503 until a model is loaded
  } catch (e) {
    server.close();
    throw e;
  }
  logger.info({ url, models: opts.models, maxBatch: opts.maxBatch, maxWaitMs: opts.maxWaitMs, cors: corsOrigins }, 'listening');
  joinCluster(metrics.registry, url);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      shuttingDown = true;
      logger.info('shutting down: finishing in-flight requests');
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Sockets that became idle after their last response would otherwise wait for keep-alive expiry.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const force = setTimeout(() => {
        logger.warn('shutdown grace period over: closing remaining connections');
        server.closeAllConnections();
      }, options.shutdownGraceMs ?? SERVE_DEFAULTS.shutdownGraceMs);
      await done;
      clearInterval(sweep);
      clearTimeout(force);
      await registry.close();
      logger.info('stopped');
    })());

  return { url, port, registry, metrics, logger, close };
}

/**
 * Listens on host:port and returns the port bound (0 = any free one). What a user can fix (a port
 * taken or not allowed, an address that is not this machine's) becomes a one-line message saying how.
 */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const other = port > 0 && port < 65535 ? port + 1 : 8081;
    const pickPort = `pick another with PORT=${other} npm start or onnxgan serve --port ${other} (0 = any free port)`;
    const pickHost = 'use HOST=127.0.0.1 (this machine only) or HOST=0.0.0.0 (every interface), or --host';
    const why: Record<string, string> = {
      EADDRINUSE: `port ${port} on ${host} is already in use (by another server?): ${pickPort}`,
      EACCES: `not allowed to listen on port ${port} (ports below 1024 need privileges): ${pickPort}`,
      EADDRNOTAVAIL: `cannot listen on ${host}: not an address of this machine; ${pickHost}`,
      ENOTFOUND: `cannot listen on ${host}: no such host name; ${pickHost}`,
      EAI_AGAIN: `cannot listen on ${host}: its name could not be resolved; ${pickHost}`,
    };
    throw new Error(why[err.code ?? ''] ?? `cannot listen on ${host}:${port}: ${err.message}`, { cause: e });
  }
  return (server.address() as AddressInfo).port;
}
