// `onnxgan data`: what a --data source holds, as the trainer will see it, and a preview grid.
import path from 'node:path';
import { imageValues } from '../common/metadata.js';
import { gridPng } from '../common/png.js';
import type { DataSplits } from './dataset.js';

export interface DataSummary {
  source: string;
  name: string;
  shape: [number, number, number];
  layout: 'classes' | 'flat' | 'idx';
  classes: { name: string; train: number; heldOut: number }[];
  train: number;
  heldOut: number;
  /** Image folders only. */
  folder?: NonNullable<DataSplits['folder']>;
}

const count = (labels: Int32Array, k: number): number => labels.reduce((n, l) => n + (l === k ? 1 : 0), 0);

export function summarise(source: string, d: DataSplits): DataSummary {
  return {
    source,
    name: d.train.name,
    shape: d.train.shape,
    layout: d.folder?.layout ?? 'idx',
    classes: d.train.classes.map((name, k) => ({ name, train: count(d.train.labels, k), heldOut: count(d.heldOut.labels, k) })),
    train: d.train.count,
    heldOut: d.heldOut.count,
    ...(d.folder ? { folder: d.folder } : {}),
  };
}

const plural = (n: number, word: string): string =>
  `${n.toLocaleString('en-US')} ${n === 1 ? word : word.endsWith('s') ? `${word}es` : `${word}s`}`;
const tally = (t: Record<string, number>): string =>
  Object.entries(t)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n.toLocaleString('en-US')}`)
    .join(', ');

/** How many of the commonest source sizes the summary names. */
const TOP_SIZES = 4;

/** "WxH" -> files as the range (by pixel count) and the commonest few: a folder of photos has hundreds of sizes. */
export function sizeSummary(sizes: Record<string, number>): string {
  const entries = Object.entries(sizes);
  if (entries.length <= TOP_SIZES) return tally(sizes);
  const pixels = (k: string): number =>
    k
      .split('x')
      .map(Number)
      .reduce((a, b) => a * b, 1);
  const byArea = entries.map(([k]) => k).sort((a, b) => pixels(a) - pixels(b));
  const top = Object.fromEntries(entries.sort((a, b) => b[1] - a[1]).slice(0, TOP_SIZES));
  const rest = entries.slice(TOP_SIZES).reduce((n, [, c]) => n + c, 0);
  return (
    `${entries.length.toLocaleString('en-US')} sizes from ${byArea[0]} to ${byArea.at(-1)}; most common ` +
    `${tally(top)} (${rest.toLocaleString('en-US')} ${rest === 1 ? 'file' : 'files'} in other sizes)`
  );
}

/** The human-readable summary. */
export function formatSummary(s: DataSummary): string {
  const [c, h, w] = s.shape;
  const f = s.folder;
  const colour = c === 3 ? 'RGB' : 'grey';
  const how = f ? `, ${f.source.fit}${f.source.channels === 'auto' ? ', channels auto' : ''}` : '';
  const layout = s.layout === 'flat' ? 'a flat folder (no classes: gan and wgan-gp only)' : plural(s.classes.length, 'class');
  const out = [
    `${s.source}: ${layout}, ${plural(s.train + s.heldOut, 'image')} as ${c}x${h}x${w} (${colour}${how}` +
      `); ${s.train.toLocaleString('en-US')} to train, ${s.heldOut.toLocaleString('en-US')} held out for ` +
      `eval`,
    `data set: ${s.name}${f ? ` (${f.cache.hit ? 'from the cache' : 'decoded'} in ${f.seconds.toFixed(1)} s)` : ''}`,
    '',
  ];
  const rows = [
    ['class', 'images', 'train', 'held out'],
    ...s.classes.map((k) => [k.name, String(k.train + k.heldOut), String(k.train), String(k.heldOut)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  for (const r of rows)
    out.push(r.map((cell, i) => (i === 0 ? cell + ' '.repeat(widths[i]! - [...cell].length) : cell.padStart(widths[i]!))).join('  '));
  if (f) {
    out.push('', `source sizes: ${sizeSummary(f.sizes)}`, `pixel formats: ${tally(f.kinds)}`);
    if (f.skipped.length) {
      out.push(`skipped ${f.skipped.length.toLocaleString('en-US')} (--strict makes this an error):`);
      for (const k of f.skipped.slice(0, 20)) out.push(`  ${path.relative(f.source.path, k.file) || '.'}: ${k.reason}`);
      if (f.skipped.length > 20) out.push(`  ... and ${f.skipped.length - 20} more`);
    } else out.push('skipped: none');
    if (f.ignored.count)
      out.push(`ignored ${plural(f.ignored.count, 'file')} not named .png, .jpg, .jpeg or .webp, e.g. ${f.ignored.examples.join(', ')}`);
  }
  return out.join('\n');
}

/**
 * A grid of training images as the trainer sees them: one row per class (up to `cols` images each,
 * black where a class has fewer), or the first rows x cols images of a flat folder.
 */
export function previewPng(d: DataSplits, cols = 10): Buffer {
  const ds = d.train;
  const v = imageValues(ds.shape);
  const rows = ds.classes.length > 1 ? ds.classes.length : Math.min(10, Math.ceil(ds.count / cols));
  const images = new Float32Array(rows * cols * v).fill(-1);
  if (ds.classes.length > 1) {
    const filled = new Array<number>(rows).fill(0);
    for (let i = 0; i < ds.count; i++) {
      const k = ds.labels[i]!;
      if (filled[k]! < cols) images.set(ds.images.subarray(i * v, (i + 1) * v), (k * cols + filled[k]!++) * v);
    }
  } else {
    images.set(ds.images.subarray(0, Math.min(ds.count, rows * cols) * v));
  }
  const scale = Math.max(1, Math.floor(56 / Math.max(ds.shape[1], ds.shape[2])));
  return gridPng(images, rows * cols, cols, 2, scale, ds.shape);
}
