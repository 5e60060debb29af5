// The metrics on cases with a known answer, in the feature space of a shipped judge applied to real
// digits from the embedded MNIST: identical sets, disjoint classes, one mode dropped, a shifted copy,
// and spreads that match the scatter of independent draws.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { IMAGE_PIXELS } from '../common/metadata.js';
import { Rng } from '../common/rng.js';
import { loadData } from '../data/sources.js';
import { shuffle, type Dataset } from '../data/dataset.js';
import { resampleCounts, standardDeviation } from '../eval/bootstrap.js';
import { crossGeometry, kidKernel, setGeometry } from '../eval/feature-pairs.js';
import { FidResampler, rootReference } from '../eval/fid-resample.js';
import { matrixProducts, type MatrixProducts } from '../backend/ort-matmul.js';
import { loadJudge, type LoadedJudge } from '../eval/judges.js';
import { kernelInceptionDistance } from '../eval/kid.js';
import { accuracy, classHistogram, frechetDistance, gaussianStats, inceptionScore, predictedClasses } from '../eval/metrics.js';
import { prepareReference, scoreSet, type Metrics, type ScoredSet } from '../eval/score.js';
import { symmetricEigenvalues } from '../eval/sym-eig.js';

const K = 10;
let gemm: MatrixProducts;
let judge: LoadedJudge;
let train: Dataset;
let heldOut: Dataset;

/** Images of `ds` at the given indices, scored by the judge, labelled with their true class. */
async function scored(
  ds: Dataset,
  idx: number[],
  labels: Int32Array | null = Int32Array.from(idx, (i) => ds.labels[i]!),
): Promise<ScoredSet> {
  const images = new Float32Array(idx.length * IMAGE_PIXELS);
  idx.forEach((src, r) => images.set(ds.images.subarray(src * IMAGE_PIXELS, (src + 1) * IMAGE_PIXELS), r * IMAGE_PIXELS));
  return { ...(await judge.predict(images, idx.length)), labels };
}

const indices = (ds: Dataset, keep: (label: number, i: number) => boolean): number[] => {
  const out: number[] = [];
  ds.labels.forEach((l, i) => {
    if (keep(l, i)) out.push(i);
  });
  return out;
};

/**
 * `per` images of each class (but `skip`), the `draw`-th disjoint block of a seeded shuffle: the
 * embedded digits' file order is not random (the first hundred of each class score FID 6.8 against
 * the held-out digits, later blocks ~3.7), so independent draws must be random ones.
 */
const perClass = (ds: Dataset, per: number, draw = 0, skip: number[] = []): number[] => {
  const out: number[] = [];
  const rng = new Rng(11);
  for (let c = 0; c < K; c++) {
    const idx = indices(ds, (l) => l === c);
    shuffle(idx, rng);
    if (!skip.includes(c)) out.push(...idx.slice(draw * per, draw * per + per));
  }
  return out;
};

async function score(set: ScoredSet, ref: ScoredSet, bootstrap = 0): Promise<Metrics> {
  return scoreSet(gemm, set, await prepareReference(gemm, ref, K), K, { bootstrap, seed: 0 });
}

beforeAll(async () => {
  ({ train, heldOut } = loadData('mnist'));
  gemm = matrixProducts();
  judge = await loadJudge('select', 'mnist');
});

afterAll(async () => {
  await judge?.release();
});

describe('linear algebra', () => {
  it('symmetric eigenvalues match ml-matrix on random matrices (1, 2, 7 and 128 dimensions)', () => {
    const rng = new Rng(3);
    for (const d of [1, 2, 7, 128]) {
      const a = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) a[i * d + j] = a[j * d + i] = rng.normal();
      const mine = [...symmetricEigenvalues(a, d)].sort((x, y) => x - y);
      const m = new Matrix(d, d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m.set(i, j, a[i * d + j]!);
      const ref = new EigenvalueDecomposition(m, { assumeSymmetric: true }).realEigenvalues.sort((x, y) => x - y);
      mine.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 9));
    }
  });

  it('FID through the reference root equals frechetDistance, and a resample of every row once equals the set', async () => {
    const x = await scored(train, perClass(train, 50));
    const y = await scored(heldOut, perClass(heldOut, 50));
    const gx = gaussianStats(x.features, x.count, x.dim);
    const gy = gaussianStats(y.features, y.count, y.dim);
    const f = await FidResampler.create(gemm, x.features, x.count, x.dim, rootReference(gy));
    const exact = frechetDistance(gx, gy);
    expect(Math.abs(f.fid() - exact) / exact).toBeLessThan(1e-6);
    expect(await f.resampledFid(new Float64Array(x.count).fill(1))).toBeCloseTo(f.fid(), 2);
  });
});

describe('metrics on real digits with known answers', () => {
  it('identical sets: FID 0, precision = recall = coverage = 1, density = (k+1)/k, KID its closed form', async () => {
    const x = await scored(heldOut, perClass(heldOut, 100));
    const m = await score(x, x);
    expect(m.fid).toBeLessThan(1e-6);
    expect(m.precision).toBe(1);
    expect(m.recall).toBe(1);
    expect(m.realCoverage).toBe(1);
    // Each image lies in its own ball and in the balls of the images it is one of the 5 nearest of: 6 per image.
    expect(m.density).toBeCloseTo(6 / 5, 2);
    // X = Y: KID = 2/n (mean off-diagonal kernel - mean diagonal kernel), computed here directly.
    const n = x.count;
    const d = x.dim;
    let diag = 0;
    let off = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let t = 0; t < d; t++) dot += x.features[i * d + t]! * x.features[j * d + t]!;
        if (i === j) diag += kidKernel(dot, d);
        else off += kidKernel(dot, d);
      }
    }
    const expected = (2 / n) * (off / (n * (n - 1)) - diag / n);
    expect(Math.abs(m.kid - expected) / Math.abs(expected)).toBeLessThan(1e-3);
  });

  it(
    'disjoint classes (digits 0-4 against 5-9): precision, recall, density and coverage near 0, FID and ' + 'KID far above the noise',
    async () => {
      const low = await scored(
        heldOut,
        indices(heldOut, (l) => l < 5),
      );
      const high = await scored(
        heldOut,
        indices(heldOut, (l) => l >= 5),
      );
      const m = await score(low, high, 20);
      // Precision counts balls around every real image, outliers' wide ones too (the weakness density
      // fixes): some 4s fall in 9s' balls, 3s in 5s' (0.25 here); far below the 1 of identical sets.
      expect(m.precision).toBeLessThan(0.35);
      expect(m.recall).toBeLessThan(0.1);
      expect(m.density).toBeLessThan(0.1);
      expect(m.realCoverage).toBeLessThan(0.1);
      expect(m.coverage).toBe(5); // classes with >= 2% of the predictions
      expect(m.kid).toBeGreaterThan(10 * m.sd.kid); // the spread includes the reference's noise
      expect(m.fid).toBeGreaterThan(20 * m.sd.fid);
      // Half the classes against their own other half (real digits of the same classes) for scale.
      const same = await score(await scored(train, perClass(train, 100, 0, [5, 6, 7, 8, 9])), low);
      expect(m.fid).toBeGreaterThan(4 * same.fid);
      // Labelled: no reference image has the requested class 0..4, so no per-class FID there.
      expect(m.fidByClass!.slice(0, 5)).toEqual([null, null, null, null, null]);
    },
  );

  it('one mode dropped (no 7s): coverage loses about a tenth, recall drops, precision stays, class coverage 9/10', async () => {
    const ref = await scored(heldOut, perClass(heldOut, 100));
    const full = await score(await scored(train, perClass(train, 180)), ref, 20);
    const dropped = await score(await scored(train, perClass(train, 200, 0, [7])), ref, 20);
    expect(dropped.n).toBe(full.n);
    expect(dropped.coverage).toBe(9);
    expect(dropped.histogram[7]!).toBeLessThan(0.01);
    // The reference's 7s (a tenth of it) lose their neighbours.
    expect(full.realCoverage - dropped.realCoverage).toBeGreaterThan(0.07);
    expect(full.realCoverage - dropped.realCoverage).toBeLessThan(0.12);
    // Recall's balls are the samples' own (wide ones around 4s and 9s still reach some 7s): a smaller drop.
    expect(full.recall - dropped.recall).toBeGreaterThan(0.02);
    expect(Math.abs(full.precision - dropped.precision)).toBeLessThan(0.05);
    // Both spreads include the noise of their shared reference, which a difference cancels: 2 of them.
    expect(dropped.fid! - full.fid!).toBeGreaterThan(2 * Math.hypot(full.sd.fid, dropped.sd.fid));
    expect(dropped.kid! - full.kid!).toBeGreaterThan(2 * Math.hypot(full.sd.kid, dropped.sd.kid));
    expect(dropped.fidByClass![7]).toBeNull(); // no 7 was asked for
  });

  it(
    'a shifted copy in feature space: FID grows by exactly |delta|^2, KID matches a direct computation, ' + 'precision and recall fall',
    async () => {
      const x = await scored(heldOut, perClass(heldOut, 60));
      const base = await score(x, x);
      const d = x.dim;
      let mean = 0;
      for (const v of x.features) mean += v / x.features.length;
      const delta = Float32Array.from({ length: d }, (_, j) => (j % 2 ? 0.5 : -0.25) * mean);
      const shifted: ScoredSet = { ...x, features: x.features.map((v, i) => v + delta[i % d]!) };
      const m = await score(shifted, x);
      const d2 = delta.reduce((s, v) => s + v * v, 0);
      expect(m.fid).toBeCloseTo(base.fid + d2, 3);
      // KID of the shifted copy, term by term.
      const n = x.count;
      const dot = (a: Float32Array, i: number, b: Float32Array, j: number): number => {
        let s = 0;
        for (let t = 0; t < d; t++) s += a[i * d + t]! * b[j * d + t]!;
        return s;
      };
      let xx = 0;
      let yy = 0;
      let xy = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (i !== j) {
            xx += kidKernel(dot(shifted.features, i, shifted.features, j), d);
            yy += kidKernel(dot(x.features, i, x.features, j), d);
          }
          xy += kidKernel(dot(shifted.features, i, x.features, j), d);
        }
      }
      const kid = (xx + yy) / (n * (n - 1)) - (2 * xy) / (n * n);
      expect(Math.abs(m.kid - kid) / kid).toBeLessThan(1e-3);
      expect(m.precision).toBeLessThan(base.precision);
      expect(m.recall).toBeLessThan(base.recall);
    },
  );

  it(
    'requested classes: right labels score the per-class FID and accuracy of real digits, labels off by ' +
      'one score accuracy 0 and a far higher per-class FID',
    async () => {
      const idx = perClass(train, 60);
      const ref = await scored(heldOut, perClass(heldOut, 100));
      const right = await score(await scored(train, idx), ref);
      const wrong = await score(
        await scored(
          train,
          idx,
          Int32Array.from(idx, (i) => (train.labels[i]! + 1) % K),
        ),
        ref,
      );
      expect(right.accuracy!).toBeGreaterThan(0.97);
      expect(wrong.accuracy!).toBeLessThan(0.03);
      for (let c = 0; c < K; c++) expect(wrong.fidByClass![c]!).toBeGreaterThan(2 * right.fidByClass![c]!);
      expect(right.fid).toBeCloseTo(wrong.fid, 6); // the images are the same
    },
  );
});

describe('spreads', () => {
  it(
    'bootstrap spreads of FID, KID, precision and recall match the scatter of 8 independent draws of 400 ' +
      'real digits against 400 others',
    async () => {
      // Both sets drawn anew each time: the spread resamples the reference too.
      const draws: Metrics[] = [];
      for (let t = 0; t < 8; t++) {
        const ref = await prepareReference(gemm, await scored(train, perClass(train, 40, 8 + t)), K);
        draws.push(await scoreSet(gemm, await scored(train, perClass(train, 40, t)), ref, K, { bootstrap: t === 0 ? 40 : 0, seed: t }));
      }
      const sd = draws[0]!.sd;
      // KID's jackknife is conservative when both sets come from one distribution (the statistic is then
      // a degenerate U-statistic, whose noise shrinks like 1/n rather than 1/sqrt(n)): up to 4x here.
      for (const [name, spread, values, most] of [
        ['fid', sd.fid, draws.map((m) => m.fid!), 2.5],
        ['kid', sd.kid, draws.map((m) => m.kid!), 4],
        ['precision', sd.precision, draws.map((m) => m.precision!), 2.5],
        ['recall', sd.recall, draws.map((m) => m.recall!), 2.5],
      ] as const) {
        const scatter = standardDeviation([...values]);
        expect(spread / scatter, `${name}: bootstrap ${spread}, scatter of draws ${scatter}`).toBeGreaterThan(0.4);
        expect(spread / scatter, `${name}: bootstrap ${spread}, scatter of draws ${scatter}`).toBeLessThan(most);
      }
    },
  );

  it('weighted metrics: counts of 1 give the plain value, counts of 2 on half the samples give that half', async () => {
    const x = await scored(train, perClass(train, 20));
    const pred = predictedClasses(x.probs, x.count, K);
    const ones = new Float64Array(x.count).fill(1);
    expect(inceptionScore(x.probs, x.count, K, ones)).toBeCloseTo(inceptionScore(x.probs, x.count, K), 10);
    expect(accuracy(pred, x.labels!, ones)).toBe(accuracy(pred, x.labels!));
    const half = new Float64Array(x.count).map((_, i) => (x.labels![i]! < 5 ? 2 : 0));
    const hist = classHistogram(pred, K, half);
    expect(hist.slice(5).reduce((s, v) => s + v, 0)).toBeLessThan(0.03); // the judge's few mistakes
    // A resample keeps the size of each requested class (stratified).
    const w = resampleCounts(new Rng(1), x.count, x.labels);
    for (let c = 0; c < K; c++) expect(x.labels!.reduce((s, l, i) => s + (l === c ? w[i]! : 0), 0)).toBe(20);
  });

  it('the KID standard error is that of the jackknife: it shrinks like 1/sqrt(n)', async () => {
    const ref = await scored(heldOut, perClass(heldOut, 100));
    const gy = await setGeometry(gemm, ref.features, ref.count, ref.dim);
    const se = async (per: number): Promise<number> => {
      const x = await scored(train, perClass(train, per));
      const gx = await setGeometry(gemm, x.features, x.count, x.dim);
      return kernelInceptionDistance(gx, gy, await crossGeometry(gemm, x.features, gx, ref.features, gy, x.dim)).se;
    };
    const ratio = (await se(50)) / (await se(200));
    expect(ratio).toBeGreaterThan(1.4);
    expect(ratio).toBeLessThan(2.9);
  });
});
