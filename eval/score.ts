// Every metric of one scored set (samples, or real images for the ceiling) against a reference set,
// from the judge's outputs on both, each with its spread over bootstrap resamples of the scored set.
import { Rng } from '../common/rng.js';
import { resampleCounts, standardDeviation } from './bootstrap.js';
import { crossGeometry, setGeometry, type SetGeometry } from './feature-pairs.js';
import { FidResampler, rootReference, type RootedReference } from './fid-resample.js';
import type { MatrixProducts } from '../backend/ort-matmul.js';
import { kernelInceptionDistance } from './kid.js';
import { accuracy, accuracyByClass, classCoverage, classHistogram, gaussianStats, inceptionScore, normalizedEntropy, predictedClasses, type Weights } from './metrics.js';
import { precisionRecall } from './precision-recall.js';
import { silentProgress, type ProgressSink } from './progress.js';

/** The judge's outputs on a set of images. */
export interface ScoredSet {
  /** Row-major [count, dim]. */
  features: Float32Array;
  /** Row-major [count, K]. */
  probs: Float32Array;
  count: number;
  dim: number;
  /** Requested class (conditional samples) or true class (real images) of each image, else null. */
  labels: Int32Array | null;
}

/** Standard deviations over the bootstrap resamples (KID: its jackknife standard error). */
export interface Spread {
  /** Bootstrap resamples behind these numbers (0: none, and every spread is NaN). */
  replicates: number;
  fid: number;
  kid: number;
  inceptionScore: number;
  coverage: number;
  entropy: number;
  accuracy: number | null;
  precision: number;
  recall: number;
  density: number;
  realCoverage: number;
  accuracyByClass: (number | null)[] | null;
  fidByClass: (number | null)[] | null;
}

export interface Metrics {
  /** Number of images scored. */
  n: number;
  /** Fréchet distance in the judge's feature space to the reference images. */
  fid: number;
  /** Kernel Inception Distance (unbiased squared MMD, cubic kernel) in the same space. */
  kid: number;
  inceptionScore: number;
  /** Classes with >= 2% of the predictions. */
  coverage: number;
  classes: number;
  /** Normalised entropy of the predicted-class histogram (1 = uniform). */
  entropy: number;
  /** Share of images predicted as each class. */
  histogram: number[];
  /** Judge accuracy on the requested class (labelled sets only). */
  accuracy: number | null;
  accuracyByClass: (number | null)[] | null;
  /** Improved precision and recall (k = 3), density and coverage (k = 5) against the reference. */
  precision: number;
  recall: number;
  density: number;
  realCoverage: number;
  /** FID of the images of each requested class against the reference images of that class (labelled sets with a labelled reference). */
  fidByClass: (number | null)[] | null;
  sd: Spread;
}

export interface PreparedReference {
  count: number;
  dim: number;
  features: Float32Array;
  geometry: SetGeometry;
  rooted: RootedReference;
  /** Per class (labelled references): the Gaussian of its images (null below 2 images). */
  byClass: (RootedReference | null)[] | null;
}

/** Rows of `f` ([n, d]) whose label is c, packed. */
function rowsOf(f: Float32Array, d: number, labels: Int32Array, c: number): { x: Float32Array; rows: number[] } {
  const rows: number[] = [];
  labels.forEach((l, i) => {
    if (l === c) rows.push(i);
  });
  const x = new Float32Array(rows.length * d);
  rows.forEach((i, r) => x.set(f.subarray(i * d, (i + 1) * d), r * d));
  return { x, rows };
}

export async function prepareReference(gemm: MatrixProducts, ref: ScoredSet, k: number): Promise<PreparedReference> {
  const { features, count, dim } = ref;
  const geometry = await setGeometry(gemm, features, count, dim);
  const rooted = rootReference(gaussianStats(features, count, dim));
  let byClass: (RootedReference | null)[] | null = null;
  if (ref.labels) {
    byClass = [];
    for (let c = 0; c < k; c++) {
      const { x, rows } = rowsOf(features, dim, ref.labels, c);
      byClass.push(rows.length >= 2 ? rootReference(gaussianStats(x, rows.length, dim)) : null);
    }
  }
  return { count, dim, features, geometry, rooted, byClass };
}

export interface ScoreOptions {
  /** Bootstrap resamples for the spreads (0: none). */
  bootstrap: number;
  seed: number;
  progress?: ProgressSink;
  /** Names the set in progress lines ("samples", "ceiling"). */
  label?: string;
}

/** Everything but FID and KID, from the judge's predictions, for the given draw counts. */
function predictionMetrics(probs: Float32Array, predicted: Int32Array, labels: Int32Array | null, count: number, k: number, w: Weights) {
  const histogram = classHistogram(predicted, k, w);
  return {
    histogram,
    inceptionScore: inceptionScore(probs, count, k, w),
    coverage: classCoverage(histogram),
    entropy: normalizedEntropy(histogram),
    accuracy: labels ? accuracy(predicted, labels, w) : null,
    accuracyByClass: labels ? accuracyByClass(predicted, labels, k, w) : null,
  };
}

export async function scoreSet(gemm: MatrixProducts, set: ScoredSet, ref: PreparedReference, k: number, o: ScoreOptions): Promise<Metrics> {
  const { features, probs, count: n, dim, labels } = set;
  if (dim !== ref.dim) throw new Error(`feature dimensions differ: ${dim} vs ${ref.dim}`);
  const progress = o.progress ?? silentProgress;
  const label = o.label ?? 'samples';
  const pairs = progress.stage(`comparing the ${label}' features with the reference's`, 2 * n);
  const geometry = await setGeometry(gemm, features, n, dim, (done) => pairs.update(done));
  const cross = await crossGeometry(gemm, features, geometry, ref.features, ref.geometry, dim, (done) => pairs.update(n + done));
  pairs.done();
  const kid = kernelInceptionDistance(geometry, ref.geometry, cross);
  const fidAll = await FidResampler.create(gemm, features, n, dim, ref.rooted);
  // Per class: the requested class's images against the reference's images of that class.
  const perClass: ({ fid: FidResampler; rows: number[] } | null)[] | null = labels && ref.byClass ? [] : null;
  if (perClass && labels && ref.byClass) {
    for (let c = 0; c < k; c++) {
      const { x, rows } = rowsOf(features, dim, labels, c);
      const r = ref.byClass[c];
      perClass.push(r && rows.length >= 2 ? { fid: await FidResampler.create(gemm, x, rows.length, dim, r), rows } : null);
    }
  }
  const predicted = predictedClasses(probs, n, k);
  const point = predictionMetrics(probs, predicted, labels, n, k, null);
  const pr = precisionRecall(cross);
  const metrics: Omit<Metrics, 'sd'> = {
    n,
    fid: fidAll.fid(),
    kid: kid.kid,
    ...point,
    classes: k,
    ...pr,
    fidByClass: perClass ? perClass.map((p) => (p ? p.fid.fid() : null)) : null,
  };

  // Bootstrap: resample the scored images (within each requested class when labelled) B times.
  const rng = new Rng(o.seed ^ 0x5eed);
  const reps: { fid: number; ps: ReturnType<typeof predictionMetrics>; pr: ReturnType<typeof precisionRecall>; fidByClass: (number | null)[] | null }[] = [];
  const boot = progress.stage(`bootstrap spread of the ${label}' metrics`, o.bootstrap);
  for (let b = 0; b < o.bootstrap; b++) {
    const w = resampleCounts(rng, n, labels);
    let fidByClass: (number | null)[] | null = null;
    if (perClass) {
      fidByClass = [];
      for (const p of perClass) fidByClass.push(p ? await p.fid.resampledFid(Float64Array.from(p.rows, (i) => w[i]!)) : null);
    }
    reps.push({ fid: await fidAll.resampledFid(w), ps: predictionMetrics(probs, predicted, labels, n, k, w), pr: precisionRecall(cross, w), fidByClass });
    boot.update(b + 1);
  }
  boot.done();
  const sd = (f: (r: (typeof reps)[number]) => number): number => standardDeviation(reps.map(f));
  const sdList = (len: number, f: (r: (typeof reps)[number], c: number) => number | null | undefined): (number | null)[] =>
    Array.from({ length: len }, (_, c) => (reps.every((r) => f(r, c) == null) ? null : standardDeviation(reps.map((r) => f(r, c) ?? NaN))));
  return {
    ...metrics,
    sd: {
      replicates: o.bootstrap,
      fid: sd((r) => r.fid),
      kid: kid.se,
      inceptionScore: sd((r) => r.ps.inceptionScore),
      coverage: sd((r) => r.ps.coverage),
      entropy: sd((r) => r.ps.entropy),
      accuracy: labels ? sd((r) => r.ps.accuracy!) : null,
      precision: sd((r) => r.pr.precision),
      recall: sd((r) => r.pr.recall),
      density: sd((r) => r.pr.density),
      realCoverage: sd((r) => r.pr.realCoverage),
      accuracyByClass: labels ? sdList(k, (r, c) => r.ps.accuracyByClass?.[c]) : null,
      fidByClass: perClass ? sdList(k, (r, c) => r.fidByClass?.[c]) : null,
    },
  };
}
