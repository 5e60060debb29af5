// One markdown table row from an `onnxgan eval --json` file: the given leading cells, then
// FID-judge (± its bootstrap spread) | IS | coverage | entropy | class accuracy. Shared by the bench scripts.
// Usage: node bench/eval-row.mjs EVAL.json CELL...
import { readFileSync } from 'node:fs';

const [file, ...cells] = process.argv.slice(2);
const g = JSON.parse(readFileSync(file, 'utf8')).generator;
const f = (x) => (x === null ? '-' : x.toFixed(3));
const metrics = [
  g.sd ? `${g.fid.toFixed(2)} ± ${g.sd.fid.toFixed(2)}` : g.fid.toFixed(1),
  g.inceptionScore.toFixed(2),
  `${g.coverage}/${g.classes}`,
  f(g.entropy),
  f(g.accuracy),
];
console.log(`| ${[...cells, ...metrics].join(' | ')} |`);
