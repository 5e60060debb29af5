// How long `onnxgan eval MODEL --n 5000` takes with every metric and spread (the budget: 30 s),
// stage by stage, next to a peer measured in the same run: the work of the previous eval (the select
// judge in tfjs scoring the same 11,000 images: held-out, samples, ceiling; FID only, no spread).
// Usage: node bench/eval.mjs [MODEL.onnx] [--n 5000] [--judge report]   (after `npm run build`)
import os from 'node:os';
import { parseArgs } from 'node:util';
import { evaluate } from '../dist/eval/evaluate.js';
import { selectBackend } from '../dist/backend/select.js';
import { judgePath, retrainCommand } from '../dist/eval/judge.js';
import { readJudgeModel } from '../dist/eval/judge-file.js';
import { tfjsForward } from '../dist/eval/judge-net.js';
import { generateOnnxSamples } from '../dist/eval/samples.js';
import { frechetDistance, gaussianStats } from '../dist/eval/metrics.js';
import { loadData } from '../dist/data/sources.js';
import { balancedSubset } from '../dist/data/dataset.js';
import { IMAGE_PIXELS as P } from '../dist/common/metadata.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { n: { type: 'string', default: '5000' }, judge: { type: 'string', default: 'report' } },
});
const model = positionals[0] ?? 'models/cgan.onnx';
const n = Number(values.n);

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const stages = [];
const progress = {
  stage(label) {
    const t0 = performance.now();
    const c0 = cpu();
    return { update() {}, done: () => stages.push({ label, wall: (performance.now() - t0) / 1000, cpu: cpu() - c0 }) };
  },
};

const load0 = os.loadavg()[0];
let t0 = performance.now();
let c0 = cpu();
const report = await evaluate({ input: model, n, judge: values.judge, progress });
const evalWall = (performance.now() - t0) / 1000;
const evalCpu = cpu() - c0;

// Peer: the previous eval's judge scoring (tfjs select judge) of the same images.
const backend = await selectBackend('auto');
const { train, heldOut } = loadData('mnist');
const samples = await generateOnnxSamples(model, { n, seed: 0 });
const real = balancedSubset(train, n, 0);
const judge = readJudgeModel(judgePath('select', 'mnist'), retrainCommand('select', 'mnist'));
const features = (images, count) => tfjsForward(judge, images, count).features;
t0 = performance.now();
c0 = cpu();
const stats = (f, count) => gaussianStats(f, count, f.length / count);
const ref = stats(features(heldOut.images, heldOut.count), heldOut.count);
frechetDistance(stats(features(samples.images, n), n), ref);
frechetDistance(stats(features(real.images.subarray(0, real.count * P), real.count), real.count), ref);
const peerWall = (performance.now() - t0) / 1000;
const peerCpu = cpu() - c0;

const f = (v) => v.toFixed(1);
console.log(
  `model ${model}, n ${n}, ${report.judge.role} judge, ${report.generator.sd.replicates} bootstrap ` +
    `resamples; load average ${load0.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end, ` +
    `${os.cpus().length} cores`,
);
console.log('');
console.log('| stage | wall s | CPU s |');
console.log('|---|---|---|');
for (const s of stages) console.log(`| ${s.label} | ${f(s.wall)} | ${f(s.cpu)} |`);
console.log(`| **eval, all metrics and spreads** | **${f(evalWall)}** | **${f(evalCpu)}** |`);
console.log(
  `| peer: the previous eval's work, the select judge in tfjs (${backend.name}) on the same ` +
    `${heldOut.count + 2 * n} images, FID only | ${f(peerWall)} | ${f(peerCpu)} |`,
);
console.log('');
console.log(`eval / peer: ${(evalWall / peerWall).toFixed(2)}x wall, ${(evalCpu / peerCpu).toFixed(2)}x CPU`);
process.exit(0);
