// Bootstrap resampling of a scored set: every number eval reports comes with the standard deviation
// of its value over resamples of the scored images (the reference images held fixed), so a user can
// tell a real difference between two models from the noise of drawing 5,000 samples.
import { Rng } from '../common/rng.js';

/**
 * Draw counts for one resample of n items: n draws with replacement, or, with `strata` (e.g. the
 * requested class of each sample of a conditional generator, which is fixed by design), as many draws
 * within each stratum as it has members.
 */
export function resampleCounts(rng: Rng, n: number, strata: Int32Array | null): Float64Array {
  const w = new Float64Array(n);
  if (!strata) {
    for (let i = 0; i < n; i++) w[rng.int(n)]! += 1;
    return w;
  }
  const members = new Map<number, number[]>();
  strata.forEach((s, i) => {
    let m = members.get(s);
    if (!m) members.set(s, (m = []));
    m.push(i);
  });
  for (const m of members.values()) for (let t = 0; t < m.length; t++) w[m[rng.int(m.length)]!]! += 1;
  return w;
}

/** Sample standard deviation (n - 1) of finite values; NaN with fewer than two. */
export function standardDeviation(values: number[]): number {
  const v = values.filter(Number.isFinite);
  if (v.length < 2) return NaN;
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  return Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1));
}
