// `onnxgan serve --workers N`, the primary: it listens on the public port itself and proxies each
// request to one of N worker processes (this command forked, serve/cluster.ts), so that a worker's
// death loses nothing. With node:cluster's shared port a request in flight on a worker dies with the
// worker's socket; here the primary holds the request (its body read in full) and, when a worker's
// connection fails before any byte of its response, sends it to another worker. That repeat is safe
// because no route of the server changes anything (the same seed gives the same image). With no
// worker to take it, the answer is 503 with Retry-After. A worker takes traffic only once it said it
// is ready (its models loaded); /metrics aggregates the ready workers that answer in time. The
// primary restarts a worker that dies, and on SIGTERM/SIGINT stops taking connections, lets every
// worker drain, and resolves with the exit code.
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { closeAfter } from './body.js';
import { MSG, type ClusterMessage } from './cluster.js';
import { SERVE_DEFAULTS } from './defaults.js';
import { ApiError, dialectOf, sendApiError } from './responses.js';
import { listen } from './server.js';

export interface PrimaryOptions {
  workers: number;
  port: number;
  host: string;
}

export interface PrimaryLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const {
  workerAttempts: MAX_ATTEMPTS,
  waitForWorkerMs: WAIT_FOR_WORKER_MS,
  primaryBodyLimit: MAX_BODY,
  workerMetricsTimeoutMs: METRICS_TIMEOUT_MS,
  workerRestartDelayMs: RESTART_DELAY_MS,
  primaryStopGraceMs: STOP_GRACE_MS,
} = SERVE_DEFAULTS;

// Headers of one connection, not of the request (RFC 9110 7.6.1); the body is re-sent whole (Expect is done).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect']);

interface WorkerState {
  child: ChildProcess;
  ready: boolean;
  /** Served before (a death is then a restart, not a failed start). */
  served: boolean;
  url?: URL;
  agent?: Agent;
  inFlight: number;
}

export function runPrimary(o: PrimaryOptions, log: PrimaryLog): Promise<number> {
  const workers = new Set<WorkerState>();
  const waiting = new Set<() => void>();
  let stopping = false;
  let announced = false;
  let exitCode = 0;
  let rotation = 0;
  let nextId = 0;

  const own = new Registry();
  const retries = new Counter({
    name: 'onnxgan_worker_retries_total',
    help: 'Requests sent to another worker after a worker failed before answering (--workers)',
    registers: [own],
  });
  const unavailable = new Counter({
    name: 'onnxgan_worker_unavailable_total',
    help: 'Requests answered 503 because no worker was ready (--workers)',
    registers: [own],
  });
  const restarts = new Counter({
    name: 'onnxgan_worker_restarts_total',
    help: 'Workers that died while serving and were replaced (--workers)',
    registers: [own],
  });
  new Gauge({
    name: 'onnxgan_workers_ready',
    help: 'Worker processes taking traffic (--workers)',
    registers: [own],
    collect() {
      this.set(ready().length);
    },
  });

  const ready = (): WorkerState[] => [...workers].filter((w) => w.ready);
  const sendTo = (w: WorkerState, m: ClusterMessage): boolean => {
    if (!w.child.connected) return false;
    w.child.send(m, undefined, {}, () => {}); // a worker gone meanwhile: its 'exit' handles it
    return true;
  };

  /** The metrics of every ready worker that answers in time, and the primary's own, aggregated. */
  async function metricsText(): Promise<string> {
    const asked = ready().map(
      (w) =>
        new Promise<object[] | null>((resolve) => {
          const id = nextId++;
          const timer = setTimeout(() => done(null), METRICS_TIMEOUT_MS);
          const onMessage = (m: ClusterMessage): void => {
            if (m?.type === MSG.jsonRes && m.id === id) done(m.error === undefined ? (m.json ?? null) : null);
          };
          const done = (json: object[] | null): void => {
            clearTimeout(timer);
            w.child.off('message', onMessage);
            w.child.off('exit', gone);
            resolve(json);
          };
          const gone = (): void => done(null);
          w.child.on('message', onMessage);
          w.child.once('exit', gone);
          if (!sendTo(w, { type: MSG.jsonReq, id })) done(null);
        }),
    );
    const answers = (await Promise.all(asked)).filter((a): a is object[] => a !== null);
    return AggregatorRegistry.aggregate([...answers, await own.getMetricsAsJSON()]).metrics();
  }

  /** The ready worker with the fewest requests in flight, preferring one not tried yet for this request. */
  function pick(tried: Set<WorkerState>): WorkerState | undefined {
    const up = ready();
    const fresh = up.filter((w) => !tried.has(w));
    const from = fresh.length ? fresh : up;
    if (from.length === 0) return undefined;
    rotation = (rotation + 1) % from.length;
    return [...from.slice(rotation), ...from.slice(0, rotation)].reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
  }

  async function worker(tried: Set<WorkerState>): Promise<WorkerState | undefined> {
    const until = Date.now() + WAIT_FOR_WORKER_MS;
    for (;;) {
      const w = stopping ? undefined : pick(tried);
      if (w || stopping || Date.now() >= until) return w;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          waiting.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, until - Date.now());
        waiting.add(wake);
      });
    }
  }

  /** Sends the request to one worker: 'retry' when its connection failed before any response byte. */
  function forward(w: WorkerState, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<'done' | 'retry'> {
    return new Promise((resolve) => {
      w.inFlight++;
      let settled = false;
      const settle = (outcome: 'done' | 'retry'): void => {
        if (settled) return;
        settled = true;
        w.inFlight--;
        res.off('close', clientGone);
        resolve(outcome);
      };
      const up = request(
        {
          host: w.url!.hostname,
          port: w.url!.port,
          method: req.method,
          path: req.url,
          headers: requestHeaders(req.headers, body),
          agent: w.agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, responseHeaders(answer.rawHeaders, stopping));
          answer.pipe(res);
          // A worker that dies mid-response: the client's response cannot be completed, so it is cut.
          answer.on('error', () => res.destroy());
          answer.on('aborted', () => res.destroy());
          res.once('finish', () => settle('done'));
        },
      );
      up.on('error', () => {
        if (res.headersSent) {
          res.destroy();
          settle('done');
        } else settle('retry');
      });
      const clientGone = (): void => {
        if (!res.writableFinished) up.destroy();
        settle('done');
      };
      res.on('close', clientGone);
      up.end(body);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (stopping) res.setHeader('Connection', 'close');
    const path = (req.url ?? '').split('?')[0];
    if ((req.method === 'GET' || req.method === 'HEAD') && (path === '/metrics' || path === '/metrics/')) {
      const text = await metricsText();
      res.writeHead(200, { 'Content-Type': own.contentType, 'Content-Length': Buffer.byteLength(text) });
      return void res.end(req.method === 'HEAD' ? undefined : text);
    }
    const body = await readAll(req);
    if (body === null) {
      closeAfter(res); // the rest of the body is not read
      return answerError(req, res, 413, 'body_too_large', `body: larger than the ${MAX_BODY} bytes a request may hold`);
    }
    const tried = new Set<WorkerState>();
    for (let attempt = 1; !res.destroyed; attempt++) {
      const w = await worker(tried);
      if (!w || res.destroyed) break; // none ready, or the client left while it waited
      tried.add(w);
      if ((await forward(w, req, body, res)) === 'done') return;
      if (attempt === MAX_ATTEMPTS) break;
      retries.inc();
    }
    if (res.destroyed) return;
    unavailable.inc();
    res.setHeader('Retry-After', '1');
    answerError(
      req,
      res,
      503,
      'unavailable',
      stopping ? 'the server is shutting down' : 'no worker could take this request now (one is restarting): try again',
    );
  }

  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      handle(req, res).catch((e: unknown) => {
        if (req.destroyed) return; // the client went away while sending its body
        log.error({ err: e }, 'proxy failed');
        if (!res.headersSent) answerError(req, res, 502, 'bad_gateway', 'the server failed to pass this request to a worker');
        else res.destroy();
      });
    });
    let serverClosed = false;
    const finish = (): void => {
      if (stopping && serverClosed && workers.size === 0) resolve(exitCode);
    };
    const startWorker = (): void => {
      const w: WorkerState = {
        child: fork(process.argv[1]!, process.argv.slice(2), { env: { ...process.env, ONNXGAN_WORKER: '1' }, execArgv: process.execArgv }),
        ready: false,
        served: false,
        inFlight: 0,
      };
      workers.add(w);
      w.child.on('error', (e) => log.error({ err: e, worker: w.child.pid }, 'worker process error'));
      w.child.on('message', (m: ClusterMessage) => {
        if (m?.type === MSG.ready && m.url && !stopping) {
          w.url = new URL(m.url);
          w.agent = new Agent({ keepAlive: true });
          w.ready = w.served = true;
          for (const wake of [...waiting]) wake();
          if (!announced && ready().length === o.workers) {
            announced = true;
            log.info({ url: publicUrl, workers: o.workers, pid: process.pid }, 'listening');
          }
        } else if (m?.type === MSG.metricsReq) {
          metricsText().then(
            (text) => sendTo(w, { type: MSG.metricsRes, id: m.id, text }),
            (e: Error) => sendTo(w, { type: MSG.metricsRes, id: m.id, error: e.message }),
          );
        }
      });
      w.child.on('exit', (code, signal) => {
        w.ready = false;
        w.agent?.destroy();
        workers.delete(w);
        if (stopping) {
          if (code !== 0 && signal !== 'SIGTERM') exitCode = exitCode || 1;
          return finish();
        }
        if (!w.served) {
          log.error({ worker: w.child.pid, code, signal }, 'a worker exited before it was ready: stopping');
          return stop('worker failed', 1);
        }
        restarts.inc();
        log.error({ worker: w.child.pid, code, signal }, 'worker died: starting another');
        setTimeout(() => stopping || startWorker(), RESTART_DELAY_MS);
      });
    };
    const stop = (signal: string, code: number): void => {
      if (stopping) return;
      stopping = true;
      exitCode = code;
      log.info({ signal, workers: workers.size }, 'stopping workers');
      for (const wake of [...waiting]) wake();
      // In-flight requests finish in the workers and come back through here; new connections are refused.
      server.close(() => {
        serverClosed = true;
        clearInterval(sweep);
        clearTimeout(force);
        finish();
      });
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const force = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
      server.closeIdleConnections();
      for (const w of workers) {
        w.ready = false;
        w.child.kill('SIGTERM');
      }
      finish();
    };
    let publicUrl = '';
    process.once('SIGTERM', () => stop('SIGTERM', 0));
    process.once('SIGINT', () => stop('SIGINT', 0));
    // The port first: taken or not allowed, the command fails at once with listen()'s advice.
    listen(server, o.port, o.host).then((port) => {
      publicUrl = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
      for (let i = 0; i < o.workers && !stopping; i++) startWorker();
    }, reject);
  });
}

/** The body in full (null past MAX_BODY), for a retry on another worker. */
function readAll(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => reject(new Error('the client closed the connection')));
  });
}

function requestHeaders(headers: IncomingHttpHeaders, body: Buffer): IncomingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .toLowerCase()
      .split(',')
      .map((s) => s.trim()),
  );
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  if (body.length > 0 || headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined)
    out['content-length'] = String(body.length);
  return out;
}

/** The worker's response headers as sent (raw pairs), without those of the primary-worker connection. */
function responseHeaders(raw: string[], closing: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name !== 'connection' && name !== 'keep-alive') out.push(raw[i]!, raw[i + 1]!);
  }
  if (closing) out.push('Connection', 'close');
  return out;
}

/** An error of the primary's own, in the format of the API it was meant for ({error} on /v2, {error, detail} elsewhere). */
function answerError(req: IncomingMessage, res: ServerResponse, status: number, error: string, detail: string): void {
  sendApiError(res, dialectOf(req.url), new ApiError(status, error, detail));
}
