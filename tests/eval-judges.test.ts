// The judges: the report judge's training gradients, its ONNX graph against its tfjs forward pass
// (and the select judge's), the shipped report judge's accuracy and its robustness to the shortcuts
// its augmentation removes, and a report judge for another image shape (colour).
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { IMAGE_PIXELS, type ImageShape } from '../common/metadata.js';
import { Rng } from '../common/rng.js';
import { selectBackend } from '../backend/select.js';
import { loadData } from '../data/sources.js';
import type { Dataset } from '../data/dataset.js';
import { augmentInto, REPORT_AUGMENTATION } from '../eval/augment.js';
import { judgePath, retrainCommand } from '../eval/judge.js';
import { readJudgeModel } from '../eval/judge-file.js';
import { conv2dSame, tfjsForward } from '../eval/judge-net.js';
import { judgeOnnx } from '../eval/judge-onnx.js';
import { JudgeSession } from '../eval/judge-session.js';
import { featureDim, REPORT_SPEC, type JudgeRole } from '../eval/judge-spec.js';
import { loadJudge, trainAndSaveJudge } from '../eval/judges.js';
import { accuracy, predictedClasses } from '../eval/metrics.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('onnxgan-judges-');
let heldOut: Dataset;
let train: Dataset;

beforeAll(async () => {
  await selectBackend('auto');
  ({ train, heldOut } = loadData('mnist'));
});

const shipped = (role: JudgeRole, data = 'mnist') => readJudgeModel(judgePath(role, data), retrainCommand(role, data));

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** The reference convolution: im2col (shifted slices) + matMul, differentiated by tfjs itself. */
function im2colConv(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const k = kernel.shape[0];
  const p = (k - 1) / 2;
  const padded = tf.pad(x, [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ]);
  const cols: tf.Tensor4D[] = [];
  for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) cols.push(tf.slice(padded, [0, dy, dx, 0], [n, h, w, c]));
  const patches = tf.reshape(tf.concat(cols, 3), [n * h * w, k * k * c]);
  return tf.reshape(tf.matMul(patches, tf.reshape(kernel, [k * k * c, kernel.shape[3]])), [n, h, w, kernel.shape[3]]);
}

async function accuracyOf(judge: { predict: JudgeSession['predict'] }, images: Float32Array, labels: Int32Array): Promise<number> {
  const { probs } = await judge.predict(images, labels.length);
  return accuracy(predictedClasses(probs, labels.length, 10), labels);
}

describe('report judge network', () => {
  it(
    'its convolution gradients (forward convolutions, fast on wasm) equal autodiff of im2col, ' +
      'for 5x5 and 3x3 kernels and non-square images',
    () => {
      for (const [k, c, co] of [
        [5, 1, 4],
        [3, 3, 5],
      ] as const) {
        const x = tf.variable(tf.randomNormal([2, 7, 6, c], 0, 1, 'float32', 1));
        const w = tf.variable(tf.randomNormal([k, k, c, co], 0, 1, 'float32', 2));
        const t = tf.randomNormal([2, 7, 6, co], 0, 1, 'float32', 3);
        const ours = tf.variableGrads(() => tf.sum(tf.mul(conv2dSame(x, w, true), t)) as tf.Scalar, [x, w]);
        const ref = tf.variableGrads(() => tf.sum(tf.mul(im2colConv(x, w), t)) as tf.Scalar, [x, w]);
        expect(ours.value.dataSync()[0]).toBeCloseTo(ref.value.dataSync()[0]!, 3);
        for (const v of [x, w]) expect(maxDiff(ours.grads[v.name]!.dataSync(), ref.grads[v.name]!.dataSync())).toBeLessThan(1e-4);
        for (const tensor of [x, w, t, ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads)]) tensor.dispose();
      }
    },
  );

  for (const role of ['report', 'select'] as const) {
    it(
      `the shipped ${role} judge (a format 1 file, read as format 2): ` + 'its ONNX graph computes what its tfjs forward pass does',
      async () => {
        const j = shipped(role);
        expect(j.spec.role).toBe(role);
        const images = heldOut.images.subarray(0, 64 * IMAGE_PIXELS);
        const ref = tfjsForward(j, images, 64);
        const s = await JudgeSession.create(judgeOnnx(j), j.info.imageShape, featureDim(j.spec), 10);
        const out = await s.predict(images, 64);
        expect(out.features.length).toBe(64 * 128);
        expect(maxDiff(out.features, ref.features)).toBeLessThan(1e-4);
        const probs = tf.tidy(() => tf.softmax(tf.tensor2d(ref.logits, [64, 10])).dataSync());
        expect(maxDiff(out.probs, probs)).toBeLessThan(1e-5);
        await s.release();
      },
    );
  }
});

describe('the shipped mnist report judge', () => {
  /** The held-out digits, each augmented by `f`. */
  const transformed = (f: (dst: Float32Array, off: number, src: Float32Array, rng: Rng) => void): Float32Array => {
    const out = new Float32Array(heldOut.images.length);
    const rng = new Rng(9);
    for (let i = 0; i < heldOut.count; i++) f(out, i * IMAGE_PIXELS, heldOut.images, rng);
    return out;
  };
  const shift =
    (dx: number, dy: number) =>
    (dst: Float32Array, off: number, src: Float32Array): void => {
      for (let y = 0; y < 28; y++)
        for (let x = 0; x < 28; x++) {
          const sx = x - dx;
          const sy = y - dy;
          dst[off + y * 28 + x] = sx >= 0 && sx < 28 && sy >= 0 && sy < 28 ? src[off + sy * 28 + sx]! : -1;
        }
    };
  const speckle = (dst: Float32Array, off: number, src: Float32Array, rng: Rng): void => {
    for (let p = 0; p < IMAGE_PIXELS; p++) {
      let v = src[off + p]! + 0.15 * rng.normal();
      if (rng.uniform() < 0.03) v = rng.uniform() * 2 - 1;
      dst[off + p] = Math.min(Math.max(v, -1), 1);
    }
  };

  it(
    'is another network than the select judge (architecture, seed), ' +
      'trained with the shortcut-removing augmentation, >= 98% on the held-out digits',
    async () => {
      const j = shipped('report');
      expect(j.spec.seed).not.toBe(shipped('select').spec.seed);
      expect(j.info.architecture).toMatch(/global average pool/);
      expect(j.spec.augmentation).toEqual({ kind: 'affine', ...REPORT_AUGMENTATION });
      expect(j.info.trainCount).toBe(9000);
      const judge = await loadJudge('report', 'mnist');
      const { probs } = await judge.predict(heldOut.images, heldOut.count);
      await judge.release();
      expect(accuracy(predictedClasses(probs, heldOut.count, 10), heldOut.labels)).toBeGreaterThanOrEqual(0.98);
    },
  );

  it('keeps its accuracy on digits moved by 3 px and on speckled digits (the shortcuts), where the select judge loses more', async () => {
    const report = await loadJudge('report', 'mnist');
    const select = await loadJudge('select', 'mnist');
    for (const [name, images] of [
      ['shifted', transformed(shift(3, -3))],
      ['speckled', transformed(speckle)],
    ] as const) {
      const r = await accuracyOf(report, images, heldOut.labels);
      const s = await accuracyOf(select, images, heldOut.labels);
      expect(r, `${name}: report judge`).toBeGreaterThanOrEqual(0.95);
      expect(r, `${name}: report ${r} vs select ${s}`).toBeGreaterThan(s);
    }
    await report.release();
    await select.release();
  });
});

describe('augmentation and other image shapes', () => {
  it('augmentInto is seeded, keeps values in [-1, 1], and is the identity with no augmentation, for any [C, H, W]', () => {
    const shape: ImageShape = [3, 5, 7];
    const src = Float32Array.from({ length: 105 }, (_, i) => Math.sin(i) * 0.9);
    const a = new Float32Array(105);
    const b = new Float32Array(105);
    augmentInto(a, 0, src, 0, shape, new Rng(1), REPORT_AUGMENTATION);
    augmentInto(b, 0, src, 0, shape, new Rng(1), REPORT_AUGMENTATION);
    expect([...a]).toEqual([...b]);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...a)).toBeLessThanOrEqual(1);
    const same = new Float32Array(105);
    augmentInto(same, 0, src, 0, shape, new Rng(1), { shift: 0, rotate: 0, scale: 0, speckle: 0, noise: 0, specks: 0 });
    expect(maxDiff(same, src)).toBeLessThan(1e-6);
  });

  it('a report judge trains for colour images of another size, and its ONNX graph matches its tfjs forward pass', async () => {
    // Digits tinted by class and cropped to 3 x 24 x 20: the judge's input shape is a parameter.
    const shape: ImageShape = [3, 24, 20];
    const make = (ds: Dataset, count: number): Dataset => {
      const per = 3 * 24 * 20;
      const images = new Float32Array(count * per);
      const labels = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const src = Math.floor((i * ds.count) / count);
        labels[i] = ds.labels[src]!;
        for (let ch = 0; ch < 3; ch++) {
          const tint = ((labels[i]! + ch) % 3) / 2; // 0, 0.5 or 1 by class and channel
          for (let y = 0; y < 24; y++)
            for (let x = 0; x < 20; x++) {
              const v = ds.images[src * IMAGE_PIXELS + (y + 2) * 28 + (x + 4)]!;
              images[i * per + ch * 480 + y * 20 + x] = -1 + (v + 1) * tint;
            }
        }
      }
      return { ...ds, images, labels, count, shape };
    };
    const splits = { train: make(train, 512), heldOut: make(heldOut, 200) };
    const file = `${tmp}/judge-report-colour.json`;
    const r = await trainAndSaveJudge({ spec: REPORT_SPEC, data: 'colour', splits, file, epochs: 2 });
    expect(r.heldOutAccuracy).toBeGreaterThan(0.2); // ten classes: chance is 0.1
    const j = readJudgeModel(file, 'retrain');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ format: 'onnxgan-judge', version: 2, spec: REPORT_SPEC });
    expect(j.info.imageShape).toEqual(shape);
    const images = splits.heldOut.images.subarray(0, 16 * 1440);
    const ref = tfjsForward(j, images, 16);
    const s = await JudgeSession.create(judgeOnnx(j), shape, featureDim(j.spec), 10);
    expect(maxDiff((await s.predict(images, 16)).features, ref.features)).toBeLessThan(1e-4);
    await s.release();
    // A format 2 file is only as good as its spec: a broken one is refused by name.
    const broken = `${tmp}/judge-broken-spec.json`;
    writeFileSync(broken, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), spec: { ...REPORT_SPEC, convs: [] } }));
    expect(() => readJudgeModel(broken, 'retrain')).toThrow(/judge-broken-spec\.json: its spec is not valid \(convs/);
  });
});
