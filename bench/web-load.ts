// Page loads in Chromium (not a test): bytes on the wire and the time to the first images after
// navigation, cold (empty cache, a new browser context per run) and warm (a reload), for
//   - embed: a page on another origin with the docs' two-line snippet (one model), and
//   - demo: the server's own demo page (cross-origin isolated: onnxruntime-web with threads),
// each also with `Accept-Encoding: identity` (the peer: what compression saves), and the in-page time
// of one 64-image run (median of --repeat runs after the page is ready) against onnxruntime-node's
// (one thread, in this process: the peer that shows how busy the machine is).
//   npm run build && node dist/bench/web-load.js [--models models] [--model cgan] [--runs 5] [--repeat 50] [--cpu-slowdown 1]
// Bytes: the sum of CDP's encodedDataLength (headers + body as received) over every request of the page.
// Where the time goes: the element's User Timing measures (web-demo/src/timing.ts) and resource timing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from '@playwright/test';
import * as ort from 'onnxruntime-node';
import { openSession } from '../backend/ort-session.js';
import { GeneratorRunner } from '../common/generator-runner.js';
import { readModelInfo } from '../export/onnx-read.js';

const ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  existsSync(new URL('../package.json', import.meta.url)) ? '..' : '../..',
);
const CLI = path.join(ROOT, 'dist/cli.js');
// The same browser flags as playwright.config.ts.
const BROWSER_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'models' },
    model: { type: 'string', default: 'cgan' },
    runs: { type: 'string', default: '5' },
    repeat: { type: 'string', default: '50' },
    'cpu-slowdown': { type: 'string', default: '1' },
  },
});
const runs = Number(args.runs);
const repeat = Number(args.repeat);
const slowdown = Number(args['cpu-slowdown']);

function startServe(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn('node', [CLI, 'serve', '--models', args.models!, '--port', '0', '--no-access-log'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"url":"(http:[^"]+)".*"msg":"listening"/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => reject(new Error(`onnxgan serve exited (${code}):\n${out}`)));
  });
}

/** A third-party site: one HTML page on its own origin. */
function startSite(html: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(html);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` })),
  );
}

interface Load {
  bytes: number;
  requests: number;
  firstImagesMs: number;
  /** When the last byte of the runtime's wasm and of the model had arrived (resource timing). */
  downloadsMs: number;
  /** Bytes per kind of file: runtime (ort), model, bundle (js), page. */
  parts: Record<string, number>;
  /** Milestones of the load, ms after navigation (see PHASES). */
  phases: Record<string, number>;
}

/** The load's milestones, in the order they happen. */
const PHASES = {
  html: 'HTML received',
  start: 'the element starts loading (its script ran)',
  wasmBytes: "the runtime's wasm: last byte",
  runtime: "runtime ready (the wasm's bytes read, its module imported)",
  model: 'model downloaded',
  sessionStart: 'session opening starts',
  sessionEnd: 'session open',
  runEnd: 'first run done',
  images: 'images drawn',
} as const;

/** Records when the first images are on screen: an element's `render` event, or the demo's data-state. */
const WATCH_FIRST_IMAGES = `
  const done = () => { window.__firstImages ??= performance.now(); };
  window.addEventListener('render', done, true);
  new MutationObserver(() => { if (document.body?.dataset.state === 'ready') done(); })
    .observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });`;

const kind = (url: string): string =>
  /\/ort\/|ort-wasm|ort\.wasm/.test(url) ? 'runtime' : /\.onnx(\?|$)/.test(url) ? 'model' : /\.m?js(\?|$)/.test(url) ? 'bundle' : 'page';

async function load(page: Page, url: string, reload = false): Promise<Load> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  if (slowdown > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate: slowdown });
  const urls = new Map<string, string>();
  const parts: Record<string, number> = {};
  let bytes = 0;
  let requests = 0;
  let lastActivity = Date.now();
  cdp.on('Network.requestWillBeSent', (e) => {
    if (/^(data|blob):/.test(e.request.url)) return;
    urls.set(e.requestId, e.request.url);
    lastActivity = Date.now();
  });
  cdp.on('Network.loadingFinished', (e) => {
    const k = kind(urls.get(e.requestId) ?? '');
    parts[k] = (parts[k] ?? 0) + e.encodedDataLength;
    bytes += e.encodedDataLength;
    requests++;
    urls.delete(e.requestId);
    lastActivity = Date.now();
  });
  cdp.on('Network.loadingFailed', (e) => urls.delete(e.requestId));
  if (reload) await page.reload();
  else await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { __firstImages?: number }).__firstImages !== undefined, null, {
    timeout: 60_000,
  });
  // Then everything the page still fetches for these images (nothing pending for 1 s, at most 20 s).
  const until = Date.now() + 20_000;
  while ((urls.size > 0 || Date.now() - lastActivity < 1000) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  if (urls.size > 0) console.error(`still pending after 20 s: ${[...urls.values()].join(' ')}`);
  const firstImagesMs = await page.evaluate(() => (window as unknown as { __firstImages: number }).__firstImages);
  const downloadsMs = await page.evaluate(() =>
    Math.max(
      0,
      ...performance
        .getEntriesByType('resource')
        .filter((e) => /\.(wasm|onnx)$/.test(e.name))
        .map((e) => (e as PerformanceResourceTiming).responseEnd),
    ),
  );
  const phases = await page.evaluate((): Record<keyof typeof PHASES, number> => {
    const measure = (name: string): PerformanceEntry | undefined => performance.getEntriesByName(`onnx-gan:${name}`, 'measure')[0];
    const end = (e: PerformanceEntry | undefined): number => (e ? e.startTime + e.duration : NaN);
    const wasm = performance.getEntriesByType('resource').find((e) => /\.wasm$/.test(e.name)) as PerformanceResourceTiming | undefined;
    return {
      html: (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).responseEnd,
      start: measure('runtime-wasm')?.startTime ?? NaN,
      wasmBytes: wasm?.responseEnd ?? NaN,
      runtime: end(measure('runtime-wasm')),
      model: end(measure('model')),
      sessionStart: measure('session')?.startTime ?? NaN,
      sessionEnd: end(measure('session')),
      runEnd: end(measure('run')),
      images: (window as unknown as { __firstImages: number }).__firstImages,
    };
  });
  await cdp.detach();
  return { bytes, requests, firstImagesMs, downloadsMs, parts, phases };
}

/** Median in-page time of one 64-image run (the page's own generator module and session). */
async function time64(page: Page, bundle: string, model: string): Promise<number> {
  return page.evaluate(
    async ({ bundle, model, repeat }) => {
      const { loadGenerator } = (await import(bundle)) as {
        loadGenerator: (
          src: string,
        ) => Promise<{ generate(o: { seed: number; count: number; label?: number | null }): Promise<{ ms: number }> }>;
      };
      const g = await loadGenerator(model);
      for (let i = 0; i < 5; i++) await g.generate({ seed: i, count: 64 }); // warm-up
      const ms: number[] = [];
      for (let i = 0; i < repeat; i++) ms.push((await g.generate({ seed: 100 + i, count: 64 })).ms);
      ms.sort((a, b) => a - b);
      return ms[Math.floor(ms.length / 2)]!;
    },
    { bundle, model, repeat },
  );
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median time of one 64-image run on onnxruntime-node (one thread), through the same runner. */
async function nodeTime64(file: string): Promise<number> {
  const bytes = readFileSync(file);
  const session = await openSession(bytes, 'serve');
  const runner = new GeneratorRunner(session, ort.Tensor, readModelInfo(file, bytes).metadata);
  const run = (seed: number): Promise<Float32Array> => runner.run(runner.noise(seed, 64), runner.labels(64));
  for (let i = 0; i < 5; i++) await run(i);
  const ms: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    await run(100 + i);
    ms.push(performance.now() - t);
  }
  await session.release();
  return median(ms);
}

interface Row {
  scenario: string;
  encoding: string;
  cold: Load[];
  warm: Load[];
  threads: number;
  ms64: number[];
}

async function scenario(browser: Browser, name: string, url: string, bundle: string, model: string, identity: boolean): Promise<Row> {
  const row: Row = { scenario: name, encoding: identity ? 'identity (peer)' : 'br/gzip', cold: [], warm: [], threads: 1, ms64: [] };
  for (let r = 0; r < runs; r++) {
    const context = await browser.newContext({ extraHTTPHeaders: identity ? { 'accept-encoding': 'identity' } : {} });
    await context.addInitScript({ content: WATCH_FIRST_IMAGES });
    const page = await context.newPage();
    row.cold.push(await load(page, url));
    row.warm.push(await load(page, url, true));
    row.threads = await page.evaluate(() => (crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency) : 1));
    if (!identity) row.ms64.push(await time64(page, bundle, model));
    await context.close();
    console.error(
      `${name} ${row.encoding} run ${r + 1}: ${JSON.stringify(row.cold.at(-1))} warm ` +
        `${row.warm.at(-1)!.bytes} B, 64 images ${row.ms64.at(-1)?.toFixed(2) ?? '-'} ms`,
    );
  }
  return row;
}

const { child, url: server } = await startServe();
for (;;) {
  const r = await fetch(`${server}/readyz`).catch(() => null);
  if (r?.ok) break;
  await new Promise((r) => setTimeout(r, 200));
}
const snippet = `<!doctype html><meta charset="utf-8"><title>third-party page</title>
<script type="module" src="${server}/dist/onnx-gan.js"></script>
<onnx-gan src="${server}/models/${args.model}.onnx" label="7" seed="42" count="8"></onnx-gan>`;
const site = await startSite(snippet);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: BROWSER_ARGS });
const load0 = os.loadavg();
const rows: Row[] = [];
try {
  for (const identity of [false, true]) {
    rows.push(
      await scenario(
        browser,
        'embed (other origin, 1 thread)',
        site.url,
        `${server}/dist/onnx-gan.js`,
        `${server}/models/${args.model}.onnx`,
        identity,
      ),
    );
    rows.push(
      await scenario(
        browser,
        'demo page (isolated, threads)',
        `${server}/?model=${args.model}&seed=42&count=16`,
        `${server}/dist/onnx-gan.js`,
        `/models/${args.model}.onnx`,
        identity,
      ),
    );
  }
} finally {
  await browser.close();
  site.server.close();
  child.kill('SIGTERM');
}
const nodeMs = await nodeTime64(path.resolve(ROOT, args.models!, `${args.model}.onnx`));
const load1 = os.loadavg();

const MB = (b: number): string => (b / 1e6).toFixed(2);
const lines = [
  '| page | encoding | cold: MB on the wire (runtime / model / js / page) | requests | first images ' +
    'after navigation, median (min-max) ms | of which downloads done at, ms | warm reload: kB, first ' +
    'images ms | threads | 64 images in the page, median ms |',
  '|---|---|---|---:|---|---:|---|---:|---:|',
];
for (const r of rows) {
  const c = r.cold.at(-1)!;
  const p = (k: string): string => MB(c.parts[k] ?? 0);
  const first = r.cold.map((l) => l.firstImagesMs);
  const warm = r.warm.map((l) => l.bytes);
  const identity = r.encoding.startsWith('identity'); // extraHTTPHeaders bypass the cache: no warm figure
  const ms64 = r.ms64.length ? `${median(r.ms64).toFixed(2)} (${(median(r.ms64) / nodeMs).toFixed(1)}x node)` : '-';
  lines.push(
    `| ${r.scenario} | ${r.encoding} | ${MB(median(r.cold.map((l) => l.bytes)))} (${p('runtime')} / ` +
      `${p('model')} / ${p('bundle')} / ${p('page')}) | ${c.requests} | ${median(first).toFixed(0)} (` +
      `${Math.min(...first).toFixed(0)}-${Math.max(...first).toFixed(0)}) | ` +
      `${median(r.cold.map((l) => l.downloadsMs)).toFixed(0)} | ` +
      `${identity ? '-' : `${(median(warm) / 1e3).toFixed(1)}, ${median(r.warm.map((l) => l.firstImagesMs)).toFixed(0)}`}` +
      ` | ${r.threads} | ${ms64} |`,
  );
}
const ratio = (a: Row, b: Row): string => (median(a.cold.map((l) => l.bytes)) / median(b.cold.map((l) => l.bytes))).toFixed(3);
const compressed = rows.filter((r) => !r.encoding.startsWith('identity'));
const byName = (name: string, encoding = 'br/gzip'): Row => rows.find((r) => r.scenario.startsWith(name) && r.encoding === encoding)!;
const phaseLines = [
  `| milestone, ms after navigation (median of the cold runs) | ${compressed.map((r) => r.scenario.replace(/ \(.*/, '')).join(' | ')} |`,
  `|---|${compressed.map(() => '---:').join('|')}|`,
  ...Object.entries(PHASES).map(
    ([key, label]) => `| ${label} | ${compressed.map((r) => median(r.cold.map((l) => l.phases[key]!)).toFixed(0)).join(' | ')} |`,
  ),
  `| images drawn - wasm's last byte | ` +
    `${compressed.map((r) => median(r.cold.map((l) => l.phases.images! - l.phases.wasmBytes!)).toFixed(0)).join(' | ')}` +
    ` |`,
];
console.log(
  `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, Chromium ${browser.version()}, CPU ` +
    `slowdown ${slowdown}x;
load average ${load0.map((l) => l.toFixed(1)).join(' / ')} at the start, ${load1.map((l) => l.toFixed(1)).join(' / ')} at ` +
    `the end; ${runs} cold runs per row, ${repeat} 64-image runs per page.

${lines.join('\n')}

${phaseLines.join('\n')}

Compressed / identity bytes: embed ${ratio(byName('embed ('), byName('embed (', 'identity (peer)'))}, demo ` +
    `${ratio(byName('demo'), byName('demo', 'identity (peer)'))}. onnxruntime-node, one thread, 64 images: ${nodeMs.toFixed(2)} ` +
    `ms (median).

\`npm run build && node dist/bench/web-load.js --models ${args.models} --model ${args.model} --runs ${runs} --repeat ` +
    `${repeat}${slowdown > 1 ? ` --cpu-slowdown ${slowdown}` : ''}\``,
);
