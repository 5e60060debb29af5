// How much of a generator's FID-judge is its class mix? Analysis, not a lever: it scores
//  1. real training digits drawn with the generator's class shares (the mix alone), against the same
//     number of real digits in equal shares, and
//  2. the generator's own samples resampled to equal shares of the judge's predicted classes.
// Usage: node bench/class-mix.mjs MODEL.onnx [--n 5000]   (after `npm run build`; mnist models)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { evaluate, ensureBackend } from '../dist/eval/evaluate.js';
import { loadJudge } from '../dist/eval/judges.js';
import { predictedClasses } from '../dist/eval/metrics.js';
import { encodeNpy, generateOnnxSamples } from '../dist/eval/samples.js';
import { loadData } from '../dist/data/sources.js';
import { IMAGE_PIXELS as P } from '../dist/common/metadata.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { n: { type: 'string', default: '5000' } } });
const [model] = positionals;
if (!model) throw new Error('usage: node bench/class-mix.mjs MODEL.onnx [--n 5000]');
const n = Number(values.n);
const K = 10;
const dir = mkdtempSync(path.join(tmpdir(), 'onnxgan-class-mix-'));
const fid = async (images, count) => {
  const file = path.join(dir, `s${Math.random().toString(36).slice(2)}.npy`);
  writeFileSync(file, encodeNpy(images.subarray(0, count * P), [count, P]));
  return (await evaluate({ input: file, n: count, ceiling: false })).generator;
};

try {
  const own = (await evaluate({ input: model, n, ceiling: false })).generator;
  const shares = own.histogram; // fractions of n

  // 1. Real digits with the generator's shares vs equal shares (first images of each class in order).
  const { train } = loadData('mnist');
  const realWith = (share) => {
    const out = new Float32Array(n * P);
    let row = 0;
    for (let c = 0; c < K; c++) {
      const want = Math.round(share[c] * n);
      for (let i = 0, got = 0; i < train.count && got < want && row < n; i++) {
        if (train.labels[i] !== c) continue;
        out.set(train.images.subarray(i * P, (i + 1) * P), row++ * P);
        got++;
      }
    }
    return fid(out, row);
  };
  const realMix = await realWith(shares);
  const realEqual = await realWith(new Array(K).fill(1 / K));

  // 2. Generator samples kept until each predicted class has n/K of them.
  const per = Math.floor(n / K);
  const s = await generateOnnxSamples(model, { n: 3 * n, seed: 1 });
  await ensureBackend('auto');
  const judge = await loadJudge('select', 'mnist');
  const { probs } = await judge.predict(s.images, s.count);
  await judge.release();
  const predicted = predictedClasses(probs, s.count, K);
  const kept = new Float32Array(per * K * P);
  const taken = new Array(K).fill(0);
  let row = 0;
  for (let i = 0; i < s.count; i++) {
    const c = predicted[i];
    if (taken[c] >= per) continue;
    taken[c]++;
    kept.set(s.images.subarray(i * P, (i + 1) * P), row++ * P);
  }
  const rebalanced = await fid(kept, row);

  const pct = shares.map((x, c) => `${c}:${(100 * x).toFixed(1)}%`).join(' ');
  console.log(`${model}: class shares ${pct}`);
  console.log('| samples | n | FID-judge | class entropy |');
  console.log('|---|---|---|---|');
  console.log(`| generator | ${own.n} | ${own.fid.toFixed(2)} | ${own.entropy.toFixed(3)} |`);
  console.log(
    `| generator, resampled to equal shares of the judge's classes | ${rebalanced.n} | ` +
      `${rebalanced.fid.toFixed(2)} | ${rebalanced.entropy.toFixed(3)} |`,
  );
  console.log(
    `| real training digits with the generator's class shares | ${realMix.n} | ${realMix.fid.toFixed(2)} | ${realMix.entropy.toFixed(3)} |`,
  );
  console.log(`| real training digits, equal shares | ${realEqual.n} | ${realEqual.fid.toFixed(2)} | ${realEqual.entropy.toFixed(3)} |`);
  if (taken.some((t) => t < per)) console.log(`(too few samples of some classes to rebalance fully: ${taken.join(', ')} of ${per})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
