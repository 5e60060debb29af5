// The human-readable eval report (eval command, model cards): every number with its spread and the
// judge that produced it.
import { displayPath } from '../common/display-path.js';
import type { EvalReport } from './evaluate.js';
import type { Metrics } from './score.js';

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

/** "value ± sd" with `digits` decimals (the spread omitted when there is none; "n/a" for no value). */
export function withSpread(v: number | null, sd: number | null | undefined, digits: number): string {
  if (v === null) return 'n/a';
  return sd === null || sd === undefined || !Number.isFinite(sd) ? v.toFixed(digits) : `${v.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}

const perClassLine = (values: (number | null)[], sds: (number | null)[] | null, classes: string[], f: (v: number) => string): string =>
  values
    .map(
      (v, i) =>
        `${classes[i]}:${v === null ? '-' : f(v)}` +
        `${v !== null && sds?.[i] != null && Number.isFinite(sds[i]) ? `±${f(sds[i]!).replace('%', '')}` : ''}`,
    )
    .join(' ');

/** Short names of the judge's roles, for column heads. */
export const judgeLabel = (role: string): string => `${role} judge`;

/** The human-readable report. */
export function formatReport(r: EvalReport): string {
  const g = r.generator;
  const c = r.ceiling;
  const k = g.classes;
  const rows: [string, (m: Metrics) => string][] = [
    ['images scored', (m) => String(m.n)],
    ['FID (lower is better)', (m) => withSpread(m.fid, m.sd.fid, 2)],
    ['KID x 1000 (lower is better)', (m) => withSpread(m.kid === null ? null : m.kid * 1000, m.sd.kid * 1000, 2)],
    ['precision (realism, k=3)', (m) => withSpread(m.precision, m.sd.precision, 3)],
    ['recall (diversity, k=3)', (m) => withSpread(m.recall, m.sd.recall, 3)],
    ['density (k=5; ~1 for real)', (m) => withSpread(m.density, m.sd.density, 3)],
    ['coverage of the reference (k=5)', (m) => withSpread(m.realCoverage, m.sd.realCoverage, 3)],
    [`Inception score (max ${k})`, (m) => withSpread(m.inceptionScore, m.sd.inceptionScore, 2)],
    ['classes with >= 2% of images', (m) => `${m.coverage}/${m.classes}`],
    ['class entropy (1 = uniform)', (m) => withSpread(m.entropy, m.sd.entropy, 3)],
    ['requested-class accuracy', (m) => (m.accuracy === null ? '-' : withSpread(m.accuracy, m.sd.accuracy, 3))],
  ];
  const head = [`metric (${judgeLabel(r.judge.role)})`, 'scored', ...(c ? ['ceiling (real)'] : [])];
  const table = [head, ...rows.map(([name, f]) => [name, f(g), ...(c ? [f(c)] : [])])];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ');
  const classes =
    r.judge.classes.length <= 10 && r.judge.classes.every((s) => s.length <= 2)
      ? r.judge.classes
      : r.judge.classes.map((_, i) => String(i));
  const j = r.judge;
  const spread = g.sd.replicates
    ? `± one standard deviation over ${g.sd.replicates} bootstrap resamples of both the scored images and ` +
      `the reference images, so a small reference shows as a wide spread (its share cancels when two ` +
      `models are compared against the same reference; KID: the jackknife over both sets)`
    : 'none (--bootstrap 0)';
  const out = [
    `input:     ${r.input} (${r.source}${r.kind === null ? '' : `, seed ${r.seed}`})`,
    `judge:     ${j.role} judge ${displayPath(j.file)} (${j.data}, seed ${j.seed}, held-out accuracy ` +
      `${j.heldOutAccuracy.toFixed(4)} on ${j.heldOutCount} images; trained ${j.training})`,
    `reference: ${r.reference.source} (${r.reference.count} images)`,
    c ? `ceiling:   ${c.n} real training images scored the same way against the reference` : '',
    `spread:    ${spread}`,
    '',
    line(table[0]!),
    ...table.slice(1).map(line),
    '',
    `predicted classes, scored:  ${perClassLine(g.histogram, null, classes, pct)}`,
    ...(c ? [`predicted classes, ceiling: ${perClassLine(c.histogram, null, classes, pct)}`] : []),
    ...(g.accuracyByClass ? [`accuracy by requested class: ${perClassLine(g.accuracyByClass, g.sd.accuracyByClass, classes, pct)}`] : []),
    ...(g.fidByClass ? [`FID by requested class:      ${perClassLine(g.fidByClass, g.sd.fidByClass, classes, (v) => v.toFixed(1))}`] : []),
    ...(c?.fidByClass ? [`FID by class, ceiling:       ${perClassLine(c.fidByClass, c.sd.fidByClass, classes, (v) => v.toFixed(1))}`] : []),
  ];
  const reasons = new Map<string, string>();
  for (const [m, what] of [
    [g, 'scored'],
    [c, 'ceiling'],
  ] as const) {
    for (const why of Object.values(m?.unavailable ?? {})) reasons.set(why, reasons.has(why) ? 'scored and ceiling' : what);
  }
  for (const [why, where] of reasons) out.push(`n/a (${where}): ${why}`);
  for (const note of r.notes) out.push(`note: ${note}`);
  if (g.accuracy === null)
    out.push(
      '(requested-class accuracy and per-class FID: conditional generators, labelled data sets, or .npy samples with a .labels.npy file)',
    );
  return out.filter((l, i) => l !== '' || i > 4).join('\n');
}
