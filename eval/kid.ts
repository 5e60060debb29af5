// Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs"): the unbiased estimate of
// the squared maximum mean discrepancy between the judge features of two sets, with the cubic
// polynomial kernel k(x, y) = (x.y / d + 1)^3. Unlike FID it has no bias at small n: sets from the
// same distribution score 0 on average at any size (so it can come out slightly negative).
import type { CrossGeometry, SetGeometry } from './feature-pairs.js';

export interface Kid {
  kid: number;
  /**
   * Standard error from both sets' sampling: the jackknife over the scored images plus the one over
   * the reference images, added as variances (the two sets are drawn independently).
   */
  se: number;
}

const sum = (a: Float64Array): number => a.reduce((s, v) => s + v, 0);

/** Jackknife standard error from leave-one-out estimates. */
function jackknife(loo: Float64Array): number {
  const n = loo.length;
  const mean = sum(loo) / n;
  let ss = 0;
  for (const v of loo) ss += (v - mean) ** 2;
  return Math.sqrt(((n - 1) / n) * ss);
}

/**
 * KID of fake images X (n) against real images Y (m) from the kernel sums of feature-pairs.ts:
 * sum_{i != l} k(x_i, x_l) / (n (n - 1)) + sum_{j != l} k(y_j, y_l) / (m (m - 1)) - 2 sum_{i, j} k(x_i, y_j) / (n m).
 * NaN below 3 images in either set (the jackknife drops one and needs two left).
 */
export function kernelInceptionDistance(gx: SetGeometry, gy: SetGeometry, cross: CrossGeometry): Kid {
  const n = gx.n;
  const m = gy.n;
  if (n < 3 || m < 3) return { kid: NaN, se: NaN };
  const sxx = sum(gx.kernelRowSums);
  const syy = sum(gy.kernelRowSums);
  const sxy = sum(cross.kernelRowSums);
  const xx = sxx / (n * (n - 1));
  const yy = syy / (m * (m - 1));
  const kid = xx + yy - (2 * sxy) / (n * m);
  // Leave-one-out estimates: dropping x_i removes its row and column of the XX sum and its row of XY;
  // dropping y_j its row and column of YY and its column of XY.
  const looX = Float64Array.from(
    { length: n },
    (_, i) => (sxx - 2 * gx.kernelRowSums[i]!) / ((n - 1) * (n - 2)) + yy - (2 * (sxy - cross.kernelRowSums[i]!)) / ((n - 1) * m),
  );
  const looY = Float64Array.from(
    { length: m },
    (_, j) => xx + (syy - 2 * gy.kernelRowSums[j]!) / ((m - 1) * (m - 2)) - (2 * (sxy - cross.kernelColSums[j]!)) / (n * (m - 1)),
  );
  return { kid, se: Math.hypot(jackknife(looX), jackknife(looY)) };
}
