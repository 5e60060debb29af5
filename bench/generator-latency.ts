// What a generator costs to ship and to run: its file size, and the median ms of one run of 64 images
// in onnxruntime-node (the server's session profile, one thread), for each .onnx given, alternating
// the files round by round so they see the same machine load.
//   npm run build && node dist/bench/generator-latency.js A.onnx B.onnx ... [--count 64] [--runs 30] [--rounds 3]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { openSession } from '../backend/ort-session.js';
import { GeneratorRunner } from '../common/generator-runner.js';
import { readModelInfo } from '../export/onnx-read.js';

const cmd = new Command()
  .argument('<files...>')
  .option('--count <n>', 'images per run', '64')
  .option('--runs <n>', 'timed runs per file and round (median)', '30')
  .option('--rounds <n>', 'rounds', '3')
  .parse();
const o = cmd.opts();
const count = Number(o.count);
const models = await Promise.all(
  cmd.args.map(async (file) => {
    const bytes = readFileSync(file);
    const runner = new GeneratorRunner(await openSession(bytes, 'serve'), ort.Tensor, readModelInfo(file, bytes).metadata);
    return { file, bytes: bytes.length, runner, ms: [] as number[] };
  }),
);
const median = (a: number[]): number => {
  const s = [...a].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
for (let round = 0; round < Number(o.rounds); round++) {
  for (const m of models) {
    const noise = m.runner.noise(round, count);
    const labels = m.runner.labels(count);
    await m.runner.run(noise, labels); // warm-up
    const times: number[] = [];
    for (let i = 0; i < Number(o.runs); i++) {
      const t0 = performance.now();
      await m.runner.run(noise, labels);
      times.push(performance.now() - t0);
    }
    m.ms.push(median(times));
  }
}
console.log(
  `Command: \`node dist/bench/generator-latency.js ${cmd.args.map((f) => path.basename(f)).join(' ')} ` +
    `--count ${count} --runs ${o.runs} --rounds ${o.rounds}\`\n`,
);
console.log(`| generator | file (fp32) | ms per run of ${count} images in onnxruntime-node, per round |`);
console.log('|---|---|---|');
for (const m of models)
  console.log(`| ${path.basename(m.file)} | ${(m.bytes / 1024 / 1024).toFixed(2)} MB | ${m.ms.map((v) => v.toFixed(1)).join(' / ')} |`);
process.exit(0);
