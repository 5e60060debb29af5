// The human-readable eval report (eval command, model cards).
import path from 'node:path';
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
