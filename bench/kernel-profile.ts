// Where a tfjs-autodiff training step's time goes (the step the hand-written one replaced, and the
// one tfjs-node runs): wall ms per tfjs kernel over a few cgan/gan steps (wasm).
//   npm run build && node dist/bench/kernel-profile.js [--model cgan] [--steps 5]
// For the hand-written step, `node --cpu-prof dist/bench/train-step.js --worker wasm --model cgan`.
// Wraps every registered kernel of the active backend with a timer; "overhead" is step time not
// spent inside kernels (tape, tidy, JS glue).
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { selectBackend } from '../backend/select.js';
import { replaceKernel } from '../backend/wasm-kernels.js';
import { architecture } from '../train/models.js';
import { referenceOptions } from '../train/options.js';
import type { ModelKind } from '../common/metadata.js';
import { GanTrainer } from '../train/trainer.js';
import { loadEmbeddedMnist } from '../data/sources.js';
import { Rng } from '../common/rng.js';

const o = new Command()
  .option('--model <m>', 'model', 'cgan')
  .option('--steps <n>', 'steps', '5')
  .option('--backend <b>', 'backend', 'wasm')
  .parse()
  .opts();
const info = await selectBackend(o.backend);
const stats = new Map<string, { ms: number; calls: number }>();
for (const k of tf.getKernelsForBackend(info.name)) {
  replaceKernel(k.kernelName, info.name, (f) => (args) => {
    const t0 = performance.now();
    const out = f(args);
    const s = stats.get(k.kernelName) ?? { ms: 0, calls: 0 };
    s.ms += performance.now() - t0;
    s.calls++;
    stats.set(k.kernelName, s);
    return out;
  });
}
const { train } = loadEmbeddedMnist();
const trainer = new GanTrainer(architecture(o.model as ModelKind), referenceOptions(o.model as ModelKind), new Rng(1), 'tfjs');
const x = tf.tensor2d(train.images.subarray(0, 300 * 784), [300, 784]);
const y = tf.tensor1d(train.labels.subarray(0, 300), 'int32');
trainer.step(x, y);
stats.clear();
const steps = Number(o.steps);
const t0 = performance.now();
for (let i = 0; i < steps; i++) trainer.step(x, y);
const total = (performance.now() - t0) / steps;
const rows = [...stats]
  .map(([k, s]) => ({ kernel: k, msPerStep: s.ms / steps, callsPerStep: s.calls / steps }))
  .sort((a, b) => b.msPerStep - a.msPerStep);
const inKernels = rows.reduce((a, r) => a + r.msPerStep, 0);
console.log(
  `${o.model} on ${info.name}: ${total.toFixed(1)} ms/step, kernels ${inKernels.toFixed(1)} ms, ` +
    `overhead ${(total - inKernels).toFixed(1)} ms`,
);
for (const r of rows)
  console.log(`${r.kernel.padEnd(24)} ${r.msPerStep.toFixed(2).padStart(8)} ms ${String(r.callsPerStep).padStart(6)} calls`);
