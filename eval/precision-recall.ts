// Nearest-neighbour metrics in the judge's feature space, from the balls of feature-pairs.ts:
// - improved precision and recall (Kynkäänniemi et al. 2019, k = 3): the share of fake images inside
//   the real images' manifold (union of k-NN balls), and of real images inside the fake one;
// - density and coverage (Naeem et al. 2020, k = 5, real balls only): how many real balls hold a fake
//   image on average (divided by k; ~1 for matching distributions, can exceed 1), and the share of
//   real images whose ball holds at least one fake image.
// Precision and density fall when samples are unrealistic, recall and coverage when modes are missing.
import { K_DENSITY_COVERAGE, LIST_CAP, type CrossGeometry } from './feature-pairs.js';

export interface PrecisionRecall {
  precision: number;
  recall: number;
  density: number;
  /** Coverage of Naeem et al. (distinct from the class coverage, classes with >= 2% of the samples). */
  realCoverage: number;
}

/**
 * The four metrics; `weights` (bootstrap counts per fake image, summing to n) resample the fake set,
 * the balls keeping the radii of the original set.
 */
export function precisionRecall(c: CrossGeometry, weights: Float64Array | null = null): PrecisionRecall {
  const w = (i: number): number => (weights ? weights[i]! : 1);
  let total = 0;
  let inside = 0;
  let balls = 0;
  for (let i = 0; i < c.n; i++) {
    const wi = w(i);
    total += wi;
    inside += wi * c.inRealManifold[i]!;
    balls += wi * c.realBallCount[i]!;
  }
  const anyDrawn = (list: Int32Array, len: Int32Array, j: number): boolean => {
    for (let p = 0; p < len[j]!; p++) if (w(list[j * LIST_CAP + p]!) > 0) return true;
    return false;
  };
  let covered = 0;
  let recalled = 0;
  for (let j = 0; j < c.m; j++) {
    if (anyDrawn(c.coverList, c.coverLen, j)) covered++;
    if (anyDrawn(c.recallList, c.recallLen, j)) recalled++;
  }
  return { precision: inside / total, recall: recalled / c.m, density: balls / (K_DENSITY_COVERAGE * total), realCoverage: covered / c.m };
}
