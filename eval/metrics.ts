// Generator quality metrics computed from a judge classifier's outputs. Pure functions on typed arrays.
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

/** Mean and covariance (unbiased, n-1) of `count` rows of `dim` features (row-major). */
export interface Gaussian {
  dim: number;
  mean: Float64Array;
  /** Row-major [dim, dim]. */
  cov: Float64Array;
}

export function gaussianStats(features: Float32Array | Float64Array, count: number, dim: number): Gaussian {
  if (count < 2) throw new Error(`need at least 2 samples for a covariance, got ${count}`);
  if (features.length !== count * dim) throw new Error(`features hold ${features.length} values, expected ${count} x ${dim}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let j = 0; j < dim; j++) mean[j]! += features[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= count;
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < dim; j++) row[j] = features[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      const off = a * dim;
      for (let b = a; b < dim; b++) cov[off + b]! += ra * row[b]!;
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b]! / (count - 1);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  return { dim, mean, cov };
}

const toMatrix = (a: Float64Array, dim: number): Matrix => {
  const m = new Matrix(dim, dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) m.set(i, j, a[i * dim + j]!);
  return m;
};

/** Symmetric eigendecomposition of a (numerically) symmetric matrix: eigenvalues and eigenvectors (columns). */
function symmetricEigen(m: Matrix): { values: number[]; vectors: Matrix } {
  const sym = m.add(m.transpose()).mul(0.5);
  const e = new EigenvalueDecomposition(sym, { assumeSymmetric: true });
  return { values: e.realEigenvalues, vectors: e.eigenvectorMatrix };
}

/** Square root of a symmetric positive semi-definite matrix (negative round-off eigenvalues clamped to 0). */
export function sqrtPsd(m: Matrix): Matrix {
  const { values, vectors } = symmetricEigen(m);
  const d = Matrix.diag(values.map((v) => Math.sqrt(Math.max(v, 0))));
  return vectors.mmul(d).mmul(vectors.transpose());
}

/**
 * Fréchet distance between two Gaussians:
 * |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).
 * tr((S1 S2)^(1/2)) is computed as tr((A S2 A)^(1/2)) with A = S1^(1/2): the same eigenvalues, but a
 * symmetric PSD matrix, so the eigendecomposition is stable and real.
 */
export function frechetDistance(p: Gaussian, q: Gaussian): number {
  if (p.dim !== q.dim) throw new Error(`feature dimensions differ: ${p.dim} vs ${q.dim}`);
  const dim = p.dim;
  let meanTerm = 0;
  for (let j = 0; j < dim; j++) meanTerm += (p.mean[j]! - q.mean[j]!) ** 2;
  let trace = 0;
  for (let j = 0; j < dim; j++) trace += p.cov[j * dim + j]! + q.cov[j * dim + j]!;
  const a = sqrtPsd(toMatrix(p.cov, dim));
  const inner = a.mmul(toMatrix(q.cov, dim)).mmul(a);
  const { values } = symmetricEigen(inner);
  const trSqrt = values.reduce((s, v) => s + Math.sqrt(Math.max(v, 0)), 0);
  // Round-off can make identical distributions come out at -1e-12.
  return Math.max(meanTerm + trace - 2 * trSqrt, 0);
}

/** Argmax of each row of `count` x `k` probabilities. */
export function predictedClasses(probs: Float32Array, count: number, k: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
    out[i] = best;
  }
  return out;
}

/**
 * The metrics below take optional `weights`: how often each sample is drawn by a bootstrap
 * resample (eval/bootstrap.ts); without them every sample counts once.
 */
export type Weights = Float64Array | null;

/** Fraction of samples predicted as each class. */
export function classHistogram(predicted: Int32Array, k: number, weights: Weights = null): number[] {
  const h = new Array<number>(k).fill(0);
  let total = 0;
  predicted.forEach((c, i) => {
    const w = weights ? weights[i]! : 1;
    h[c]! += w;
    total += w;
  });
  return h.map((v) => (total ? v / total : 0));
}

/** Classes holding at least `minShare` of the samples (default 2%). */
export function classCoverage(histogram: number[], minShare = 0.02): number {
  return histogram.filter((v) => v >= minShare).length;
}

/** Entropy of a histogram divided by log(k): 1 = uniform over the classes, 0 = a single class. */
export function normalizedEntropy(histogram: number[]): number {
  const k = histogram.length;
  if (k < 2) return 0;
  const total = histogram.reduce((s, v) => s + v, 0);
  if (total <= 0) return 0;
  let h = 0;
  for (const v of histogram) if (v > 0) h -= (v / total) * Math.log(v / total);
  return h / Math.log(k);
}

/**
 * Classifier Inception Score: exp(E_x KL(p(y|x) || p(y))), p(y) the mean prediction, over all samples
 * (one split). 1 = every sample gets the same prediction; k = confident predictions spread evenly.
 */
export function inceptionScore(probs: Float32Array, count: number, k: number, weights: Weights = null): number {
  if (count === 0) throw new Error('no samples');
  const eps = 1e-12;
  const marginal = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const w = weights ? weights[i]! : 1;
    if (w === 0) continue;
    total += w;
    for (let c = 0; c < k; c++) marginal[c]! += w * probs[i * k + c]!;
  }
  for (let c = 0; c < k; c++) marginal[c]! /= total;
  let kl = 0;
  for (let i = 0; i < count; i++) {
    const w = weights ? weights[i]! : 1;
    if (w === 0) continue;
    for (let c = 0; c < k; c++) {
      const p = probs[i * k + c]!;
      if (p > 0) kl += w * p * (Math.log(p + eps) - Math.log(marginal[c]! + eps));
    }
  }
  return Math.exp(kl / total);
}

/** Fraction of samples whose predicted class is the requested one. */
export function accuracy(predicted: Int32Array, labels: Int32Array, weights: Weights = null): number {
  if (predicted.length !== labels.length) throw new Error(`${predicted.length} predictions but ${labels.length} labels`);
  if (predicted.length === 0) throw new Error('no samples');
  let hit = 0;
  let total = 0;
  for (let i = 0; i < predicted.length; i++) {
    const w = weights ? weights[i]! : 1;
    total += w;
    if (predicted[i] === labels[i]) hit += w;
  }
  return hit / total;
}

/** Accuracy among the samples that requested each class (null for a class never requested). */
export function accuracyByClass(predicted: Int32Array, labels: Int32Array, k: number, weights: Weights = null): (number | null)[] {
  const hits = new Array<number>(k).fill(0);
  const asked = new Array<number>(k).fill(0);
  labels.forEach((c, i) => {
    const w = weights ? weights[i]! : 1;
    asked[c]! += w;
    if (predicted[i] === c) hits[c]! += w;
  });
  return hits.map((h, c) => (asked[c] ? h / asked[c]! : null));
}
