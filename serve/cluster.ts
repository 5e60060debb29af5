// `onnxgan serve --workers N`, the workers' side: a worker is this same command forked by the primary
// (serve/cluster-primary.ts) with ONNXGAN_WORKER=1 and an IPC channel. It listens on 127.0.0.1 on a
// port of its own (only the primary's proxy talks to it), says "ready" once its models are loaded,
// hands its metrics to the primary on request, and asks the primary for the aggregated /metrics.
import type { Registry } from 'prom-client';

export const MSG = {
  ready: 'onnxgan:ready',
  /** worker -> primary: the aggregated /metrics text, please. */
  metricsReq: 'onnxgan:metrics',
  metricsRes: 'onnxgan:metrics-res',
  /** primary -> worker: this worker's metrics as prom-client JSON. */
  jsonReq: 'onnxgan:metrics-json',
  jsonRes: 'onnxgan:metrics-json-res',
} as const;

export interface ClusterMessage {
  type?: string;
  id?: number;
  text?: string;
  json?: object[];
  error?: string;
  url?: string;
}

/** True in a worker forked by the primary (not in other setups that embed the server). */
export const isClusterWorker = (): boolean => process.env.ONNXGAN_WORKER === '1' && typeof process.send === 'function';

/** Where a worker listens: loopback, any free port (the primary proxies the public port to it). */
export const WORKER_ADDRESS = { host: '127.0.0.1', port: 0 } as const;

const send = (m: ClusterMessage): void => {
  if (process.connected) process.send!(m, undefined, {}, () => {}); // a primary gone is handled on 'disconnect'
};

/** The /metrics text of this server: its own registry, or in a worker every ready worker's, aggregated by the primary. */
export function clusterMetricsText(registry: Registry): () => Promise<string> {
  if (!isClusterWorker()) return () => registry.metrics();
  let next = 0;
  const pending = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  process.on('message', (m: ClusterMessage) => {
    if (m?.type !== MSG.metricsRes || m.id === undefined) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error !== undefined) p?.reject(new Error(m.error));
    else p?.resolve(m.text ?? '');
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      send({ type: MSG.metricsReq, id });
    });
}

/** In a worker, once its models are loaded: answer the primary's metrics requests, say we serve at `url`. */
export function joinCluster(registry: Registry, url: string): void {
  if (!isClusterWorker()) return;
  process.on('message', (m: ClusterMessage) => {
    if (m?.type !== MSG.jsonReq) return;
    registry.getMetricsAsJSON().then(
      (json) => send({ type: MSG.jsonRes, id: m.id, json }),
      (e: Error) => send({ type: MSG.jsonRes, id: m.id, error: e.message }),
    );
  });
  // The primary gone (killed): drain and exit like on SIGTERM instead of serving as an orphan.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  send({ type: MSG.ready, url });
}
