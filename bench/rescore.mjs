// Re-score the shipped generators: rewrite each model card (`onnxgan card`: the report judge with
// every metric and its spread, the select judge's FID beside it) and print the table for
// models/README.md and bench/RESULTS.md.
// Usage: node bench/rescore.mjs [models/NAME.onnx ...] [--n 5000]   (after `npm run build`)
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeModelCard } from '../dist/eval/model-card.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { n: { type: 'string', default: '5000' } } });
const models = positionals.length ? positionals : ['cgan', 'wgan-gp', 'gan', 'fashion-cgan'].map((m) => `models/${m}.onnx`);
const n = Number(values.n);
const s = (v, sd, d) => (Number.isFinite(sd) ? `${v.toFixed(d)} ± ${sd.toFixed(d)}` : v.toFixed(d));
const row = (name, m, extra) =>
  `| ${name} | ${s(m.fid, m.sd.fid, 2)} | ${s(m.kid * 1000, m.sd.kid * 1000, 2)} | ` +
  `${s(m.precision, m.sd.precision, 3)} | ${s(m.recall, m.sd.recall, 3)} | ` +
  `${s(m.density, m.sd.density, 3)} | ${s(m.realCoverage, m.sd.realCoverage, 3)} | ` +
  `${s(m.inceptionScore, m.sd.inceptionScore, 2)} | ${m.coverage}/${m.classes} | ` +
  `${m.accuracy === null ? '-' : s(m.accuracy, m.sd.accuracy, 3)} | ${extra} |`;

const load0 = os.loadavg()[0];
const t0 = performance.now();
const rows = [];
const ceilings = new Map();
const judges = new Map();
let replicates = 0;
for (const model of models) {
  const { report: r, select } = await writeModelCard({ model, n });
  const name = path.basename(model, '.onnx');
  replicates = r.generator.sd.replicates;
  rows.push(
    row(
      `[${name}](models/${name}.md)`,
      r.generator,
      `${s(select.generator.fid, select.generator.sd.fid, 2)} (ceiling ${select.ceiling.fid.toFixed(2)})`,
    ),
  );
  if (!ceilings.has(r.data))
    ceilings.set(r.data, row(`ceiling, ${r.data} (real training images)`, r.ceiling, `${select.ceiling.fid.toFixed(2)}`));
  judges.set(
    r.data,
    `${r.judge.role} ${path.relative(process.cwd(), r.judge.file)} (held-out accuracy ` +
      `${r.judge.heldOutAccuracy.toFixed(4)} on ${r.judge.heldOutCount})`,
  );
  const byClass = r.generator.fidByClass;
  if (byClass) {
    const acc = r.generator.accuracyByClass;
    console.error(
      `${name} per class (${r.judge.role} judge): ` +
        `${r.judge.classes
          .map(
            (c, i) =>
              `${c}: FID ${s(byClass[i], r.generator.sd.fidByClass[i], 1)}, acc ` +
              `${s(acc[i] * 100, r.generator.sd.accuracyByClass[i] * 100, 1)}%`,
          )
          .join('; ')}`,
    );
  }
}
console.log(
  `n = ${n} per model, seed 0, ${replicates} bootstrap resamples; judges (eval's default for each data ` +
    `set): ${[...judges.values()].join(', ')}; ${((performance.now() - t0) / 1000).toFixed(0)} s, load ` +
    `average ${load0.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end`,
);
console.log('');
console.log(
  '| model | FID | KID x 1000 | precision | recall | density | coverage | Inception score | classes >= ' +
    '2% | requested-class accuracy | FID, select judge |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
for (const c of ceilings.values()) console.log(c);
process.exit(0);
