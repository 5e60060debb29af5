// Load test of `onnxgan serve` (not a unit test): single-image requests (v1 PNG, OIP infer as JSON
// and as binary tensors) with and without --workers, against a bare Express "hello" route as the
// peer, all measured in the same run. The machine is shared, so the targets take turns in rounds,
// each right after a hello of its own, and each figure is the median over the rounds; the ratio to
// hello is taken within each such pair.
//   npm run build && node dist/bench/serve.js [--models DIR] [--model gan] [--duration 5] [--rounds 3]
//     [--connections 64] [--workers 1,2] [--baseline DIR] [--out FILE.md] (paste the table into bench/RESULTS.md)
// --baseline DIR adds v1 PNG from another built checkout (e.g. an older commit: git archive + npm run build).
// Servers run in child processes, so the load generator (autocannon, in this process) and each
// server have their own event loop.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generatorNoise } from '../common/rng.js';

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
  body?: string | Buffer;
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  existsSync(new URL('../package.json', import.meta.url)) ? '..' : '../..',
);

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'models' },
    model: { type: 'string', default: 'gan' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    workers: { type: 'string', default: '1,2' },
    out: { type: 'string', default: '/tmp/onnxgan-serve-bench.md' },
    'access-log': { type: 'boolean', default: false },
    baseline: { type: 'string' },
  },
});
const duration = Number(args.duration);
const rounds = Number(args.rounds);
const connections = Number(args.connections);
const workerCounts = args.workers!.split(',').map(Number);

/** Starts a child process and waits for the line that carries its URL. */
function startChild(label: string, cmd: string[], urlPattern: RegExp, cwd = ROOT): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, cmd, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
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

function startServe(workers: number, root = ROOT): Promise<{ child: ChildProcess; url: string }> {
  const cmd = [
    path.join(root, 'dist/cli.js'),
    'serve',
    '--models',
    path.resolve(ROOT, args.models!),
    '--port',
    '0',
    ...(workers > 1 ? ['--workers', String(workers)] : []),
  ];
  if (!args['access-log']) cmd.push('--no-access-log');
  // With workers, the primary's line (with "workers") comes once all of them serve.
  return startChild(
    'onnxgan serve',
    cmd,
    workers > 1 ? /"url":"(http:[^"]+)","workers":\d+,.*"msg":"listening"/ : /"url":"(http:[^"]+)".*"msg":"listening"/,
    root,
  );
}

function startHello(): Promise<{ child: ChildProcess; url: string }> {
  const src = `import express from 'express';
const app = express();
app.get('/hello', (_req, res) => { res.send('hello'); });
const s = app.listen(0, '127.0.0.1', () => console.log('url=http://127.0.0.1:' + s.address().port));`;
  return startChild('hello', ['--input-type=module', '-e', src], /url=(\S+)/);
}

/** The model's noise size, from the server's own description. */
async function noiseDim(base: string): Promise<number> {
  const m = await (await fetch(`${base}/v1/models/${args.model}`)).json();
  if (m.conditional) throw new Error(`--model ${args.model} is conditional; use an unconditional model (the requests carry no label)`);
  return m.noise_dim;
}

interface Request {
  path: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
}

function requests(dim: number): Record<string, Request> {
  const noise = Array.from(generatorNoise(1, 1, dim));
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'noise', shape: [1, dim], datatype: 'FP32', parameters: { binary_data_size: dim * 4 } }],
      outputs: [{ name: 'image', parameters: { binary_data: true } }],
    }),
  );
  return {
    // No seed: the server draws one per request.
    'v1 PNG': {
      path: `/v1/models/${args.model}/generate`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'png' }),
    },
    'OIP JSON': {
      path: `/v2/models/${args.model}/infer`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'noise', shape: [1, dim], datatype: 'FP32', data: noise }] }),
    },
    'OIP binary': {
      path: `/v2/models/${args.model}/infer`,
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, Buffer.from(new Float32Array(noise).buffer)]),
    },
  };
}

interface Target {
  label: string;
  workers: number | null;
  base: string;
  req: Request;
  /** The server's process (the primary with --workers). */
  pid: number;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Server CPU time (all its processes) per answered request, in microseconds. */
  cpuUs: number;
}

const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
/** CPU seconds used so far by a process and its children (the workers). */
function cpuSeconds(pid: number): number {
  // ps exits 1 when the process has no children.
  const kids = spawnSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  return [String(pid), ...kids].reduce((sum, p) => {
    const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return sum + (Number(fields[11]) + Number(fields[12])) / TICK; // utime, stime
  }, 0);
}

async function load(t: Target, seconds: number): Promise<Sample> {
  const cpu0 = cpuSeconds(t.pid);
  const r = await autocannon({
    url: `${t.base}${t.req.path}`,
    connections,
    duration: seconds,
    method: t.req.method,
    headers: t.req.headers,
    body: t.req.body,
  });
  const cpu = cpuSeconds(t.pid) - cpu0;
  return {
    rps: r.requests.total / seconds,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
    cpuUs: (cpu / Math.max(1, r.requests.total)) * 1e6,
  };
}

/** Requests and onnxruntime runs so far, summed over the server's models (and workers). */
async function batchCounters(base: string): Promise<{ requests: number; runs: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const sum = (re: RegExp): number => [...text.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
  return { requests: sum(/^onnxgan_batch_requests_sum\{[^}]*\} (\S+)$/gm), runs: sum(/^onnxgan_batch_requests_count\{[^}]*\} (\S+)$/gm) };
}

const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGTERM'))); // also when the benchmark fails
const started = async (s: Promise<{ child: ChildProcess; url: string }>): Promise<{ base: string; pid: number }> => {
  const { child, url } = await s;
  children.push(child);
  return { base: url, pid: child.pid! };
};
const load0 = os.loadavg();
const targets: Target[] = [
  { label: 'express hello', workers: null, req: { path: '/hello', method: 'GET' }, ...(await started(startHello())) },
];
if (args.baseline) {
  const server = await started(startServe(1, path.resolve(args.baseline)));
  targets.push({
    label: `v1 PNG, baseline (${path.basename(args.baseline)})`,
    workers: 1,
    req: requests(await noiseDim(server.base))['v1 PNG']!,
    ...server,
  });
}
for (const w of workerCounts) {
  const server = await started(startServe(w));
  for (const [label, req] of Object.entries(requests(await noiseDim(server.base)))) targets.push({ label, workers: w, req, ...server });
}
// Warm-up, not measured: JIT, connection handling, onnxruntime's arenas.
for (const t of targets) await load(t, 2);

const samples = new Map<Target, Sample[]>(targets.map((t) => [t, []]));
const ratios = new Map<Target, number[]>(targets.map((t) => [t, []]));
const cpuRatios = new Map<Target, number[]>(targets.map((t) => [t, []]));
const perRun = new Map<Target, { requests: number; runs: number }>(targets.map((t) => [t, { requests: 0, runs: 0 }]));
for (let round = 0; round < rounds; round++) {
  for (const t of targets.slice(1)) {
    // Hello right before each target: the pair sees the same load from the rest of the machine.
    const helloSample = await load(targets[0]!, duration);
    samples.get(targets[0]!)!.push(helloSample);
    const before = await batchCounters(t.base);
    const s = await load(t, duration);
    const after = await batchCounters(t.base);
    const acc = perRun.get(t)!;
    acc.requests += after.requests - before.requests;
    acc.runs += after.runs - before.runs;
    samples.get(t)!.push(s);
    ratios.get(t)!.push(s.rps / helloSample.rps);
    cpuRatios.get(t)!.push(helloSample.cpuUs / s.cpuUs);
    console.error(JSON.stringify({ round, target: t.label, workers: t.workers, ...s, ratio: (s.rps / helloSample.rps).toFixed(2) }));
  }
}
for (const c of children) c.kill('SIGTERM');
const load1 = os.loadavg();

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const fmt = (n: number, d = 0): string => n.toFixed(d);
const table = [
  '| target | workers | req/s | req/s vs hello | p50 ms | p99 ms | server CPU per request | CPU ' +
    'efficiency vs hello | errors | requests per onnxruntime run |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...targets.map((t) => {
    const s = samples.get(t)!;
    const pr = perRun.get(t)!;
    const ratio = (m: Map<Target, number[]>): string => (t.workers ? `${fmt(median(m.get(t)!), 2)}x` : '1x');
    return (
      `| ${t.label} | ${t.workers ?? '-'} | ${fmt(median(s.map((x) => x.rps)))} | ${ratio(ratios)} | ` +
      `${fmt(median(s.map((x) => x.p50)), 1)} | ${fmt(median(s.map((x) => x.p99)), 1)} | ` +
      `${fmt(median(s.map((x) => x.cpuUs)))} us | ${ratio(cpuRatios)} | ` +
      `${s.reduce((a, x) => a + x.errors, 0)} | ${pr.runs ? fmt(pr.requests / pr.runs, 1) : '-'} |`
    );
  }),
].join('\n');
const cmd =
  `npm run build && node dist/bench/serve.js --models ${args.models} --model ${args.model} --duration ` +
  `${duration} --rounds ${rounds} --connections ${connections} --workers ${args.workers}` +
  `${args.baseline ? ` --baseline ${args.baseline}` : ''}${args['access-log'] ? ' --access-log' : ''}`;
const cpu = os.cpus()[0]?.model ?? 'cpu';
const md =
  `Single-image requests to \`${args.model}\` at ${connections} connections: \`POST /v1/models/${args.model}/generate\` with ` +
  `\`{"format":"png"}\`
(a fresh random seed per request), and \`POST /v2/models/${args.model}/infer\` with one noise row as JSON numbers or as ` +
  `binary
tensor data (the image back as JSON or binary). ${rounds} rounds of ${duration} s per target after a 2 s warm-up; medians ` +
  `over
the rounds; "vs hello" is the ratio to a bare Express 5 \`GET /hello\` measured for ${duration} s right before the target, ` +
  `in each round. "Server CPU per
request" is the CPU time of the server's processes (primary and workers) divided by the requests answered, and "CPU
efficiency vs hello" is hello's CPU per request over the target's: it does not depend on how busy the rest of the machine
is. autocannon runs in the benchmark process, each server in its own (access log ${args['access-log'] ? 'on' : 'off'}).

Machine: ${os.cpus().length} x ${cpu}, Node ${process.version}, ${os.platform()} ${os.release()}; load average
${load0.map((l) => l.toFixed(1)).join(' / ')} at the start and ${load1.map((l) => l.toFixed(1)).join(' / ')} at the end (` +
  `${readFileSync('/proc/loadavg', 'utf8').split(' ')[3]} tasks).

${table}

Command:

\`\`\`sh
${cmd}
\`\`\`
`;
writeFileSync(path.resolve(ROOT, args.out!), md);
console.log(md);
