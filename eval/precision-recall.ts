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
 * The four metrics; `weights` (bootstrap counts per fake image, summing to n) resample the fake set
 * and `refWeights` (per real image, summing to m) the reference, the balls keeping the radii of the
 * original sets.
 */
export function precisionRecall(
  c: CrossGeometry,
  weights: Float64Array | null = null,
  refWeights: Float64Array | null = null,
): PrecisionRecall {
  const w = (i: number): number => (weights ? weights[i]! : 1);
  const v = (j: number): number => (refWeights ? refWeights[j]! : 1);
  let total = 0;
  let inside = 0;
  let balls = 0;
  for (let i = 0; i < c.n; i++) {
    const wi = w(i);
    if (wi === 0) continue;
    total += wi;
    if (!refWeights) {
      inside += wi * c.inRealManifold[i]!;
      balls += wi * c.realBallCount[i]!;
      continue;
    }
    // The drawn real balls holding fake i, from its list (scaled up when the list was capped).
    let in3 = 0;
    let listed = 0;
    const len = c.ballLen[i]!;
    for (let p = 0; p < len; p++) {
      const e = c.ballList[i * LIST_CAP + p]!;
      const vj = v(Math.abs(e) - 1);
      listed += vj;
      if (e < 0 && vj > 0) in3 = 1;
    }
    inside += wi * in3;
    balls += wi * (len ? (listed * c.realBallCount[i]!) / len : 0);
  }
  const anyDrawn = (list: Int32Array, len: Int32Array, j: number): boolean => {
    for (let p = 0; p < len[j]!; p++) if (w(list[j * LIST_CAP + p]!) > 0) return true;
    return false;
  };
  let covered = 0;
  let recalled = 0;
  let realTotal = 0;
  for (let j = 0; j < c.m; j++) {
    const vj = v(j);
    if (vj === 0) continue;
    realTotal += vj;
    if (anyDrawn(c.coverList, c.coverLen, j)) covered += vj;
    if (anyDrawn(c.recallList, c.recallLen, j)) recalled += vj;
  }
  return {
    precision: inside / total,
    recall: recalled / realTotal,
    density: balls / (K_DENSITY_COVERAGE * total),
    realCoverage: covered / realTotal,
  };
}
