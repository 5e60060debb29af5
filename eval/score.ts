// Every metric of one scored set (samples, or real images for the ceiling) against a reference set,
// from the judge's outputs on both, each with its spread over bootstrap resamples of both sets; a
// metric either set is too small for (sample-size.ts) is null, with the reason in `unavailable`.
import { Rng } from '../common/rng.js';
import { resampleCounts, standardDeviation } from './bootstrap.js';
import { crossGeometry, setGeometry, type SetGeometry } from './feature-pairs.js';
import { FidResampler, rootReference, type RootedReference } from './fid-resample.js';
import type { MatrixProducts } from '../backend/ort-matmul.js';
import { kernelInceptionDistance } from './kid.js';
import {
  accuracy,
  accuracyByClass,
  classCoverage,
  classHistogram,
  gaussianStats,
  inceptionScore,
  normalizedEntropy,
  predictedClasses,
  type Weights,
} from './metrics.js';
import { precisionRecall } from './precision-recall.js';
import { tooFew, type SetMetric } from './sample-size.js';
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

/**
 * Standard deviations over the bootstrap resamples. The metrics against the reference resample the
 * reference too: FID adds the variances of its two bootstraps (scored images, reference images),
 * precision/recall/density/coverage resample both sets at once, KID is its jackknife over both sets.
 */
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
  /** Fréchet distance in the judge's feature space to the reference images (null: too few images, see `unavailable`). */
  fid: number | null;
  /** Kernel Inception Distance (unbiased squared MMD, cubic kernel) in the same space. */
  kid: number | null;
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
  precision: number | null;
  recall: number | null;
  density: number | null;
  realCoverage: number | null;
  /** Why a metric against the reference is null: too few scored or reference images for it. */
  unavailable: Partial<Record<SetMetric, string>>;
  /** FID of the images of each requested class against the reference images of that class (labelled sets with a labelled reference). */
  fidByClass: (number | null)[] | null;
  sd: Spread;
}

export interface PreparedReference {
  count: number;
  dim: number;
  features: Float32Array;
  /** True class of each reference image, else null (its bootstrap resamples within classes). */
  labels: Int32Array | null;
  geometry: SetGeometry;
  /** The reference's Gaussian (null: too few images for FID). */
  rooted: RootedReference | null;
  /** Per class (labelled references): its rows and Gaussian (null: too few images for FID). */
  byClass: ({ x: Float32Array; rows: number[]; rooted: RootedReference } | null)[] | null;
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
  const fidFits = (rows: number): boolean => tooFew('fid', rows, rows) === null;
  const rooted = fidFits(count) ? rootReference(gaussianStats(features, count, dim)) : null;
  let byClass: PreparedReference['byClass'] = null;
  if (ref.labels) {
    byClass = [];
    for (let c = 0; c < k; c++) {
      const { x, rows } = rowsOf(features, dim, ref.labels, c);
      byClass.push(fidFits(rows.length) ? { x, rows, rooted: rootReference(gaussianStats(x, rows.length, dim)) } : null);
    }
  }
  return { count, dim, features, labels: ref.labels, geometry, rooted, byClass };
}

export interface ScoreOptions {
  /** Bootstrap resamples for the spreads (0: none). */
  bootstrap: number;
  seed: number;
  progress?: ProgressSink;
  /** Names the set in progress lines ("samples", "ceiling"). */
  label?: string;
}

/**
 * FID of a set against a reference with both sides resampled: the set against the reference's
 * Gaussian, and (FID is symmetric) the reference against the set's.
 */
interface FidBoth {
  fid: FidResampler;
  /** The reference's rows against the scored set's Gaussian. */
  mirror: FidResampler;
  rows: number[];
  refRows: number[];
}

async function fidBoth(
  gemm: MatrixProducts,
  x: Float32Array,
  rows: number[],
  ref: { x: Float32Array; rows: number[]; rooted: RootedReference },
  dim: number,
): Promise<FidBoth> {
  const fid = await FidResampler.create(gemm, x, rows.length, dim, ref.rooted);
  const mirror = await FidResampler.create(gemm, ref.x, ref.rows.length, dim, rootReference(gaussianStats(x, rows.length, dim)));
  return { fid, mirror, rows, refRows: ref.rows };
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
  const m = ref.count;
  const unavailable: Metrics['unavailable'] = {};
  for (const metric of ['fid', 'kid', 'neighbours'] as const) {
    const why = tooFew(metric, n, m);
    if (why) unavailable[metric] = why;
  }
  const kid = kernelInceptionDistance(geometry, ref.geometry, cross);
  const all = Array.from({ length: n }, (_, i) => i);
  const refAll = { x: ref.features, rows: Array.from({ length: m }, (_, j) => j), rooted: ref.rooted! };
  const fidAll = unavailable.fid ? null : await fidBoth(gemm, features, all, refAll, dim);
  // Per class: the requested class's images against the reference's images of that class.
  const perClass: (FidBoth | null)[] | null = labels && ref.byClass ? [] : null;
  if (perClass && labels && ref.byClass) {
    for (let c = 0; c < k; c++) {
      const { x, rows } = rowsOf(features, dim, labels, c);
      const r = ref.byClass[c];
      perClass.push(r && !tooFew('fid', rows.length, r.rows.length) ? await fidBoth(gemm, x, rows, r, dim) : null);
    }
  }
  const predicted = predictedClasses(probs, n, k);
  const point = predictionMetrics(probs, predicted, labels, n, k, null);
  const neighbours = !unavailable.neighbours;
  const pr = precisionRecall(cross);
  const metrics: Omit<Metrics, 'sd'> = {
    n,
    fid: fidAll ? fidAll.fid.fid() : null,
    kid: unavailable.kid ? null : kid.kid,
    ...point,
    classes: k,
    ...(neighbours ? pr : { precision: null, recall: null, density: null, realCoverage: null }),
    unavailable,
    fidByClass: perClass ? perClass.map((p) => (p ? p.fid.fid() : null)) : null,
  };

  // Bootstrap: resample the scored images (within each requested class when labelled) and, with a
  // generator of its own (so the scored side draws as it did before), the reference (within each class).
  const rng = new Rng(o.seed ^ 0x5eed);
  const refRng = new Rng((o.seed ^ 0x5eed) + 1);
  type Fids = { own: number; ref: number };
  const reps: {
    fid: Fids | null;
    ps: ReturnType<typeof predictionMetrics>;
    pr: ReturnType<typeof precisionRecall>;
    fidByClass: (Fids | null)[] | null;
  }[] = [];
  const resampled = async (p: FidBoth, w: Float64Array, v: Float64Array): Promise<Fids> => ({
    own: await p.fid.resampledFid(Float64Array.from(p.rows, (i) => w[i]!)),
    ref: await p.mirror.resampledFid(Float64Array.from(p.refRows, (j) => v[j]!)),
  });
  const boot = progress.stage(`bootstrap spread of the ${label}' metrics`, o.bootstrap);
  for (let b = 0; b < o.bootstrap; b++) {
    const w = resampleCounts(rng, n, labels);
    const v = resampleCounts(refRng, m, ref.labels);
    let fidByClass: (Fids | null)[] | null = null;
    if (perClass) {
      fidByClass = [];
      for (const p of perClass) fidByClass.push(p ? await resampled(p, w, v) : null);
    }
    reps.push({
      fid: fidAll ? await resampled(fidAll, w, v) : null,
      ps: predictionMetrics(probs, predicted, labels, n, k, w),
      pr: precisionRecall(cross, w, v),
      fidByClass,
    });
    boot.update(b + 1);
  }
  boot.done();
  const sd = (f: (r: (typeof reps)[number]) => number): number => standardDeviation(reps.map(f));
  /** Both bootstraps' variances added. */
  const sdFid = (f: (r: (typeof reps)[number]) => Fids | null | undefined): number =>
    Math.hypot(
      sd((r) => f(r)?.own ?? NaN),
      sd((r) => f(r)?.ref ?? NaN),
    );
  const sdList = (len: number, f: (r: (typeof reps)[number], c: number) => number | null | undefined): (number | null)[] =>
    Array.from({ length: len }, (_, c) => (reps.every((r) => f(r, c) == null) ? null : standardDeviation(reps.map((r) => f(r, c) ?? NaN))));
  return {
    ...metrics,
    sd: {
      replicates: o.bootstrap,
      fid: sdFid((r) => r.fid),
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
      fidByClass: perClass ? Array.from({ length: k }, (_, c) => (perClass[c] ? sdFid((r) => r.fidByClass?.[c]) : null)) : null,
    },
  };
}
