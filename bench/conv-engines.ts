// Which engine should step the conv networks: the hand-written passes (train/hand-forward.ts on
// backend/conv-kernels.ts, im2col/col2im around onnxruntime's GEMM) against tfjs's autodiff on the
// wasm backend (its convolutions, with backend/wasm-conv-kernels.ts), pass by pass, for the
// --arch dcgan networks of a 28x28 model at its default batch (64): the generator's forward and
// forward + backward, the critic's forward + backward, and the critic's gradient penalty (input
// gradient and its double backward). Rounds alternate the two engines so both see the same load.
//   npm run build && node dist/bench/conv-engines.js [--model cgan] [--batch 64] [--reps 5] [--rounds 3]
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { ortGemm } from '../backend/ort-matmul.js';
import { selectBackend } from '../backend/select.js';
import { Rng } from '../common/rng.js';
import type { ModelKind } from '../common/metadata.js';
import { wganPenalty } from '../train/algorithms.js';
import { penaltyLoss } from '../train/gradient-penalty.js';
import { handBackward, handForward, inputGradient, penaltyGrads } from '../train/hand-forward.js';
import { Sequential } from '../train/layers.js';
import { architecture } from '../train/models.js';

const o = new Command()
  .option('--model <kind>', 'gan, wgan-gp or cgan', 'cgan')
  .option('--batch <n>', 'batch', '64')
  .option('--reps <n>', 'timed repetitions per pass and round (median)', '5')
  .option('--rounds <n>', 'rounds', '3')
  .parse()
  .opts();
const kind = o.model as ModelKind;
const n = Number(o.batch);
await selectBackend('wasm');
const g = ortGemm();
if (!('gemm' in g)) throw new Error(g.why);
const gemm = g.gemm;
const arch = architecture(kind, 10, [1, 28, 28], 'dcgan');
const rng = new Rng(1);
const G = new Sequential('generator', arch.generator, rng);
const D = new Sequential('critic', arch.critic, rng);
const rand = (k: number): Float32Array => Float32Array.from({ length: k }, () => rng.uniform() * 2 - 1);
const z = rand(n * arch.noiseDim);
const real = rand(n * D.config.inputDim);
const fake = rand(n * D.config.inputDim);
const eps = rand(n).map(Math.abs);
const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
const rG = rand(n * G.outputDim);
const rD = rand(n * D.outputDim);
const penalty = wganPenalty(10);

const ctx = (): { training: true; updateStats: false; labels: tf.Tensor1D } => ({
  training: true,
  updateStats: false,
  labels: tf.tensor1d(labels, 'int32'),
});
const t2 = (v: Float32Array, cols: number): tf.Tensor2D => tf.tensor2d(v, [n, cols]);
/** tfjs: gradients of <r, net(x)> for net's weights, read back (as a step reads its losses). */
function tfjsBackward(net: Sequential, x: Float32Array, r: Float32Array): void {
  tf.tidy(() => {
    const c = ctx();
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(net.apply(t2(x, net.config.inputDim), c), t2(r, net.outputDim))) as tf.Scalar,
      net.trainable,
    );
    for (const v of Object.values(grads)) v.dataSync();
  });
}

const passes: Record<string, { tfjs: () => void; hand: () => void }> = {
  'generator forward': {
    tfjs: () => tf.tidy(() => void G.apply(t2(z, arch.noiseDim), ctx()).dataSync()),
    hand: () => void handForward(G, gemm, z, n, labels),
  },
  'generator forward + backward': {
    tfjs: () => tfjsBackward(G, z, rG),
    hand: () => void handBackward(G, gemm, z, handForward(G, gemm, z, n, labels), rG, n, labels),
  },
  'critic forward + backward': {
    tfjs: () => tfjsBackward(D, real, rD),
    hand: () => void handBackward(D, gemm, real, handForward(D, gemm, real, n, labels), rD, n, labels),
  },
  'critic gradient penalty (input gradient + double backward)': {
    tfjs: () =>
      tf.tidy(() => {
        const c = ctx();
        const d = D.config.inputDim;
        const { grads } = tf.variableGrads(
          () => penaltyLoss(penalty, (x) => D.apply(x, c), t2(real, d), t2(fake, d), tf.tensor2d(eps, [n, 1])),
          D.trainable,
        );
        for (const v of Object.values(grads)) v.dataSync();
      }),
    hand: () => {
      const d = D.config.inputDim;
      const x = real.map((r, j) => eps[Math.floor(j / d)]! * r + (1 - eps[Math.floor(j / d)]!) * fake[j]!);
      const outs = handForward(D, gemm, x, n, labels);
      const { gx, upstream } = inputGradient(D, gemm, x, outs, penalty.weights, n, labels);
      const sq = Float32Array.from({ length: n }, (_, i) => gx.subarray(i * d, (i + 1) * d).reduce((a, v) => a + v * v, 0));
      const dsq = penalty.value(sq).grad;
      penaltyGrads(
        D,
        gemm,
        x,
        outs,
        upstream,
        gx.map((v, j) => 2 * v * dsq[Math.floor(j / d)]!),
        n,
        labels,
      );
    },
  },
};

const median = (a: number[]): number => {
  const s = [...a].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
function time(f: () => void): number {
  f(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < Number(o.reps); i++) {
    const t0 = performance.now();
    f();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

const rows: Record<string, { tfjs: number[]; hand: number[] }> = {};
for (let round = 0; round < Number(o.rounds); round++) {
  for (const [name, p] of Object.entries(passes)) {
    const r = (rows[name] ??= { tfjs: [], hand: [] });
    r.tfjs.push(time(p.tfjs));
    r.hand.push(time(p.hand));
  }
  console.error(`round ${round + 1} done`);
}
console.log(
  `Command: \`node dist/bench/conv-engines.js --model ${kind} --batch ${n} --reps ${o.reps} --rounds ${o.rounds}\` ` +
    `(${new Date().toISOString().slice(0, 10)}; tfjs wasm, onnxruntime's GEMM on 1 thread)\n`,
);
console.log(
  '| pass (28x28 dcgan ' + kind + `, batch ${n}) | tfjs autodiff ms, per round | hand-written ms, per round | hand / tfjs (median) |`,
);
console.log('|---|---|---|---|');
for (const [name, r] of Object.entries(rows)) {
  const ratio = median(r.hand.map((h, i) => h / r.tfjs[i]!));
  console.log(
    `| ${name} | ${r.tfjs.map((v) => v.toFixed(0)).join(' / ')} | ${r.hand.map((v) => v.toFixed(0)).join(' / ')} | ${ratio.toFixed(2)}x |`,
  );
}
process.exit(0);
