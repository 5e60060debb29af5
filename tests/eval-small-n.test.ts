// Small sets: known answers on constructed features (identical sets, shifted Gaussians, points on a
// line), every metric against the reference n/a with its reason below eval/sample-size.ts's sizes
// (no crash for any n >= 1), spreads that include the reference's noise, and the CLI on tiny folders.
import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { Rng } from '../common/rng.js';
import { kidKernel } from '../eval/feature-pairs.js';
import { matrixProducts, type MatrixProducts } from '../backend/ort-matmul.js';
import { MIN_IMAGES } from '../eval/sample-size.js';
import { prepareReference, scoreSet, type Metrics, type ScoredSet } from '../eval/score.js';
import type { EvalReport } from '../eval/evaluate.js';
import { runCli } from './helpers/cli.js';
import { writeFashionPngs } from './helpers/image-sets.js';
import { tempDir } from './helpers/temp-dir.js';

const K = 2;
let gemm: MatrixProducts;
beforeAll(() => {
  gemm = matrixProducts();
});

/** A set of feature rows (judge outputs without a judge: even class probabilities). */
const set = (features: Float32Array, dim: number): ScoredSet => {
  const count = features.length / dim;
  return { features, probs: new Float32Array(count * K).fill(1 / K), count, dim, labels: null };
};

/** n rows of N(mean, I) in `dim` dimensions, seeded. */
function gaussian(n: number, dim: number, seed: number, shift = 0): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * dim }, (_, i) => rng.normal() + (i % dim === 0 ? shift : 0));
}

const score = async (x: ScoredSet, y: ScoredSet, bootstrap = 20): Promise<Metrics> =>
  scoreSet(gemm, x, await prepareReference(gemm, y, K), K, { bootstrap, seed: 1 });

describe('known answers at small n', () => {
  it('identical sets of 100: FID 0, KID just below 0 (by at most 2 mean k(x, x) / n), precision = recall = coverage = 1', async () => {
    const x = set(gaussian(100, 8, 1), 8);
    const m = await score(x, x);
    expect(m.fid!).toBeLessThan(1e-6);
    // A set against itself: KID = 2 (mean k(x_i, x_l) - mean k(x_i, x_i)) / n.
    let diagonal = 0;
    for (let i = 0; i < x.count; i++)
      diagonal +=
        kidKernel(
          x.features.subarray(i * 8, i * 8 + 8).reduce((s, v) => s + v * v, 0),
          8,
        ) / x.count;
    expect(m.kid!).toBeLessThanOrEqual(0);
    expect(m.kid!).toBeGreaterThan((-2 * diagonal) / x.count);
    expect([m.precision, m.recall, m.realCoverage]).toEqual([1, 1, 1]);
  });

  it(
    'two draws of one Gaussian at n = 100: KID within 3 spreads of 0; N(0, I) against N(10 e1, I) in 4 ' +
      'dimensions: FID within 3 spreads of 100',
    async () => {
      const same = await score(set(gaussian(100, 8, 2), 8), set(gaussian(100, 8, 3), 8));
      expect(Math.abs(same.kid!)).toBeLessThan(3 * same.sd.kid);
      const far = await score(set(gaussian(400, 4, 4, 10), 4), set(gaussian(400, 4, 5), 4));
      expect(Math.abs(far.fid! - 100)).toBeLessThan(3 * far.sd.fid);
      expect(far.sd.fid).toBeGreaterThan(1); // the mean's noise alone: 2 |delta| sqrt(2 / 400) = 1.4
      expect([far.precision, far.recall, far.realCoverage]).toEqual([0, 0, 0]);
    },
  );

  it('points on a line: 50 fakes halfway between the first 51 of 100 reals give precision 1, recall and coverage 53/100', async () => {
    // Reals at 0..99: k = 3 balls of radius 2 (3 at the ends), k = 5 balls of radius 3. Fakes at
    // 0.5..49.5: k = 3 balls of radius 2 (3 at the ends), so reals 0..52 are recalled and covered.
    const line = (values: number[]): ScoredSet => set(Float32Array.from(values.flatMap((v) => [v, 0])), 2);
    const m = await score(line(Array.from({ length: 50 }, (_, i) => i + 0.5)), line(Array.from({ length: 100 }, (_, i) => i)), 0);
    expect(m.precision).toBe(1);
    expect(m.recall).toBe(0.53);
    expect(m.realCoverage).toBe(0.53);
  });
});

describe('too few images', () => {
  it('no crash for any n >= 1 or reference of 1..5: each metric against the reference is n/a with its reason', async () => {
    const big = set(gaussian(120, 8, 6), 8);
    for (const [n, m] of [
      [1, 120],
      [2, 120],
      [5, 120],
      [120, 1],
      [120, 5],
      [3, 3],
    ] as const) {
      const r = await score(n === 120 ? big : set(gaussian(n, 8, 7), 8), m === 120 ? big : set(gaussian(m, 8, 8), 8), 5);
      expect([r.fid, r.kid, r.precision, r.recall, r.density, r.realCoverage], `${n} vs ${m}`).toEqual([
        null,
        null,
        null,
        null,
        null,
        null,
      ]);
      const short = n < m ? `here ${n} scored:` : m < n ? `here ${m} reference:` : `here ${n} scored and ${m} reference:`;
      expect(r.unavailable.fid).toContain(`FID needs at least ${MIN_IMAGES.fid} images in each set, ${short}`);
      expect(r.unavailable.kid).toContain(`KID needs at least ${MIN_IMAGES.kid}`);
      expect(r.unavailable.neighbours).toMatch(/^precision, recall, density and coverage need at least/);
      expect(r.inceptionScore).toBeGreaterThan(0); // the scored set's own metrics still count
    }
    const edge = await score(set(gaussian(MIN_IMAGES.fid, 8, 9), 8), big, 5);
    expect(edge.fid).not.toBeNull();
    expect(edge.kid).toBeNull(); // KID needs more
    expect(edge.unavailable).toEqual({ kid: expect.stringContaining('here 50 scored') });
  });

  it("the spread includes the reference's noise: against 100 reference images it is wider than against 1,000", async () => {
    const x = set(gaussian(1000, 8, 10, 0.3), 8);
    const small = await score(x, set(gaussian(100, 8, 11), 8));
    const large = await score(x, set(gaussian(1000, 8, 12), 8));
    for (const name of ['fid', 'kid', 'recall', 'density'] as const) expect(small.sd[name], name).toBeGreaterThan(1.5 * large.sd[name]);
  });
});

describe('onnxgan eval on tiny folders of real images', () => {
  const tmp = tempDir('onnxgan-small-n-');
  it(
    'a folder against itself: FID 0, KID just below 0, precision and recall 1; against a 4-image ' +
      'reference: n/a with the reason, exit 0',
    async () => {
      const a = path.join(tmp, 'a');
      const b = path.join(tmp, 'b');
      await writeFashionPngs(a, 12); // 120 images
      await writeFashionPngs(b, 2, [0, 1]); // 4 images
      const same = await runCli(['eval', '--ref', a, '--ref', a, '--bootstrap', '10', '--json']);
      expect(same.code, same.stderr).toBe(0);
      const r = (JSON.parse(same.stdout) as EvalReport).generator;
      expect(r.n).toBe(120);
      expect(r.fid!).toBeLessThan(0.01);
      expect(r.kid!).toBeLessThanOrEqual(0); // a set against itself: 2 (mean k(x_i, x_l) - mean k(x_i, x_i)) / n
      expect(r.kid!).toBeGreaterThan(-0.05);
      expect([r.precision, r.recall]).toEqual([1, 1]);
      const tiny = await runCli(['eval', '--ref', a, '--ref', b, '--bootstrap', '5']);
      expect(tiny.code, tiny.stderr).toBe(0);
      expect(tiny.stdout).toMatch(/FID \(lower is better\)\s+n\/a/);
      expect(tiny.stdout).toContain('n/a (scored): FID needs at least 50 images in each set, here 4 reference');
      expect(tiny.stdout).toContain(
        'n/a (scored): precision, recall, density and coverage need at least 50 images in each set, here 4 reference',
      );
      expect(tiny.stdout).toMatch(/spread: .* resamples of both the scored images and the reference images/);
    },
    60_000,
  );
});
