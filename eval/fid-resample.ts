// FID of a set of features against a fixed reference Gaussian, for the original set and for its
// bootstrap resamples. tr((S R)^(1/2)) = tr((A S A)^(1/2)) with A = R^(1/2) computed once per
// reference: the set's own value in float64 (as metrics.ts frechetDistance), each resample as the
// covariance of the rows z = A x, one weighted GEMM (onnxruntime, float32) and one 128 x 128 spectrum.
import { Matrix } from 'ml-matrix';
import type { MatrixProducts } from '../backend/ort-matmul.js';
import { gaussianStats, sqrtPsd, type Gaussian } from './metrics.js';
import { traceSqrtPsd } from './sym-eig.js';

/** A reference Gaussian with its square root, computed once and shared by every set scored against it. */
export interface RootedReference {
  gaussian: Gaussian;
  /** R^(1/2), row-major [d, d]. */
  root: Float64Array;
  root32: Float32Array;
}

export function rootReference(gaussian: Gaussian): RootedReference {
  const d = gaussian.dim;
  const m = new Matrix(d, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m.set(i, j, gaussian.cov[i * d + j]!);
  const root = Float64Array.from(sqrtPsd(m).to1DArray());
  return { gaussian, root, root32: Float32Array.from(root) };
}

/** A S A for symmetric d x d A and S (row-major, float64). */
function sandwich(a: Float64Array, s: Float64Array, d: number): Float64Array {
  const as = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const v = a[i * d + k]!;
      if (v === 0) continue;
      for (let j = 0; j < d; j++) as[i * d + j]! += v * s[k * d + j]!;
    }
  }
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const v = as[i * d + k]!;
      if (v === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j]! += v * a[k * d + j]!;
    }
  }
  return out;
}

export class FidResampler {
  private constructor(
    private readonly gemm: MatrixProducts,
    private readonly n: number,
    private readonly d: number,
    /** x - mean(x), row-major [n, d]. */
    private readonly xc: Float32Array,
    /** (x - mean(x)) A. */
    private readonly zc: Float32Array,
    private readonly sqNorms: Float64Array,
    /** mean(x) - reference mean. */
    private readonly offset: Float64Array,
    private readonly referenceTrace: number,
    private readonly own: Gaussian,
    private readonly ref: RootedReference,
  ) {}

  static async create(gemm: MatrixProducts, x: Float32Array, n: number, d: number, ref: RootedReference): Promise<FidResampler> {
    if (n < 2) throw new Error(`FID needs at least 2 images, got ${n}`);
    if (ref.gaussian.dim !== d) throw new Error(`feature dimensions differ: ${d} vs ${ref.gaussian.dim}`);
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]!;
    for (let j = 0; j < d; j++) mean[j]! /= n;
    const xc = new Float32Array(n * d);
    const sq = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = x[i * d + j]! - mean[j]!;
        xc[i * d + j] = v;
        s += v * v;
      }
      sq[i] = s;
    }
    const zc = await gemm.dots(xc, n, ref.root32, d, d); // A is symmetric: xc A^T = xc A
    const r = ref.gaussian;
    let trace = 0;
    for (let j = 0; j < d; j++) trace += r.cov[j * d + j]!;
    return new FidResampler(
      gemm,
      n,
      d,
      xc,
      Float32Array.from(zc),
      sq,
      mean.map((m, j) => m - r.mean[j]!),
      trace,
      gaussianStats(x, n, d),
      ref,
    );
  }

  /** The set's FID (float64). */
  fid(): number {
    const { d, own } = this;
    let meanTerm = 0;
    let traceS = 0;
    for (let j = 0; j < d; j++) {
      meanTerm += this.offset[j]! ** 2;
      traceS += own.cov[j * d + j]!;
    }
    return Math.max(meanTerm + traceS + this.referenceTrace - 2 * traceSqrtPsd(sandwich(this.ref.root, own.cov, d), d), 0);
  }

  /** FID of the set drawn with these counts per row. */
  async resampledFid(weights: Float64Array): Promise<number> {
    const { n, d } = this;
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (weights[i]! > 0) rows.push(i);
    const w = (i: number): number => weights[i]!;
    let total = 0;
    for (const i of rows) total += w(i);
    const shift = new Float64Array(d); // mean of the resample minus mean(x)
    const zmean = new Float64Array(d);
    let sq = 0;
    for (const i of rows) {
      const wi = w(i);
      sq += wi * this.sqNorms[i]!;
      for (let j = 0; j < d; j++) {
        shift[j]! += wi * this.xc[i * d + j]!;
        zmean[j]! += wi * this.zc[i * d + j]!;
      }
    }
    let meanTerm = 0;
    let shiftSq = 0;
    for (let j = 0; j < d; j++) {
      shift[j]! /= total;
      zmean[j]! /= total;
      meanTerm += (this.offset[j]! + shift[j]!) ** 2;
      shiftSq += shift[j]! ** 2;
    }
    const traceS = (sq - total * shiftSq) / (total - 1);
    // sum_i w_i z_i z_i^T as (sqrt(w) z)^T (sqrt(w) z), over the drawn rows only.
    const zw = new Float32Array(rows.length * d);
    rows.forEach((i, r) => {
      const s = Math.sqrt(w(i));
      for (let j = 0; j < d; j++) zw[r * d + j] = s * this.zc[i * d + j]!;
    });
    const second = await this.gemm.transposedProduct(zw, zw, rows.length, d, d);
    const m = new Float64Array(d * d);
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) m[a * d + b] = (second[a * d + b]! - total * zmean[a]! * zmean[b]!) / (total - 1);
    return Math.max(meanTerm + traceS + this.referenceTrace - 2 * traceSqrtPsd(m, d), 0);
  }
}
