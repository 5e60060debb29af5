// Model cards: models/NAME.md with the training facts, the eval table and a sample grid.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gridPng } from '../common/png.js';
import { packageInfo } from '../common/package-info.js';
import { readModelInfo } from '../export/onnx-read.js';
import { checkpointFileOf, readCheckpoint } from '../train/checkpoint.js';
import { optionFlags } from '../train/options.js';
import type { Checkpoint } from '../train/checkpoint.js';
import { evaluate, type EvalReport } from './evaluate.js';
import type { ProgressSink } from './progress.js';
import { formatReport, withSpread } from './report.js';
import { generateOnnxSamples } from './samples.js';

export interface CardOptions {
  model: string;
  /** The run the model was exported from: adds wall time, backend, seed, loss curve. */
  run?: string;
  n: number;
  extra?: string;
  progress?: ProgressSink;
}

/** Facts a card takes from its run; without --run they are kept from the card being replaced. */
const RUN_FACTS = ['training wall time', 'seed, batch', 'training options beyond the reference'];

function factsOfExistingCard(card: string): [string, string][] {
  if (!existsSync(card)) return [];
  const rows: [string, string][] = [];
  for (const line of readFileSync(card, 'utf8').split('\n')) {
    const m = /^\| (.+?) \| (.*) \|$/.exec(line);
    if (m && RUN_FACTS.includes(m[1]!)) rows.push([m[1]!, m[2]!]);
  }
  return rows;
}

export async function writeModelCard(o: CardOptions): Promise<{ card: string; report: EvalReport; select: EvalReport }> {
  const info = readModelInfo(o.model);
  const m = info.metadata;
  const base = o.model.replace(/\.onnx$/i, '');
  const name = path.basename(base);
  const samples = await generateOnnxSamples(o.model, { n: 100, seed: 0 });
  writeFileSync(`${base}.png`, gridPng(samples.images, 100, 10, 2, 2, m.imageShape));
  const report = await evaluate({ input: o.model, n: o.n, progress: o.progress });
  // The select judge's FID too: development decisions were made with it, so it flatters the models.
  const select = await evaluate({ input: o.model, n: o.n, judge: 'select', ceiling: true, progress: o.progress });
  const facts: [string, string][] = [
    ['kind', m.kind],
    ['data', `${m.dataset}${m.classes ? ` (classes: ${m.classes.join(', ')})` : ''}`],
    ['epochs / generator steps', `${m.epochs} / ${m.steps}`],
    ['weights', m.ema !== undefined ? `exponential moving average (decay ${m.ema}), BatchNorm statistics recomputed for it` : 'last step'],
    ['file', `${path.basename(o.model)}, ${(info.bytes / 1024).toFixed(0)} KiB, ONNX IR ${info.irVersion} opset ${info.opset}`],
  ];
  if (o.run) {
    const ckpt = readCheckpoint(checkpointFileOf(o.run));
    facts.push([
      'training wall time',
      `${(ckpt.position.wallTimeMs / 60000).toFixed(0)} min on the tfjs ${ckpt.backend} backend (2-core CPU, shared with other runs)`,
    ]);
    facts.push(['seed, batch', `${ckpt.seed}, ${ckpt.batch ?? 'not recorded'}`]);
    facts.push(['training options beyond the reference', trainingOptions(ckpt)]);
    const curve = path.join(o.run, 'loss.svg');
    if (existsSync(curve)) {
      copyFileSync(curve, `${base}-loss.svg`);
    }
  } else {
    facts.push(...factsOfExistingCard(`${base}.md`));
  }
  const judgeWhich =
    report.judge.role === 'report'
      ? 'the report judge, which no training decision was made with'
      : `the ${report.judge.role} judge: this data set has no report judge`;
  const card = [
    `# ${name}`,
    '',
    `An onnxgan ${m.kind} generator. Inputs \`noise\` float32 [N, ${m.noiseDim}] (U(-1, 1))` +
      `${m.classes ? ', `label` int64 [N]' : ''}; output \`image\` float32 [N, ${m.imageShape.join(', ')}] ` +
      `in [-1, 1].`,
    '',
    '| | |',
    '|---|---|',
    ...facts.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    `![samples](${name}.png)`,
    '',
    m.classes ? 'Samples with seed 0: column k asks for class k.' : 'Samples with seed 0.',
    '',
    '## Evaluation',
    '',
    `\`onnxgan eval ${o.model} --n ${o.n}\` (` +
      `${judgeWhich}` +
      `; definitions in [docs/metrics.md](` +
      `${path.relative(path.dirname(base), path.join(packageInfo().root, 'docs', 'metrics.md'))})):`,
    '',
    '```',
    formatReport(report),
    '```',
    '',
    ...(report.judge.role === 'report'
      ? [
          `With the select judge (\`--judge select\`), whose FID chose this model's training options and ` +
            `checkpoints and so flatters it: FID ${withSpread(select.generator.fid, select.generator.sd.fid, 2)} ` +
            `(ceiling ${withSpread(select.ceiling!.fid, select.ceiling!.sd.fid, 2)}).`,
          '',
        ]
      : []),
    ...(o.run && existsSync(`${base}-loss.svg`) ? ['## Training curves', '', `![losses](${name}-loss.svg)`, ''] : []),
    ...(o.extra ? [o.extra, ''] : []),
  ].join('\n');
  writeFileSync(`${base}.md`, card);
  return { card: `${base}.md`, report, select };
}

/** The run's opt-in levers (README: Train), and the step from which a resume changed them. */
function trainingOptions(ckpt: Checkpoint): string {
  const code = (flags: string[]): string => (flags.length ? flags.map((f) => `\`${f}\``).join(', ') : 'none');
  const changes = ckpt.optionChanges ?? [];
  const recipe = ckpt.recipe ? `recipe ${ckpt.recipe}; ` : '';
  if (!changes.length) {
    const flags = optionFlags(ckpt.architecture.kind, ckpt.options);
    return recipe + (flags.length ? code(flags) : 'none recorded in the checkpoint');
  }
  return recipe + changes.map((c) => `${c.step ? `from step ${c.step.toLocaleString('en-US')}` : 'at first'}: ${code(c.flags)}`).join('; ');
}
