// onnxgan eval: metric functions on analytic cases, the shipped judges, the command on deliberately
// broken generators, .npy inputs, --ref folders, clear errors, and the trained cgan (when models/cgan.onnx
// exists). tests/eval-metrics.test.ts checks the metrics on real digits with known answers.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Matrix } from 'ml-matrix';
import { ROOT, runCli } from './helpers/cli.js';
import {
  accuracy,
  accuracyByClass,
  classCoverage,
  classHistogram,
  frechetDistance,
  gaussianStats,
  inceptionScore,
  normalizedEntropy,
  predictedClasses,
  sqrtPsd,
  type Gaussian,
} from '../eval/metrics.js';
import { encodeNpy, parseNpy, readNpySamples } from '../eval/samples.js';
import { ELEM, GraphBuilder } from '../common/onnx-graph.js';
import { IO, metadataToProps, IMAGE_PIXELS, DIGIT_CLASSES } from '../common/metadata.js';
import { FASHION_DIR, loadData } from '../data/sources.js';
import { Rng } from '../common/rng.js';
import type { EvalReport } from '../eval/evaluate.js';
import { tempDir } from './helpers/temp-dir.js';
import { ICON_CLASSES, writeIconSet } from './helpers/image-sets.js';

const tmp = tempDir('onnxgan-eval-');
const CGAN = path.join(ROOT, 'models', 'cgan.onnx');

const gaussian = (mean: number[], cov: number[][]): Gaussian => ({
  dim: mean.length,
  mean: Float64Array.from(mean),
  cov: Float64Array.from(cov.flat()),
});

/** n rows of dim values: N(0,1) from a seeded generator. */
function normalRows(n: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * dim }, () => rng.normal());
}

describe('eval metrics (analytic cases)', () => {
  it('Fréchet distance: identical Gaussians give 0, shifted means give the squared distance', () => {
    const x = normalRows(500, 8, 1);
    const p = gaussianStats(x, 500, 8);
    expect(frechetDistance(p, p)).toBeCloseTo(0, 6);
    const shift = [1, -2, 0.5, 0, 0, 3, 0, -1];
    const y = x.map((v, i) => v + shift[i % 8]!);
    const d2 = shift.reduce((s, v) => s + v * v, 0);
    expect(frechetDistance(p, gaussianStats(y, 500, 8))).toBeCloseTo(d2, 4);
  });

  it('Fréchet distance: diagonal covariances give sum (sqrt a - sqrt b)^2; 2x2 matches the closed form', () => {
    const a = gaussian(
      [0, 0, 0],
      [
        [4, 0, 0],
        [0, 1, 0],
        [0, 0, 9],
      ],
    );
    const b = gaussian(
      [1, 0, 0],
      [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 4],
      ],
    );
    expect(frechetDistance(a, b)).toBeCloseTo(1 + (2 - 1) ** 2 + 0 + (3 - 2) ** 2, 8);
    // Non-commuting 2x2: tr sqrt(S1 S2) = sqrt(tr(S1 S2) + 2 sqrt(det(S1 S2))).
    const s1 = [
      [2, 1],
      [1, 2],
    ];
    const s2 = [
      [3, -1],
      [-1, 1],
    ];
    const m = new Matrix(s1).mmul(new Matrix(s2));
    const det = m.get(0, 0) * m.get(1, 1) - m.get(0, 1) * m.get(1, 0);
    const trSqrt = Math.sqrt(m.trace() + 2 * Math.sqrt(det));
    const expected = 0.25 + 4 + 4 - 2 * trSqrt;
    expect(frechetDistance(gaussian([0.5, 0], s1), gaussian([0, 0], s2))).toBeCloseTo(expected, 8);
  });

  it('sqrtPsd squares back; gaussianStats is the unbiased covariance', () => {
    const s = new Matrix([
      [5, 2, 0],
      [2, 3, 1],
      [0, 1, 2],
    ]);
    const r = sqrtPsd(s);
    const back = r.mmul(r);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(back.get(i, j)).toBeCloseTo(s.get(i, j), 9);
    const g = gaussianStats(Float32Array.from([1, 2, 3, 6]), 2, 2);
    expect([...g.mean]).toEqual([2, 4]);
    expect([...g.cov]).toEqual([2, 4, 4, 8]);
  });

  it('Inception score: K for confident, evenly spread predictions; 1 for one class or for uniform guesses', () => {
    const k = 10;
    const oneHot = new Float32Array(100 * k).map((_, i) => (i % k === Math.floor(i / k) % k ? 1 : 0));
    expect(inceptionScore(oneHot, 100, k)).toBeCloseTo(10, 5);
    const same = new Float32Array(100 * k).map((_, i) => (i % k === 3 ? 1 : 0));
    expect(inceptionScore(same, 100, k)).toBeCloseTo(1, 6);
    expect(inceptionScore(new Float32Array(100 * k).fill(0.1), 100, k)).toBeCloseTo(1, 6);
    // Two equally likely confident classes: IS = 2.
    const two = new Float32Array(100 * k).map((_, i) => (i % k === (Math.floor(i / k) % 2) * 5 ? 1 : 0));
    expect(inceptionScore(two, 100, k)).toBeCloseTo(2, 5);
  });

  it('coverage, normalised entropy, accuracy', () => {
    const uniform = new Array(10).fill(0.1);
    expect(classCoverage(uniform)).toBe(10);
    expect(normalizedEntropy(uniform)).toBeCloseTo(1, 12);
    const single = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    expect(classCoverage(single)).toBe(1);
    expect(normalizedEntropy(single)).toBe(0);
    expect(classCoverage([0.02, 0.0199, 0.9601, 0, 0, 0, 0, 0, 0, 0])).toBe(2); // >= 2% counts
    expect(normalizedEntropy([0.5, 0.5, 0, 0])).toBeCloseTo(0.5, 12);
    const probs = Float32Array.from([0.1, 0.9, 0.8, 0.2, 0.3, 0.7]);
    const pred = predictedClasses(probs, 3, 2);
    expect([...pred]).toEqual([1, 0, 1]);
    expect(classHistogram(pred, 2)).toEqual([1 / 3, 2 / 3]);
    expect(accuracy(pred, Int32Array.from([1, 1, 1]))).toBeCloseTo(2 / 3, 12);
    expect(accuracyByClass(pred, Int32Array.from([1, 1, 0]), 3)).toEqual([0, 1 / 2, null]); // class 2 never asked for
  });
});

describe('.npy samples', () => {
  it('round-trips float32, uint8 and int64 arrays and reads the sibling labels file', () => {
    const f = Float32Array.from({ length: 3 * IMAGE_PIXELS }, (_, i) => ((i % 7) - 3) / 3);
    const a = parseNpy(encodeNpy(f, [3, 1, 28, 28]), 'x.npy');
    expect(a.dtype).toBe('<f4');
    expect(a.shape).toEqual([3, 1, 28, 28]);
    expect([...a.data]).toEqual([...f]);
    const u = Uint8Array.from({ length: 2 * IMAGE_PIXELS }, (_, i) => i % 256);
    const file = path.join(tmp, 'u8.npy');
    writeFileSync(file, encodeNpy(u, [2, 28, 28]));
    writeFileSync(path.join(tmp, 'u8.labels.npy'), encodeNpy(BigInt64Array.from([7n, 2n]), [2]));
    const s = readNpySamples(file, 100, 10);
    expect(s.count).toBe(2);
    expect([...s.labels!]).toEqual([7, 2]);
    expect(s.images[0]).toBe(-1);
    expect(s.images[255]).toBe(1);
  });

  it('rejects wrong shapes, ranges and labels with clear messages', () => {
    const bad = path.join(tmp, 'bad-shape.npy');
    writeFileSync(bad, encodeNpy(new Float32Array(4 * 32 * 32), [4, 32, 32]));
    expect(() => readNpySamples(bad, 100, 10)).toThrow(/shape \[4,32,32\]; expected \[n, 784\], \[n, 28, 28\] or \[n, 1, 28, 28\]/);
    const range = path.join(tmp, 'range.npy');
    writeFileSync(range, encodeNpy(new Float32Array(2 * IMAGE_PIXELS).fill(255), [2, 784]));
    expect(() => readNpySamples(range, 100, 10)).toThrow(/must be in \[-1, 1\].*save them as uint8/);
    const lab = path.join(tmp, 'lab.npy');
    writeFileSync(lab, encodeNpy(new Float32Array(2 * IMAGE_PIXELS), [2, 784]));
    writeFileSync(path.join(tmp, 'lab.labels.npy'), encodeNpy(Int32Array.from([1, 12]), [2]));
    expect(() => readNpySamples(lab, 100, 10)).toThrow(/label 12 at index 1 is out of range 0..9/);
    expect(() => parseNpy(Buffer.from('hello world, not numpy'), 'junk.npy')).toThrow(/not a NumPy .npy file/);
  });
});

/** A tiny cgan-kind ONNX generator: tanh(noise @ W) (noise images) or a constant image. */
function brokenGenerator(file: string, mode: 'noise' | 'constant' | 'no-metadata', constant?: Float32Array): void {
  const g = new GraphBuilder();
  const noise = g.input(IO.noise, ELEM.float, ['N', 100]);
  g.input(IO.label, ELEM.int64, ['N']);
  const rng = new Rng(5);
  const w =
    mode === 'constant'
      ? new Float32Array(100 * IMAGE_PIXELS)
      : Float32Array.from({ length: 100 * IMAGE_PIXELS }, () => rng.normal() * 0.3);
  const mm = g.node('MatMul', [noise, g.weight('w', w, [100, IMAGE_PIXELS])]);
  const pre = mode === 'constant' ? g.node('Add', [mm, g.weight('b', constant!, [IMAGE_PIXELS])]) : g.node('Tanh', [mm]);
  g.node('Reshape', [pre, g.int64('shape', [-1, 1, 28, 28])]);
  g.renameLast(IO.image);
  g.output(IO.image, ELEM.float, ['N', 1, 28, 28]);
  const meta =
    mode === 'no-metadata'
      ? {}
      : metadataToProps({
          kind: 'cgan',
          noiseDim: 100,
          noise: 'uniform(-1,1)',
          classes: DIGIT_CLASSES,
          dataset: 'mnist',
          epochs: 0,
          steps: 0,
          valueRange: [-1, 1],
          imageShape: [1, 28, 28],
        });
  writeFileSync(file, g.model('broken', meta, { name: 'eval-test', version: '0' }));
}

async function evalJson(args: string[]): Promise<EvalReport> {
  const r = await runCli(['eval', ...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as EvalReport;
}

/** An IDX folder (train split only) of images [n, 784] in [-1, 1] with their labels. */
function writeIdxDir(dir: string, images: Float32Array, labels: Int32Array): string {
  mkdirSync(dir, { recursive: true });
  const n = labels.length;
  const imgs = Buffer.alloc(16 + n * IMAGE_PIXELS);
  imgs.writeUInt32BE(0x803, 0);
  imgs.writeUInt32BE(n, 4);
  imgs.writeUInt32BE(28, 8);
  imgs.writeUInt32BE(28, 12);
  for (let i = 0; i < n * IMAGE_PIXELS; i++) imgs[16 + i] = Math.round(((images[i]! + 1) / 2) * 255);
  const lbls = Buffer.alloc(8 + n);
  lbls.writeUInt32BE(0x801, 0);
  lbls.writeUInt32BE(n, 4);
  labels.forEach((l, i) => (lbls[8 + i] = l));
  writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(imgs));
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), lbls);
  return dir;
}

/** The digits of `ds` whose label passes `keep`. */
function digits(keep: (label: number) => boolean, ds = loadData('mnist').heldOut): { images: Float32Array; labels: Int32Array } {
  const idx: number[] = [];
  ds.labels.forEach((l, i) => keep(l) && idx.push(i));
  const images = new Float32Array(idx.length * IMAGE_PIXELS);
  idx.forEach((src, r) => images.set(ds.images.subarray(src * IMAGE_PIXELS, (src + 1) * IMAGE_PIXELS), r * IMAGE_PIXELS));
  return { images, labels: Int32Array.from(idx, (i) => ds.labels[i]!) };
}

describe('onnxgan eval', () => {
  const noiseGen = path.join(tmp, 'noise.onnx');
  const constGen = path.join(tmp, 'constant.onnx');
  beforeAll(() => {
    const { train } = loadData('mnist');
    brokenGenerator(noiseGen, 'noise');
    brokenGenerator(constGen, 'constant', train.images.slice(0, IMAGE_PIXELS)); // one real digit
  });

  it('evaluate(): the report judge by default; both shipped mnist judges classify >= 97% of the held-out digits', async () => {
    const { evaluate } = await import('../eval/evaluate.js');
    const r = await evaluate({ input: constGen, n: 200, ceiling: false, bootstrap: 0 });
    expect(r.data).toBe('mnist');
    expect(r.judge.role).toBe('report');
    expect(r.judge.file).toMatch(/judge-report-mnist\.json$/);
    expect(r.judge.heldOutCount).toBe(1000);
    expect(r.judge.heldOutAccuracy).toBeGreaterThanOrEqual(0.98);
    expect(r.generator.n).toBe(200);
    expect(r.ceiling).toBeNull();
    const s = await evaluate({ input: constGen, n: 200, ceiling: false, bootstrap: 0, judge: 'select' });
    expect(s.judge.role).toBe('select');
    expect(s.judge.heldOutAccuracy).toBeGreaterThanOrEqual(0.97);
  });

  // Fashion-MNIST's report judge (`onnxgan eval --retrain-judge --data fashion`: 0.884) ships; should
  // its file be missing, fashion is scored by its select judge (eval says so), and that is checked.
  const FASHION_REPORT = path.join(ROOT, 'models', 'judge-report-fashion.json');
  const fashionJudges = existsSync(FASHION_REPORT) ? (['report', 'select'] as const) : (['select'] as const);
  it.skipIf(!existsSync(FASHION_DIR))(
    `the shipped fashion judges (${fashionJudges.join(', ')}) classify >= 88% (report) and 89% (select) of the t10k images`,
    async () => {
      const { loadJudge } = await import('../eval/judges.js');
      const { heldOut } = loadData('fashion');
      for (const which of fashionJudges) {
        const judge = await loadJudge(which, 'fashion');
        const { probs } = await judge.predict(heldOut.images, heldOut.count);
        expect(accuracy(predictedClasses(probs, heldOut.count, 10), heldOut.labels), which).toBeGreaterThanOrEqual(
          which === 'report' ? 0.88 : 0.89,
        );
        await judge.release();
      }
      if (!existsSync(FASHION_REPORT)) {
        const { evaluate } = await import('../eval/evaluate.js');
        const r = await evaluate({ input: 'fashion', data: 'fashion', n: 200, ceiling: false, bootstrap: 0 });
        expect(r.judge.role).toBe('select');
        expect(r.notes.join(' ')).toMatch(/no report judge for fashion .*these numbers are the select judge's/);
      }
    },
  );

  it(
    'prints every metric with its spread and the judge that produced it, the real-image ceiling beside ' + 'it, and progress on stderr',
    async () => {
      const r = await runCli(['eval', constGen, '--n', '500']);
      expect(r.code, r.stderr).toBe(0);
      for (const label of [
        'metric (report judge)',
        'FID',
        'KID',
        'precision',
        'recall',
        'density',
        'coverage of the reference',
        'Inception score',
        'classes with >= 2%',
        'class entropy',
        'requested-class accuracy',
        'ceiling (real)',
        'held-out accuracy',
        'predicted classes',
        'accuracy by requested class',
        'FID by requested class',
        'bootstrap resamples',
      ]) {
        expect(r.stdout).toContain(label);
      }
      expect(r.stdout).toMatch(/FID \(lower is better\) +[\d.]+ ± [\d.]+ +[\d.]+ ± [\d.]+/);
      for (const stage of ['sampling 500 images', 'scoring 500 images', 'bootstrap spread', 'real training images (ceiling)'])
        expect(r.stderr).toContain(stage);
    },
  );

  it('fails a generator that always draws the same image (mode collapse)', async () => {
    const j = await evalJson([constGen, '--n', '500']);
    const g = j.generator;
    expect(g.n).toBe(500);
    expect(g.coverage).toBe(1);
    expect(g.entropy).toBeLessThan(0.05);
    expect(g.inceptionScore).toBeLessThan(1.1);
    expect(g.accuracy!).toBeLessThan(0.15);
    expect(g.recall).toBeLessThan(0.05);
    expect(g.realCoverage).toBeLessThan(0.1);
    const c = j.ceiling!;
    expect(c.coverage).toBe(10);
    expect(c.recall).toBeGreaterThan(0.5);
    // 500 real digits cover ~0.8 of the 1,000 held-out ones' balls (0.798 with the report judge); one image covers < 0.1.
    expect(c.realCoverage).toBeGreaterThan(0.75);
    expect(c.kid).toBeLessThan(g.kid / 20);
    expect(j.generator.sd.replicates).toBe(30);
    expect(c.sd.fid).toBeGreaterThan(0);
    expect(c.entropy).toBeGreaterThan(0.98);
    expect(c.inceptionScore).toBeGreaterThan(8);
    expect(c.accuracy!).toBeGreaterThan(0.97);
    expect(c.fid).toBeLessThan(g.fid / 20);
    expect(j.judge.heldOutAccuracy).toBeGreaterThanOrEqual(0.97);
  });

  it('fails a generator of noise images', async () => {
    const j = await evalJson([noiseGen, '--n', '500', '--no-ceiling']);
    const g = j.generator;
    expect(j.ceiling).toBeNull();
    expect(g.accuracy!).toBeLessThan(0.3);
    expect(g.coverage).toBeLessThanOrEqual(5);
    expect(g.entropy).toBeLessThan(0.7);
    expect(g.fid).toBeGreaterThan(50);
    expect(g.precision).toBeLessThan(0.05);
    expect(g.density).toBeLessThan(0.05);
  });

  it('scores .npy samples: real digits as uint8 [n,28,28] with labels reach the ceiling', async () => {
    const { heldOut } = loadData('mnist');
    const n = 500;
    const u8 = Uint8Array.from(heldOut.images.subarray(0, 1000 * IMAGE_PIXELS), (v) => Math.round(((v + 1) / 2) * 255));
    const file = path.join(tmp, 'real.npy');
    writeFileSync(file, encodeNpy(u8, [1000, 28, 28]));
    writeFileSync(path.join(tmp, 'real.labels.npy'), encodeNpy(heldOut.labels, [1000]));
    const j = await evalJson([file, '--n', String(n), '--no-ceiling']);
    expect(j.generator.n).toBe(n);
    expect(j.generator.accuracy!).toBeGreaterThan(0.97);
    expect(j.source).toMatch(/npy \|u1 \[1000,28,28\] \+ labels/);
  });

  it('reports bad inputs and a missing judge clearly', async () => {
    const bad = path.join(tmp, 'wrong.npy');
    writeFileSync(bad, encodeNpy(new Float32Array(10 * 100), [10, 100]));
    const shape = await runCli(['eval', bad]);
    expect(shape.code).toBe(1);
    expect(shape.stderr).toMatch(/onnxgan eval: .*wrong\.npy: samples have shape \[10,100\]; expected/);
    const plain = path.join(tmp, 'plain.onnx');
    brokenGenerator(plain, 'no-metadata');
    const notOurs = await runCli(['eval', plain]);
    expect(notOurs.code).toBe(1);
    expect(notOurs.stderr).toMatch(/plain\.onnx: missing metadata onnxgan\.kind: not an onnxgan generator/);
    const garbage = path.join(tmp, 'garbage.onnx');
    writeFileSync(garbage, 'this is not a protobuf');
    const g = await runCli(['eval', garbage]);
    expect(g.code).toBe(1);
    expect(g.stderr).toMatch(/garbage\.onnx: not a valid ONNX file/);
    const missing = await runCli(['eval', constGen, '--judge', path.join(tmp, 'nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/judge file .*nope\.json not found \(--judge takes report, select or a judge file\)/);
    const none = await runCli(['eval']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/give a generator/);
    const noRef = await runCli(['eval', constGen, '--ref', path.join(tmp, 'no-such-folder')]);
    expect(noRef.code).toBe(1);
    expect(noRef.stderr).toMatch(/no-such-folder/);
    const tooMany = await runCli(['eval', constGen, '--ref', 'mnist', '--ref', 'mnist']);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toMatch(/not both/);
    const brokenJudge = path.join(tmp, 'judge-broken.json');
    writeFileSync(brokenJudge, '{"format":"onnxgan-report-judge","version":1,"classes":["a","b"],"imageShape":[1,28,28],"weights":{}}');
    const bj = await runCli(['eval', constGen, '--judge', brokenJudge]);
    expect(bj.code).toBe(1);
    expect(bj.stderr).toMatch(/judge-broken\.json: weight conv1\/kernel missing/);
    for (const r of [shape, notOurs, g, missing, noRef, tooMany, bj]) {
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it(
    '--ref DIR scores against a folder, --ref A --ref B compares two folders (identical sets: FID 0, ' + 'precision and recall 1)',
    async () => {
      const all = digits(() => true);
      const dirAll = writeIdxDir(path.join(tmp, 'ref-all'), all.images, all.labels);
      const low = digits((l) => l < 5);
      const dirLow = writeIdxDir(path.join(tmp, 'ref-low'), low.images, low.labels);
      const same = await evalJson(['--ref', dirAll, '--ref', dirAll, '--bootstrap', '5']);
      expect(same.ceiling).toBeNull();
      expect(same.reference.count).toBe(1000);
      expect(same.generator.n).toBe(1000);
      expect(same.generator.fid).toBeLessThan(0.05); // 8-bit rounding of the IDX copy
      expect(same.generator.precision).toBe(1);
      expect(same.generator.recall).toBe(1);
      expect(same.generator.accuracy!).toBeGreaterThan(0.97); // real labels: the judge's accuracy
      const half = await evalJson(['--ref', dirLow, '--ref', dirAll, '--bootstrap', '5']);
      expect(half.generator.coverage).toBe(5);
      expect(half.generator.realCoverage).toBeLessThan(0.65);
      expect(half.generator.recall).toBeLessThan(0.65);
      expect(half.generator.fidByClass!.slice(5)).toEqual([null, null, null, null, null]);
      const model = await evalJson([constGen, '--n', '300', '--ref', dirLow, '--bootstrap', '0']);
      expect(model.reference.source).toContain(dirLow);
      expect(model.reference.count).toBe(500);
      expect(model.notes.join(' ')).toMatch(/no ceiling with --ref/);
      expect(model.generator.sd.replicates).toBe(0);
    },
  );

  it('--retrain-judge trains a report or a select judge for an IDX folder and writes it atomically', async () => {
    // A small IDX folder (600 training digits, no t10k: 10% is held out) keeps this to a minute.
    const { train } = loadData('mnist');
    const n = 600;
    const pick = Array.from({ length: n }, (_, i) => Math.floor((i * train.count) / n));
    const images = new Float32Array(n * IMAGE_PIXELS);
    pick.forEach((src, i) => images.set(train.images.subarray(src * IMAGE_PIXELS, (src + 1) * IMAGE_PIXELS), i * IMAGE_PIXELS));
    const dir = writeIdxDir(
      path.join(tmp, 'tiny'),
      images,
      Int32Array.from(pick, (i) => train.labels[i]!),
    );
    const reportFile = path.join(tmp, 'judge-report-tiny.json');
    const r = await runCli(['eval', '--retrain-judge', '--data', dir, '--judge', reportFile, '--judge-epochs', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/training the report judge for tiny on 540 images for 2 epochs/);
    expect(r.stderr).toMatch(/epoch 2\/2 step 4\/4: loss [\d.]+, augmented training accuracy/);
    expect(r.stderr).toMatch(/wrote .*judge-report-tiny\.json: held-out accuracy 0\.\d+ on 60 images/);
    const j = await evalJson([constGen, '--n', '100', '--data', dir, '--judge', reportFile]);
    expect(j.judge.role).toBe('report');
    expect(j.judge.heldOutCount).toBe(60);
    expect(j.generator.coverage).toBeLessThanOrEqual(1);
    const selectFile = path.join(tmp, 'judge-tiny.json');
    writeFileSync(selectFile, readFileSync(path.join(ROOT, 'models', 'judge-mnist.json'))); // an existing select judge is retrained as one
    const s = await runCli(['eval', '--retrain-judge', '--data', dir, '--judge', selectFile, '--judge-epochs', '1']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/epoch 1\/1: loss [\d.]+, held-out accuracy/);
    expect((await evalJson([constGen, '--n', '100', '--data', dir, '--judge', selectFile, '--bootstrap', '0'])).judge.role).toBe('select');
  });

  it(
    'a generator trained on an image folder is scored against that folder by a judge trained for it on ' + 'first use, then cached',
    async () => {
      // Colour icons at 16 x 16: not the digits' shape, so the folder's judge takes the folder's images.
      process.env.ONNXGAN_CACHE_DIR = path.join(tmp, 'cache'); // inherited by the CLI children: a fresh judge cache
      const dir = path.join(tmp, 'icons');
      writeIconSet(dir);
      const run = path.join(tmp, 'icons-run');
      const model = path.join(tmp, 'icons.onnx');
      const t = await runCli([
        'train',
        '--model',
        'gan',
        '--data',
        dir,
        '--image-size',
        '16',
        '--epochs',
        '1',
        '--batch',
        '64',
        '--out',
        run,
      ]);
      expect(t.code, t.stderr).toBe(0);
      expect((await runCli(['export', run, '--out', model])).code).toBe(0);
      const first = await runCli(['eval', model, '--n', '200', '--bootstrap', '3', '--json']);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toMatch(/training the judge for icons@\w+ \(first eval of this data set\)/);
      const r = JSON.parse(first.stdout) as EvalReport;
      expect(r.data).toBe(dir);
      expect(r.judge.imageShape).toEqual([3, 16, 16]);
      expect(r.judge.classes).toEqual(ICON_CLASSES);
      expect(r.judge.file.startsWith(path.join(tmp, 'cache', 'judges'))).toBe(true);
      expect(r.judge.heldOutAccuracy).toBeGreaterThan(1 / 3); // three classes: chance is 1/3
      expect(r.notes.join(' ')).toMatch(/image folders have no shipped judge: .*the report judge's architecture and augmentation/);
      expect(r.judge.role).toBe('report');
      expect(r.generator.sd.replicates).toBe(3);
      expect(r.ceiling!.n).toBe(200);
      const second = await runCli(['eval', model, '--n', '200', '--bootstrap', '0', '--json']);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).not.toMatch(/training the judge/); // cached
      expect((JSON.parse(second.stdout) as EvalReport).judge.file).toBe(r.judge.file);
    },
    900_000,
  ); // trains a GAN and a judge: minutes on a shared 2-core machine

  // Issue 6's goal (requested-class accuracy >= 0.95) was set and met with the select judge (0.980 at
  // n = 5000); the report judge counts 0.943 at n = 5000 (its 8s and 9s: bench/RESULTS.md), so the goal
  // is checked with the judge it was defined by, and the report judge's count is guarded from
  // regressions. A generator that ignores its label scores 0.1.
  const CGAN_MIN_ACCURACY = 0.95;
  const CGAN_MIN_REPORT_ACCURACY = 0.9;
  const cganTitle = existsSync(CGAN)
    ? `the trained cgan (models/cgan.onnx) draws the requested digit >= ${CGAN_MIN_ACCURACY * 100}% of the ` +
      `time by the select judge, >= ${CGAN_MIN_REPORT_ACCURACY * 100}% by the report judge (n=500)`
    : `SKIPPED: models/cgan.onnx is absent (train and export it: see README) - requested-class accuracy >= ${CGAN_MIN_ACCURACY}`;
  it.skipIf(!existsSync(CGAN))(cganTitle, async () => {
    const j = await evalJson([CGAN, '--n', '500', '--judge', 'select']);
    expect(j.kind).toBe('cgan');
    expect(j.generator.accuracy!).toBeGreaterThanOrEqual(CGAN_MIN_ACCURACY);
    expect(j.generator.coverage).toBe(10);
    const r = await evalJson([CGAN, '--n', '500']);
    expect(r.judge.role).toBe('report');
    expect(r.generator.accuracy!).toBeGreaterThanOrEqual(CGAN_MIN_REPORT_ACCURACY);
    expect(r.generator.accuracy!).toBeLessThan(j.generator.accuracy!); // the select judge flatters it
  });
});
