// `onnxgan serve --workers N`: N worker processes (node:cluster) share one port, each loading and
// watching the models folder itself. The primary only supervises: it forks the workers, restarts
// one that dies while serving, drains them all on SIGTERM/SIGINT, and answers the workers' /metrics
// requests with every worker's metrics aggregated (prom-client's AggregatorRegistry).
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const METRICS_REQ = 'onnxgan:metrics';
const METRICS_RES = 'onnxgan:metrics-res';
const READY = 'onnxgan:ready';

interface Message {
  type?: string;
  id?: number;
  text?: string;
  error?: string;
  url?: string;
}

/** True in a worker forked by runPrimary (not in other cluster setups that embed the server). */
const isOurWorker = (): boolean => cluster.isWorker && process.env.ONNXGAN_WORKER === '1';

/** The /metrics text of this server: its own registry, or in a worker every worker's, aggregated. */
export function clusterMetricsText(registry: Registry): () => Promise<string> {
  if (!isOurWorker()) return () => registry.metrics();
  let next = 0;
  const pending = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  process.on('message', (m: Message) => {
    if (m?.type !== METRICS_RES || m.id === undefined) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error !== undefined) p?.reject(new Error(m.error));
    else p?.resolve(m.text ?? '');
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      process.send!({ type: METRICS_REQ, id });
    });
}

/** In one of our workers: report this registry to the primary's aggregator, and say we serve. */
export function joinCluster(registry: Registry, url: string): void {
  if (!isOurWorker()) return;
  new AggregatorRegistry(); // installs the worker side of prom-client's metrics requests
  AggregatorRegistry.setRegistries([registry]);
  process.send!({ type: READY, url });
}

export interface PrimaryLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Runs the primary: forks `workers` copies of this command, logs "listening" once all serve,
 * restarts a worker that dies after it served, and on SIGTERM/SIGINT drains every worker (each
 * finishes its in-flight requests) and resolves with the exit code. A worker that exits before it
 * was ready (bad folder, port taken) stops them all: the error is its own, printed by the worker.
 */
export function runPrimary(workers: number, log: PrimaryLog): Promise<number> {
  const aggregator = new AggregatorRegistry();
  const ready = new Set<number>();
  let stopping = false;
  let announced = false;
  let code = 0;
  return new Promise((resolve) => {
    const fork = (): Worker => cluster.fork({ ONNXGAN_WORKER: '1' });
    const stop = (signal: string, exitCode: number): void => {
      if (stopping) return;
      stopping = true;
      code = exitCode;
      log.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'stopping workers');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      if (Object.keys(cluster.workers ?? {}).length === 0) resolve(code);
    };
    cluster.on('message', (worker, m: Message) => {
      if (m?.type === READY) {
        ready.add(worker.id);
        if (!announced && ready.size === workers) {
          announced = true;
          log.info({ url: m.url, workers, pid: process.pid }, 'listening');
        }
      } else if (m?.type === METRICS_REQ) {
        aggregator.clusterMetrics().then(
          (text) => worker.isConnected() && worker.send({ type: METRICS_RES, id: m.id, text }),
          (e: Error) => worker.isConnected() && worker.send({ type: METRICS_RES, id: m.id, error: e.message }),
        );
      }
    });
    cluster.on('exit', (worker, exitCode, signal) => {
      const served = ready.delete(worker.id);
      if (stopping) {
        if (exitCode !== 0 && signal !== 'SIGTERM') code = code || 1;
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(code);
        return;
      }
      if (!served) {
        log.error({ worker: worker.process.pid, code: exitCode, signal }, 'a worker exited before it was ready: stopping');
        return stop('worker failed', 1);
      }
      // A pause, so a worker that keeps dying does not spin the primary.
      log.error({ worker: worker.process.pid, code: exitCode, signal }, 'worker died: starting another');
      setTimeout(() => stopping || fork(), 1000);
    });
    process.once('SIGTERM', () => stop('SIGTERM', 0));
    process.once('SIGINT', () => stop('SIGINT', 0));
    for (let i = 0; i < workers; i++) fork();
  });
}
