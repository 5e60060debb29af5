// Load test of `onnxgan serve` (not a unit test): single-image PNG requests at several concurrencies,
// dynamic batching on and off, against a bare Express "hello" route as the ceiling.
//   npm run build && node dist/bench/serve.js [--models DIR] [--model gan] [--duration 20] [--connections 1,16,64] [--out FILE.md] (paste the table into bench/RESULTS.md)
// The server runs in a child process, so the load generator (autocannon, in this process) and the
// server each have their own event loop.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), existsSync(new URL('../package.json', import.meta.url)) ? '..' : '../..');
const CLI = path.join(ROOT, 'dist/cli.js');

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'models' },
    model: { type: 'string', default: 'gan' },
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '1,16,64' },
    out: { type: 'string', default: '/tmp/onnxgan-serve-bench.md' },
    'access-log': { type: 'boolean', default: false },
  },
});
const duration = Number(args.duration);
const connections = args.connections!.split(',').map(Number);

interface Target {
  label: string;
  /** Server base URL (for /metrics). */
  base: string;
  /** The loaded URL. */
  url: string;
  method: 'GET' | 'POST';
  body?: string;
  child: ChildProcess;
}

/** Starts a child process and waits for the line that carries its URL. */
function startChild(label: string, cmd: string[], urlPattern: RegExp): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn('node', cmd, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer): void => {
      out += c.toString();
      const m = urlPattern.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining logs so the child never blocks on a full pipe
        resolve({ child, url: m[1]! });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => reject(new Error(`${label} exited (${code}) before listening:\n${out}`)));
  });
}

async function startServe(maxBatch: number, maxWaitMs: number): Promise<{ child: ChildProcess; url: string }> {
  const cmd = [CLI, 'serve', '--models', args.models!, '--port', '0', '--max-batch', String(maxBatch), '--max-wait-ms', String(maxWaitMs)];
  if (!args['access-log']) cmd.push('--no-access-log');
  return startChild('onnxgan serve', cmd, /"url":"(http:[^"]+)".*"msg":"listening"/);
}

async function startHello(): Promise<{ child: ChildProcess; url: string }> {
  const src = `import express from 'express';
const app = express();
app.get('/hello', (_req, res) => { res.send('hello'); });
const s = app.listen(0, '127.0.0.1', () => console.log('url=http://127.0.0.1:' + s.address().port));`;
  return startChild('hello', ['--input-type=module', '-e', src], /url=(\S+)/);
}

/** Resident memory of the server, from its own /metrics when it has one, else /proc. */
async function rssMiB(t: Target): Promise<number> {
  if (t.label !== 'express hello') {
    const text = await (await fetch(`${t.base}/metrics`)).text();
    const v = /^onnxgan_process_resident_memory_bytes (\S+)$/m.exec(text)?.[1];
    if (v) return Number(v) / 2 ** 20;
  }
  const status = await import('node:fs').then((fs) => fs.readFileSync(`/proc/${t.child.pid}/status`, 'utf8'));
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** Requests and onnxruntime runs so far (cumulative histogram sum and count). */
async function batchCounters(t: Target): Promise<{ requests: number; runs: number } | null> {
  if (t.label === 'express hello') return null;
  const text = await (await fetch(`${t.base}/metrics`)).text();
  const requests = Number(/^onnxgan_batch_requests_sum\{[^}]*\} (\S+)$/m.exec(text)?.[1] ?? 0);
  const runs = Number(/^onnxgan_batch_requests_count\{[^}]*\} (\S+)$/m.exec(text)?.[1] ?? 0);
  return { requests, runs };
}

interface Row {
  target: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  rssBefore: number;
  rssAfter: number;
  perRun: string;
}

async function measure(t: Target, c: number): Promise<Row> {
  // A short warm-up (JIT, connection pools, onnxruntime arenas) that is not measured.
  await autocannon({ url: t.url, connections: c, duration: 2, method: t.method, headers: { 'content-type': 'application/json' }, body: t.body });
  const rssBefore = await rssMiB(t);
  const before = await batchCounters(t);
  const r = await autocannon({ url: t.url, connections: c, duration, method: t.method, headers: { 'content-type': 'application/json' }, body: t.body });
  const rssAfter = await rssMiB(t);
  const after = await batchCounters(t);
  const perRun = before && after && after.runs > before.runs ? ((after.requests - before.requests) / (after.runs - before.runs)).toFixed(1) : '';
  const row: Row = {
    target: t.label,
    connections: c,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
    rssBefore,
    rssAfter,
    perRun,
  };
  console.error(JSON.stringify(row));
  return row;
}

const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

const rows: Row[] = [];
const load0 = os.loadavg();
const body = JSON.stringify({ format: 'png' }); // no seed: the server draws one per request
const configs: [string, () => Promise<{ child: ChildProcess; url: string }>, 'GET' | 'POST', string, string | undefined][] = [
  ['batching on (max-batch 64, max-wait 2 ms)', () => startServe(64, 2), 'POST', `/v1/models/${args.model}/generate`, body],
  ['batching off (max-batch 1)', () => startServe(1, 0), 'POST', `/v1/models/${args.model}/generate`, body],
  ['express hello', startHello, 'GET', '/hello', undefined],
];
for (const [label, start, method, route, b] of configs) {
  const { child, url } = await start();
  const target: Target = { label, base: url, url: `${url}${route}`, method, body: b, child };
  for (const c of connections) rows.push(await measure(target, c));
  await stop(child);
}

const load1 = os.loadavg();
const fmt = (n: number, d = 0): string => n.toFixed(d);
const table = [
  '| target | connections | req/s | p50 ms | p99 ms | errors | requests per onnxruntime run | server RSS before -> after (MiB) |',
  '|---|---:|---:|---:|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.target} | ${r.connections} | ${fmt(r.rps)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${r.errors} | ${r.perRun || '-'} | ${fmt(r.rssBefore)} -> ${fmt(r.rssAfter)} |`),
].join('\n');
const cmd = `npm run build && node dist/bench/serve.js --models ${args.models} --model ${args.model} --duration ${duration} --connections ${connections.join(',')}${args['access-log'] ? ' --access-log' : ''}`;
const md = `## Serving benchmark (\`onnxgan serve\`)

Single-image requests (\`POST /v1/models/${args.model}/generate\` with \`{"format":"png"}\`, a fresh random seed per request),
${duration} s per row after a 2 s warm-up, autocannon in the benchmark process, the server in a child process
(access log ${args['access-log'] ? 'on' : 'off'}). "express hello" is a bare Express 5 \`GET /hello\` in its own process: the ceiling
of the HTTP stack alone on this machine.

Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${os.platform()} ${os.release()};
load average ${load0.map((l) => l.toFixed(1)).join(' / ')} at the start and ${load1.map((l) => l.toFixed(1)).join(' / ')} at the end.

${table}

Command:

\`\`\`sh
${cmd}
\`\`\`
`;
writeFileSync(path.resolve(ROOT, args.out!), md);
console.log(md);
