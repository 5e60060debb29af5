// Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs"): the unbiased estimate of
// the squared maximum mean discrepancy between the judge features of two sets, with the cubic
// polynomial kernel k(x, y) = (x.y / d + 1)^3. Unlike FID it has no bias at small n: sets from the
// same distribution score 0 on average at any size (so it can come out slightly negative).
import type { CrossGeometry, SetGeometry } from './feature-pairs.js';

export interface Kid {
  kid: number;
  /**
   * Standard error from the scored set's sampling (jackknife over its images, the reference held
   * fixed: the noise between two models scored against the same reference).
   */
  se: number;
}

const sum = (a: Float64Array): number => a.reduce((s, v) => s + v, 0);

/**
 * KID of fake images X (n) against real images Y (m) from the kernel sums of feature-pairs.ts:
 * sum_{i != l} k(x_i, x_l) / (n (n - 1)) + sum_{j != l} k(y_j, y_l) / (m (m - 1)) - 2 sum_{i, j} k(x_i, y_j) / (n m).
 */
export function kernelInceptionDistance(gx: SetGeometry, gy: SetGeometry, cross: CrossGeometry): Kid {
  const n = gx.n;
  const m = gy.n;
  if (n < 3 || m < 2) throw new Error(`KID needs at least 3 scored and 2 reference images (got ${n} and ${m})`);
  const sxx = sum(gx.kernelRowSums);
  const yy = sum(gy.kernelRowSums) / (m * (m - 1));
  const sxy = sum(cross.kernelRowSums);
  const kid = sxx / (n * (n - 1)) + yy - (2 * sxy) / (n * m);
  // Leave-one-out estimates: dropping x_i removes its row and column of the XX sum and its row of XY.
  const loo = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    loo[i] = (sxx - 2 * gx.kernelRowSums[i]!) / ((n - 1) * (n - 2)) + yy - (2 * (sxy - cross.kernelRowSums[i]!)) / ((n - 1) * m);
  }
  const mean = sum(loo) / n;
  let ss = 0;
  for (const v of loo) ss += (v - mean) ** 2;
  return { kid, se: Math.sqrt(((n - 1) / n) * ss) };
}
