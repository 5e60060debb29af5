// `onnxgan eval`: score a generator with the shipped judge classifier.
import { Option, type Command } from 'commander';
import path from 'node:path';
import { int } from '../common/cli-args.js';
import { BACKENDS, type BackendChoice } from '../backend/choices.js';
import type { EvalReport } from './evaluate.js';
import type { Metrics } from './metrics.js';


const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

const perClassLine = (values: (number | null)[], classes: string[]): string =>
  values.map((v, i) => `${classes[i]}:${v === null ? '-' : pct(v)}`).join(' ');

/** The human-readable report. */
export function formatReport(r: EvalReport): string {
  const g = r.generator;
  const c = r.ceiling;
  const k = g.classes;
  const rows: [string, (m: Metrics) => string][] = [
    ['samples', (m) => String(m.n)],
    ['FID-judge (lower is better)', (m) => m.fid.toFixed(3)],
    [`Inception score (max ${k})`, (m) => m.inceptionScore.toFixed(3)],
    ['class coverage (classes >= 2%)', (m) => `${m.coverage}/${m.classes}`],
    ['class entropy (1 = uniform)', (m) => m.entropy.toFixed(3)],
    ['requested-class accuracy', (m) => (m.accuracy === null ? '-' : m.accuracy.toFixed(3))],
  ];
  const head = ['metric', 'generator', ...(c ? ['ceiling (real)'] : [])];
  const table = [head, ...rows.map(([name, f]) => [name, f(g), ...(c ? [f(c)] : [])])];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ');
  const classes = r.judge.classes.length <= 10 && r.judge.classes.every((s) => s.length <= 2) ? r.judge.classes : r.judge.classes.map((_, i) => String(i));
  const out = [
    `input:  ${r.input} (${r.source}${r.kind === null ? '' : `, seed ${r.seed}`})`,
    `judge:  ${path.relative(process.cwd(), r.judge.file)} (${r.data}, held-out accuracy ${r.judge.heldOutAccuracy.toFixed(4)} on ${r.judge.heldOutCount} images)`,
    c ? `ceiling: ${c.n} real training images scored the same way against the held-out images` : '',
    '',
    line(table[0]!),
    ...table.slice(1).map(line),
    '',
    `predicted classes, generator: ${perClassLine(g.histogram, classes)}`,
    ...(c ? [`predicted classes, ceiling:   ${perClassLine(c.histogram, classes)}`] : []),
    ...(g.accuracyByClass ? [`accuracy by requested class:  ${perClassLine(g.accuracyByClass, classes)}`] : []),
  ];
  for (const note of r.notes) out.push(`note: ${note}`);
  if (g.accuracy === null) out.push('(requested-class accuracy: conditional generators, or .npy samples with a .labels.npy file, only)');
  return out.filter((l, i) => l !== '' || i > 2).join('\n');
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('score a generator (.onnx) or samples (.npy) with the judge classifier: FID-judge, Inception score, class coverage/entropy, requested-class accuracy, next to real images (the ceiling)')
    .argument('[input]', 'exported generator (.onnx) or samples (.npy: float32 in [-1,1] or uint8, [n,784] | [n,28,28] | [n,1,28,28]; optional <name>.labels.npy)')
    .option('--n <count>', 'samples to generate (or at most to read from .npy)', int(2), 5000)
    .option('--data <source>', 'data set of the judge and the real images: mnist, fashion or an IDX folder (default: the generator\'s, else mnist)')
    .option('--seed <n>', 'seed of the generator noise and of the ceiling\'s training images', int(0), 0)
    .option('--json', 'print the metrics as JSON only', false)
    .option('--retrain-judge', 'train the judge for --data again and write it (models/judge-<data>.json), then evaluate input if given', false)
    .option('--judge <file>', 'judge file (default: models/judge-<data>.json shipped with onnxgan)')
    .option('--judge-epochs <n>', 'epochs for --retrain-judge (default: 8 for mnist, fewer for larger data sets)', int(1))
    .option('--no-ceiling', 'skip scoring real training images')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto'))
    .action(async (input: string | undefined, o: { n: number; data?: string; seed: number; json: boolean; retrainJudge: boolean; judge?: string; judgeEpochs?: number; ceiling: boolean; backend: BackendChoice }) => {
      try {
        const { evaluate, retrainJudge } = await import('./evaluate.js');
        if (!input && !o.retrainJudge) throw new Error('give a generator (.onnx) or samples (.npy) to evaluate, or --retrain-judge');
        if (o.retrainJudge) {
          const data = o.data ?? 'mnist';
          const log = (l: string): void => console.error(l);
          const r = await retrainJudge({ data, file: o.judge, epochs: o.judgeEpochs, seed: o.seed, backend: o.backend, log });
          console.error(`wrote ${r.file}: held-out accuracy ${r.info.heldOutAccuracy.toFixed(4)} on ${r.info.heldOutCount} images`);
        }
        if (input) {
          const report = await evaluate({ input, n: o.n, data: o.data, seed: o.seed, judgeFile: o.judge, ceiling: o.ceiling, backend: o.backend });
          console.log(o.json ? JSON.stringify(report, null, 2) : formatReport(report));
        }
        process.exit(0); // wasm keeps handles open
      } catch (e) {
        console.error(`onnxgan eval: ${(e as Error).message}`);
        process.exit(1);
      }
    });
  program
    .command('card')
    .description('write a model card (MODEL.md + MODEL.png sample grid) next to an exported generator, with its eval table')
    .argument('<model>', 'exported generator (.onnx)')
    .option('--run <dir>', 'the run it was exported from (adds wall time, backend, loss curve)')
    .option('--n <count>', 'samples for the evaluation', int(2), 5000)
    .action(async (model: string, o: { run?: string; n: number }) => {
      try {
        const { writeModelCard } = await import('./model-card.js');
        const r = await writeModelCard({ model, run: o.run, n: o.n });
        console.log(`wrote ${r.card}`);
        process.exit(0);
      } catch (e) {
        console.error(`onnxgan card: ${(e as Error).message}`);
        process.exit(1);
      }
    });
}
