// Micro-benchmark: backend/conv-kernels.ts (im2col/col2im on onnxruntime's GEMM, one thread) against
// PyTorch's conv2d / conv_transpose2d (one thread), layer by layer, for the dcgan architecture
// bench/dcgan_step.py documents (28x28 grey, generator channels 64,32,16, critic 32,64, batch 64).
//   npm run build && node dist/bench/conv-kernels.js [--batch 64] [--reps 20] [--rounds 2] [--wasm]
// --wasm instead: tfjs's conv2dTranspose (the Conv2DBackpropInput kernel) on the wasm backend with
// our kernel (backend/wasm-conv-kernels.ts) against tfjs-backend-wasm's own, for the generator's layers.
// Forward: the layer's output. Backward: the input and filter gradients (ours recompute the im2col
// matrix, as a training step that keeps none would). Rounds alternate ours and PyTorch's so both
// see the same machine load; the ratio is taken within a round.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { ortGemm } from '../backend/ort-matmul.js';
import { ConvKernels, convGeometry, convTransposeGeometry, type ConvGeometry } from '../backend/conv-kernels.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A layer as bench/dcgan_step.py --kernels reads it: input [n, c, h, w], o channels out, square k, s, p. */
interface Layer {
  name: string;
  n: number;
  h: number;
  w: number;
  c: number;
  o: number;
  k: number;
  s: number;
  p: number;
  transpose: boolean;
}

const layers = (n: number): Layer[] => [
  { name: 'G ConvT 7x7x64 -> 14x14x32', n, h: 7, w: 7, c: 64, o: 32, k: 4, s: 2, p: 1, transpose: true },
  { name: 'G ConvT 14x14x32 -> 28x28x16', n, h: 14, w: 14, c: 32, o: 16, k: 4, s: 2, p: 1, transpose: true },
  { name: 'G Conv 28x28x16 -> 28x28x1 (k3)', n, h: 28, w: 28, c: 16, o: 1, k: 3, s: 1, p: 1, transpose: false },
  { name: 'D Conv 28x28x1 -> 14x14x32', n, h: 28, w: 28, c: 1, o: 32, k: 4, s: 2, p: 1, transpose: false },
  { name: 'D Conv 14x14x32 -> 7x7x64', n, h: 14, w: 14, c: 32, o: 64, k: 4, s: 2, p: 1, transpose: false },
];

const median = (a: number[]): number => {
  const s = [...a].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
function medianMs(fn: () => void, reps: number): number {
  fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

const rand = (size: number): Float32Array => Float32Array.from({ length: size }, () => Math.random() * 2 - 1);

function ours(k: ConvKernels, l: Layer, reps: number): { ms_forward: number; ms_backward: number } {
  const pads = [l.p, l.p, l.p, l.p] as const;
  let g: ConvGeometry;
  let x: Float32Array;
  let y: Float32Array;
  if (l.transpose) {
    g = convTransposeGeometry({ n: l.n, h: l.h, w: l.w, inChannels: l.c, outChannels: l.o, kh: l.k, kw: l.k, sh: l.s, sw: l.s, pads });
    x = rand(l.n * l.h * l.w * l.c);
    y = new Float32Array(l.n * g.h * g.w * l.o);
  } else {
    g = convGeometry({ n: l.n, h: l.h, w: l.w, c: l.c, o: l.o, kh: l.k, kw: l.k, sh: l.s, sw: l.s, pads });
    x = rand(l.n * l.h * l.w * l.c);
    y = new Float32Array(g.rows * l.o);
  }
  const F = rand(g.k * g.o);
  const dy = rand(y.length);
  const dx = new Float32Array(x.length);
  const dF = new Float32Array(F.length);
  if (l.transpose) {
    return {
      ms_forward: medianMs(() => k.conv2dInputGrad(x, F, g, y), reps),
      ms_backward: medianMs(() => {
        const cols = k.im2col(dy, g);
        k.conv2dFilterGrad(dy, x, g, dF, null, cols);
        k.conv2d(dy, F, null, g, dx); // recomputes the same im2col; the filter gradient took it first
      }, reps),
    };
  }
  return {
    ms_forward: medianMs(() => k.conv2d(x, F, null, g, y), reps),
    ms_backward: medianMs(() => {
      k.conv2dInputGrad(dy, F, g, dx);
      k.conv2dFilterGrad(x, dy, g, dF, null);
    }, reps),
  };
}

function torch(ls: Layer[], reps: number): Map<string, { ms_forward: number; ms_backward: number }> {
  const out = execFileSync(
    '/usr/bin/python3',
    [path.join(root, 'bench', 'dcgan_step.py'), '--threads', '1', '--steps', String(reps), '--kernels', JSON.stringify(ls)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const rows = out
    .split('\n')
    .filter((s) => s.startsWith('{'))
    .map((s) => JSON.parse(s) as { name: string; ms_forward: number; ms_backward: number });
  return new Map(rows.map((r) => [r.name, r]));
}

async function wasmConvTranspose(ls: Layer[], reps: number, rounds: number): Promise<void> {
  const { requireCjs, tfjs: tf } = await import('../backend/tfjs.js');
  requireCjs('@tensorflow/tfjs-backend-wasm');
  const theirs = tf.getKernel('Conv2DBackpropInput', 'wasm')!;
  const { selectBackend } = await import('../backend/select.js');
  await selectBackend('wasm');
  const ours = tf.getKernel('Conv2DBackpropInput', 'wasm')!;
  const use = (k: typeof ours): void => {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel(k);
  };
  console.log(`| round | tf.conv2dTranspose on wasm (batch ${ls[0]!.n}) | ours ms | tfjs-backend-wasm ms | ratio |`);
  console.log('|---|---|---|---|---|');
  for (let r = 1; r <= rounds; r++) {
    for (const l of ls.filter((x) => x.transpose)) {
      const x = tf.randomNormal([l.n, l.h, l.w, l.c]) as import('@tensorflow/tfjs').Tensor4D;
      const F = tf.randomNormal([l.k, l.k, l.o, l.c]) as import('@tensorflow/tfjs').Tensor4D;
      const full = [l.n, l.s * (l.h - 1) + l.k, l.s * (l.w - 1) + l.k, l.o] as [number, number, number, number];
      const time = (k: typeof ours): number => {
        use(k);
        return medianMs(() => tf.tidy(() => void tf.conv2dTranspose(x, F, full, l.s, 'valid').dataSync()), reps);
      };
      const [m, t] = [time(ours), time(theirs)];
      console.log(`| ${r} | ${l.name} (uncropped) | ${m.toFixed(2)} | ${t.toFixed(2)} | ${(m / t).toFixed(2)}x |`);
      tf.dispose([x, F]);
    }
  }
  use(ours);
}

const opts = new Command()
  .option('--batch <n>', 'batch', '64')
  .option('--reps <n>', 'timed repetitions per kernel', '20')
  .option('--rounds <n>', 'rounds', '2')
  .option('--wasm', "the wasm kernel against tfjs-backend-wasm's")
  .parse()
  .opts();
if (opts.wasm) {
  await wasmConvTranspose(layers(Number(opts.batch)), Number(opts.reps), Number(opts.rounds));
  process.exit(0);
}
const opened = ortGemm(1);
if ('why' in opened) throw new Error(`onnxruntime's GEMM: ${opened.why}`);
const k = new ConvKernels(opened.gemm);
const ls = layers(Number(opts.batch));
const reps = Number(opts.reps);
console.log(`| round | layer (batch ${opts.batch}) | ours fwd ms | torch fwd ms | fwd ratio | ours bwd ms | torch bwd ms | bwd ratio |`);
console.log('|---|---|---|---|---|---|---|---|');
for (let r = 1; r <= Number(opts.rounds); r++) {
  const mine = ls.map((l) => ours(k, l, reps));
  const theirs = torch(ls, reps);
  ls.forEach((l, i) => {
    const m = mine[i]!;
    const t = theirs.get(l.name)!;
    const f = (v: number): string => v.toFixed(2);
    console.log(
      `| ${r} | ${l.name} | ${f(m.ms_forward)} | ${f(t.ms_forward)} | ${f(m.ms_forward / t.ms_forward)}x | ` +
        `${f(m.ms_backward)} | ${f(t.ms_backward)} | ${f(m.ms_backward / t.ms_backward)}x |`,
    );
  });
  const sum = (a: number[]): number => a.reduce((p, q) => p + q, 0);
  const mt = sum(mine.map((m) => m.ms_forward + m.ms_backward));
  const tt = sum(ls.map((l) => theirs.get(l.name)!.ms_forward + theirs.get(l.name)!.ms_backward));
  console.log(`| ${r} | all layers, fwd + bwd | ${mt.toFixed(2)} | ${tt.toFixed(2)} | ${(mt / tt).toFixed(2)}x | | | |`);
}
