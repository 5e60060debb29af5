// Benchmark: median ms per generator step (batch 300) of gan and cgan on each tfjs backend present,
// side by side with the reference PyTorch programs, plus the peak RSS of a cgan training run.
// --arch dcgan: gan, wgan-gp and cgan's dcgan networks (batch 64, 28x28) beside the same networks in
// PyTorch (bench/dcgan_step.py), and the peak RSS of a dcgan cgan run.
//   npm run build && node dist/bench/train-step.js [--arch mlp|dcgan] [--rounds 3] [--steps 10] [--out FILE.md]
// (paste the table into bench/RESULTS.md)
// Each measurement runs in its own process; rounds alternate tfjs and PyTorch so both see the same
// machine load, and ratios are taken within a round.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const MODELS: Record<'mlp' | 'dcgan', string[]> = { mlp: ['gan', 'cgan'], dcgan: ['gan', 'wgan-gp', 'cgan'] };
/** The batch each architecture trains with by default (train/run-length.ts), so the figures are the ones a run sees. */
const BATCH = { mlp: 300, dcgan: 64 } as const;

async function worker(backend: string, model: string, steps: number, arch: 'mlp' | 'dcgan'): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  const { selectBackend } = await import('../backend/select.js');
  const { architecture } = await import('../train/models.js');
  const { referenceOptions } = await import('../train/options.js');
  const { GanTrainer } = await import('../train/trainer.js');
  const { loadEmbeddedMnist } = await import('../data/sources.js');
  const { Rng } = await import('../common/rng.js');
  // wasm-xnnpack: the wasm backend with its own matmuls (XNNPACK), for comparison with onnxruntime's;
  // wasm-threads2: onnxruntime's GEMM on two threads (train --threads 2, for an otherwise idle machine);
  // wasm-tfjs: tfjs's autodiff instead of the hand-written step (train/mlp-step.ts), matmuls still on onnxruntime.
  const info = await selectBackend((backend.startsWith('wasm') ? 'wasm' : backend) as 'wasm', {
    matmul: backend === 'wasm-xnnpack' ? 'xnnpack' : 'onnxruntime',
    threads: backend === 'wasm-threads2' ? 2 : 1,
  });
  const { train } = loadEmbeddedMnist();
  const engine = backend === 'wasm-tfjs' || backend === 'wasm-xnnpack' ? 'tfjs' : undefined;
  const kind = model as 'cgan';
  const options = { ...referenceOptions(kind), arch };
  const trainer = new GanTrainer(architecture(kind, 10, [1, 28, 28], arch), options, new Rng(1), engine);
  const b = BATCH[arch];
  const x = tf.tensor2d(train.images.subarray(0, b * 784), [b, 784]);
  const y = tf.tensor1d(train.labels.subarray(0, b), 'int32');
  trainer.step(x, y); // warm-up: optimiser slots, kernel setup
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    trainer.step(x, y);
    times.push(performance.now() - t0);
  }
  console.log(JSON.stringify({ backend: info.name, engine: trainer.engine, model, ms_median: median(times), steps }));
  process.exit(0);
}

const median = (a: number[]): number => {
  const s = [...a].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function runJsonLines(cmd: string, args: string[]): Record<string, unknown>[] {
  const out = execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

/** Peak RSS (VmHWM) of a cgan training run, polled from /proc. */
async function peakRss(arch: string): Promise<{ mib: number; args: string }> {
  const out = mkdtempSync(path.join(tmpdir(), 'bench-rss-'));
  const args = ['train', '--model', 'cgan', '--arch', arch, '--limit', '3000', '--epochs', '2', '--out', out];
  const child = spawn(process.execPath, [path.join(root, 'dist', 'cli.js'), ...args], { cwd: root, stdio: 'ignore' });
  let peak = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      /* exited */
    }
  }, 100);
  await new Promise((r) => child.on('close', r));
  clearInterval(poll);
  return { mib: peak / 1024, args: `onnxgan ${args.slice(0, -2).join(' ')}` };
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--worker <backend>')
    .option('--model <m>')
    .option('--arch <a>', "mlp (the chapter's networks, beside the reference programs) or dcgan (beside bench/dcgan_step.py)", 'mlp')
    .option('--rounds <n>', 'rounds', '3')
    .option('--steps <n>', 'measured steps per wasm run', '10')
    .option('--backends <list>', 'tfjs backends to try', 'tensorflow,wasm,wasm-tfjs,wasm-threads2,wasm-xnnpack,cpu')
    .option('--torch-threads <list>', "PyTorch's thread counts (ratios are against 1)", '1')
    .option('--out <file>', 'markdown output', '/tmp/onnxgan-train-step.md')
    .parse()
    .opts();
  const arch = o.arch as 'mlp' | 'dcgan';
  if (arch !== 'mlp' && arch !== 'dcgan') throw new Error(`--arch ${arch}: expected mlp or dcgan`);
  if (o.worker) return worker(o.worker, o.model, Number(o.steps), arch);
  const models = MODELS[arch];

  const python = '/usr/bin/python3';
  // Debian's torch takes the system BLAS: the reference BLAS (the default) is ~8x slower than OpenBLAS.
  const blas = (() => {
    try {
      return realpathSync('/etc/alternatives/libblas.so.3-x86_64-linux-gnu');
    } catch {
      return 'unknown BLAS';
    }
  })();
  if (!blas.includes('openblas')) console.error(`warning: PyTorch uses ${blas}, not OpenBLAS: apt-get install libopenblas0-pthread`);
  const hasTorch =
    existsSync(python) &&
    (() => {
      try {
        execFileSync(python, ['-c', 'import torch']);
        return true;
      } catch {
        return false;
      }
    })();
  const rows: Record<string, number[]> = {};
  const add = (k: string, v: number): void => void (rows[k] ??= []).push(v);
  const ratios: Record<string, number[]> = {};
  const backends = (o.backends as string).split(',');
  for (let round = 0; round < Number(o.rounds); round++) {
    const torch: Record<string, number> = {};
    // Ratios are against PyTorch at one thread; --torch-threads 1,2 adds its two-thread figures.
    for (const threads of hasTorch ? (o.torchThreads as string).split(',').map(Number) : []) {
      const peer = arch === 'mlp' ? 'bench/reference_step.py' : 'bench/dcgan_step.py';
      for (const r of runJsonLines(python, [
        peer,
        '--steps',
        String(o.steps),
        '--threads',
        String(threads),
        '--models',
        models.join(','),
      ])) {
        if (threads === 1) torch[r.model as string] = r.ms_median as number;
        const who = arch === 'mlp' ? 'reference PyTorch' : 'PyTorch, the same dcgan';
        add(`${who}, ${threads} thread${threads > 1 ? 's' : ''}: ${r.model}`, r.ms_median as number);
      }
    }
    for (const backend of backends) {
      if (backend === 'tensorflow' && !existsSync(path.join(root, 'node_modules', '@tensorflow', 'tfjs-node'))) continue;
      // The cpu backend needs ~24 s per cgan step: measure it with one step, in the first round only.
      if (backend === 'cpu' && round > 0) continue;
      const steps = backend === 'cpu' ? 1 : Number(o.steps);
      for (const model of models) {
        const [r] = runJsonLines(process.execPath, [
          fileURLToPath(import.meta.url),
          '--worker',
          backend,
          '--model',
          model,
          '--steps',
          String(steps),
          '--arch',
          arch,
        ]);
        const label = `onnxgan ${backend}, ${r!.engine === 'hand' ? 'hand-written step' : 'tfjs autodiff'}: ${model}`;
        add(label, r!.ms_median as number);
        if (torch[model]) (ratios[label] ??= []).push((r!.ms_median as number) / torch[model]!);
      }
    }
    console.error(`round ${round + 1} done`);
  }
  const rss = await peakRss(arch);
  const lines = [
    `Command: \`npm run build && node dist/bench/train-step.js --arch ${arch} --rounds ${o.rounds} --steps ${o.steps} ` +
      `--backends ${o.backends} --torch-threads ${o.torchThreads}\` (` +
      `${new Date().toISOString().slice(0, 10)}, 2-core CPU, no GPU; PyTorch ` +
      `${hasTorch ? `via /usr/bin/python3 with torch.set_num_threads and OPENBLAS_NUM_THREADS as named, ${blas}` : 'not available'}` +
      `)`,
    '',
    `| run | median ms per generator step (batch ${BATCH[arch]}), per round | vs PyTorch (same round) |`,
    '|---|---|---|',
    ...Object.entries(rows).map(
      ([k, v]) =>
        `| ${k} | ${v.map((x) => x.toFixed(0)).join(' / ')} | ` +
        `${ratios[k] ? ratios[k]!.map((x) => `${x.toFixed(2)}x`).join(' / ') + ` (median ${median(ratios[k]!).toFixed(2)}x)` : ''}` +
        ` |`,
    ),
    '',
    `Peak RSS of \`${rss.args}\`: ${rss.mib.toFixed(0)} MiB.`,
    '',
  ];
  writeFileSync(o.out, lines.join('\n'));
  console.log(lines.join('\n'));
}

await main();
