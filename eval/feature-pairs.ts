// One pass over all pairs of feature vectors (dot products on onnxruntime's GEMM, in blocks) gives
// what KID and the nearest-neighbour metrics need: the kernel sums of KID and the k-NN balls of
// improved precision/recall and density/coverage.
import type { MatrixProducts } from '../backend/ort-matmul.js';

/** k of improved precision and recall (Kynkäänniemi et al. 2019). */
export const K_PRECISION_RECALL = 3;
/** k of density and coverage (Naeem et al. 2020). */
export const K_DENSITY_COVERAGE = 5;
/**
 * Per real image, the first LIST_CAP fake images whose ball holds it (or that lie in its ball), and per
 * fake image the first LIST_CAP real balls holding it, are kept for the bootstrap: a resample misses
 * all of 32 distinct images with probability e^-32.
 */
export const LIST_CAP = 32;

/** KID's kernel: k(x, y) = (x.y / d + 1)^3 (Binkowski et al. 2018). */
export const kidKernel = (dot: number, d: number): number => {
  const v = dot / d + 1;
  return v * v * v;
};

/**
 * A ball's squared radius with room for float32 round-off: a radius and the distance it is compared
 * with come from different GEMM calls, and a point on the boundary (its k-th neighbour) must count.
 */
const within = (r2: number): number => r2 * (1 + 1e-5) + 1e-6;

/** Rows per GEMM call: blocks of at most ~4M dot products (16 MB). */
const blockRows = (cols: number): number => Math.max(1, Math.floor(4_000_000 / Math.max(cols, 1)));

function squaredNorms(f: Float32Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += f[i * d + j]! ** 2;
    out[i] = s;
  }
  return out;
}

/** One set against itself. */
export interface SetGeometry {
  n: number;
  /** Sum over l != i of k(x_i, x_l). */
  kernelRowSums: Float64Array;
  /** Squared distance to the k-th nearest other member, k = 3 and k = 5 (Infinity with k or fewer others). */
  radius3: Float64Array;
  radius5: Float64Array;
  sqNorms: Float64Array;
}

export async function setGeometry(
  gemm: MatrixProducts,
  f: Float32Array,
  n: number,
  d: number,
  onRows?: (done: number) => void,
): Promise<SetGeometry> {
  const sq = squaredNorms(f, n, d);
  const kernelRowSums = new Float64Array(n);
  const radius3 = new Float64Array(n);
  const radius5 = new Float64Array(n);
  const top = new Float64Array(K_DENSITY_COVERAGE);
  const rows = blockRows(n);
  for (let start = 0; start < n; start += rows) {
    const b = Math.min(rows, n - start);
    const dots = await gemm.dots(f.subarray(start * d), b, f, n, d);
    for (let r = 0; r < b; r++) {
      const i = start + r;
      const off = r * n;
      let ks = 0;
      top.fill(Infinity);
      for (let l = 0; l < n; l++) {
        if (l === i) continue;
        const dot = dots[off + l]!;
        ks += kidKernel(dot, d);
        const d2 = sq[i]! + sq[l]! - 2 * dot;
        if (d2 < top[K_DENSITY_COVERAGE - 1]!) {
          let p = K_DENSITY_COVERAGE - 1;
          while (p > 0 && top[p - 1]! > d2) {
            top[p] = top[p - 1]!;
            p--;
          }
          top[p] = d2;
        }
      }
      kernelRowSums[i] = ks;
      radius3[i] = Math.max(top[K_PRECISION_RECALL - 1]!, 0);
      radius5[i] = Math.max(top[K_DENSITY_COVERAGE - 1]!, 0);
    }
    onRows?.(start + b);
  }
  return { n, kernelRowSums, radius3, radius5, sqNorms: sq };
}

/** Fake images X (n) against real images Y (m). */
export interface CrossGeometry {
  n: number;
  m: number;
  /** Sum over j of k(x_i, y_j), per fake image. */
  kernelRowSums: Float64Array;
  /** Sum over i of k(x_i, y_j), per real image (the reference's side of KID's jackknife). */
  kernelColSums: Float64Array;
  /** Fake i lies in at least one real image's k = 3 ball (precision). */
  inRealManifold: Uint8Array;
  /** Number of real k = 5 balls holding fake i (density). */
  realBallCount: Int32Array;
  /** Per real image j: up to LIST_CAP fakes in its k = 5 ball (coverage). [m * LIST_CAP], counts in coverLen. */
  coverList: Int32Array;
  coverLen: Int32Array;
  /** Per real image j: up to LIST_CAP fakes whose k = 3 ball holds it (recall). */
  recallList: Int32Array;
  recallLen: Int32Array;
  /**
   * Per fake image i: up to LIST_CAP real images whose k = 5 ball holds it, as j + 1, negated when
   * their k = 3 ball holds it too (precision and density over resampled references). [n * LIST_CAP].
   */
  ballList: Int32Array;
  ballLen: Int32Array;
}

export async function crossGeometry(
  gemm: MatrixProducts,
  x: Float32Array,
  gx: SetGeometry,
  y: Float32Array,
  gy: SetGeometry,
  d: number,
  onRows?: (done: number) => void,
): Promise<CrossGeometry> {
  const { n } = gx;
  const m = gy.n;
  const kernelRowSums = new Float64Array(n);
  const kernelColSums = new Float64Array(m);
  const ballList = new Int32Array(n * LIST_CAP);
  const ballLen = new Int32Array(n);
  const inRealManifold = new Uint8Array(n);
  const realBallCount = new Int32Array(n);
  const coverList = new Int32Array(m * LIST_CAP);
  const coverLen = new Int32Array(m);
  const recallList = new Int32Array(m * LIST_CAP);
  const recallLen = new Int32Array(m);
  const rows = blockRows(m);
  for (let start = 0; start < n; start += rows) {
    const b = Math.min(rows, n - start);
    const dots = await gemm.dots(x.subarray(start * d), b, y, m, d);
    for (let r = 0; r < b; r++) {
      const i = start + r;
      const off = r * m;
      const sqi = gx.sqNorms[i]!;
      const ri = within(gx.radius3[i]!);
      let ks = 0;
      let inside = 0;
      let balls = 0;
      for (let j = 0; j < m; j++) {
        const dot = dots[off + j]!;
        const kv = kidKernel(dot, d);
        ks += kv;
        kernelColSums[j]! += kv;
        const d2 = sqi + gy.sqNorms[j]! - 2 * dot;
        if (d2 <= within(gy.radius5[j]!)) {
          balls++;
          const in3 = d2 <= within(gy.radius3[j]!);
          if (in3) inside = 1;
          if (coverLen[j]! < LIST_CAP) coverList[j * LIST_CAP + coverLen[j]!++] = i;
          if (ballLen[i]! < LIST_CAP) ballList[i * LIST_CAP + ballLen[i]!++] = in3 ? -(j + 1) : j + 1;
        }
        if (d2 <= ri && recallLen[j]! < LIST_CAP) recallList[j * LIST_CAP + recallLen[j]!++] = i;
      }
      kernelRowSums[i] = ks;
      inRealManifold[i] = inside;
      realBallCount[i] = balls;
    }
    onRows?.(start + b);
  }
  return {
    n,
    m,
    kernelRowSums,
    kernelColSums,
    inRealManifold,
    realBallCount,
    coverList,
    coverLen,
    recallList,
    recallLen,
    ballList,
    ballLen,
  };
}
