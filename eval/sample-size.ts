// How many images each set-against-set metric needs before its value means something, and the
// reason a report prints instead of a number below that. Measured with the report judge on real
// mnist digits against real digits (both sets of n images, 5 random draws each):
//   n      FID (real vs real)   KID x 1000 (scatter)   precision  recall  coverage
//   6      46 - 68              -251 .. 252            0.83-1     0.83-1  1.00 always
//   20     12 - 36              -75 .. 315             0.70-1     0.95-1  0.95-1.00
//   50     4.7 - 10             -52 .. 53              0.82-0.98  0.90-1  0.92-1.00
//   100    4.2 - 6.6            3.5 .. 66              0.85-0.94  0.86-0.96  0.88-0.98
//   1000   0.4 - 0.5            0.2 .. 2.3             0.82-0.85  0.87-0.88  0.89-0.92
// Below 50 images the FID of real against real exceeds what a poor generator scores at 1,000; below
// 100 the unbiased KID of real against real scatters by more than a good generator's KID at 1,000
// (45); with fewer than ~50 reference images each nearest-neighbour ball spans so much of the space
// that coverage reads 1.000 whatever is scored (while a near-copy generator's tiny balls give recall
// 0.000 beside it).

/** The metrics that compare the scored set with the reference. */
export type SetMetric = 'fid' | 'kid' | 'neighbours';

/** Fewest images in each set (scored and reference) for a metric to be reported. */
export const MIN_IMAGES: Record<SetMetric, number> = { fid: 50, kid: 100, neighbours: 50 };

const NAME: Record<SetMetric, string> = { fid: 'FID', kid: 'KID', neighbours: 'precision, recall, density and coverage' };
const WHY: Record<SetMetric, string> = {
  fid: 'with fewer, its bias swamps any difference (real images against real ones score 5 to 70)',
  kid: 'with fewer, two draws of the same images differ by more than a good generator from real ones, and it can come out far below 0',
  neighbours: 'with fewer, each nearest-neighbour ball spans most of the space, so coverage reads 1 whatever is scored',
};

/** Why `metric` cannot be reported for n scored and m reference images, or null when it can. */
export function tooFew(metric: SetMetric, n: number, m: number): string | null {
  const min = MIN_IMAGES[metric];
  if (n >= min && m >= min) return null;
  const short = [n < min ? `${n} scored` : '', m < min ? `${m} reference` : ''].filter(Boolean).join(' and ');
  return `${NAME[metric]} need${metric === 'neighbours' ? '' : 's'} at least ${min} images in each set, here ${short}: ${WHY[metric]}`;
}
