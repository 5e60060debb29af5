// The judge: a small CNN classifier that scores generated images. Trained once per data set with tfjs
// and shipped as models/judge-<data>.json so every user evaluates against the same network.
//
// Architecture: x/2+1/2 -> conv3x3(16) ReLU maxpool2 -> conv3x3(32) ReLU maxpool2 -> dense(128) ReLU
// -> dense(K). The 128 ReLU units are the feature space of the Fréchet distance.
// Training: Adam 1e-3 with cosine decay, batch 100, random shifts (2 px mnist, 1 px others), seeded.
// ~10 min for mnist (8 epochs of 9,000), ~25 min for fashion (4 of 60,000) on a busy 2-core machine.
// Convolutions are im2col (9 shifted slices, concatenated) + matMul: the wasm backend has no
// Conv2DBackpropFilter, while slice/concat/matMul are fast on wasm and differentiable there.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DIGIT_SHAPE, imageValues, type ImageShape } from '../common/metadata.js';
import { Rng } from '../common/rng.js';
import { writeFileAtomic } from '../common/atomic.js';
import { packageInfo } from '../common/package-info.js';
import { shuffle, type Dataset } from '../data/dataset.js';
import { accuracy, predictedClasses } from './metrics.js';

export const JUDGE_FORMAT = 'onnxgan-judge';
export const JUDGE_VERSION = 1;
export const FEATURE_DIM = 128;
const C1 = 16;
const C2 = 32;
/** Values after the two 2x2 poolings: 7 x 7 x 32 for the digits. */
const flatSize = ([, h, w]: ImageShape): number => Math.floor(h / 4) * Math.floor(w / 4) * C2;
/** The judge's input: the digits' unless its file says (judges of image folders). */
const shapeOf = (info: Pick<JudgeInfo, 'imageShape'>): ImageShape => info.imageShape ?? DIGIT_SHAPE;

export class JudgeError extends Error {}

/** The judge's short name for a --data source: mnist, fashion, or a folder's base name. */
export function judgeName(data: string): string {
  if (data === 'mnist' || data === 'fashion') return data;
  return path.basename(path.resolve(data)).replace(/[^A-Za-z0-9._-]+/g, '_') || 'data';
}

export function defaultJudgePath(data: string): string {
  return path.join(packageInfo().root, 'models', `judge-${judgeName(data)}.json`);
}

/** The command that (re)builds a judge, for error messages. */
export const retrainCommand = (data: string): string => `onnxgan eval --retrain-judge --data ${data}`;

type WeightName = 'conv1/kernel' | 'conv1/bias' | 'conv2/kernel' | 'conv2/bias' | 'fc1/kernel' | 'fc1/bias' | 'fc2/kernel' | 'fc2/bias';

const shapes = (k: number, image: ImageShape = DIGIT_SHAPE): Record<WeightName, number[]> => ({
  'conv1/kernel': [9 * image[0], C1],
  'conv1/bias': [C1],
  'conv2/kernel': [9 * C1, C2],
  'conv2/bias': [C2],
  'fc1/kernel': [flatSize(image), FEATURE_DIM],
  'fc1/bias': [FEATURE_DIM],
  'fc2/kernel': [FEATURE_DIM, k],
  'fc2/bias': [k],
});

export interface JudgeInfo {
  /** Data set short name (mnist, fashion, ...). */
  data: string;
  classes: string[];
  architecture: string;
  /** Accuracy on the data set's held-out split when the judge was trained. */
  heldOutAccuracy: number;
  heldOutCount: number;
  trainCount: number;
  epochs: number;
  /** Training augmentation: random shifts of up to this many pixels. */
  maxShift: number;
  seed: number;
  created: string;
  /** [C, H, W] of its input; absent: the digits' [1, 28, 28]. */
  imageShape?: ImageShape;
}

interface JudgeFile extends JudgeInfo {
  format: typeof JUDGE_FORMAT;
  version: number;
  weights: Record<string, { shape: number[]; dtype: 'float32'; data: string }>;
}

export const ARCHITECTURE = 'input 28x28 in [-1,1]; conv3x3(16)+ReLU+maxpool2; conv3x3(32)+ReLU+maxpool2; dense(128)+ReLU [features]; dense(K) [logits]';

/** ARCHITECTURE for another input shape. */
export const architectureFor = (shape: ImageShape): string =>
  shape.join() === DIGIT_SHAPE.join() ? ARCHITECTURE : ARCHITECTURE.replace('input 28x28', `input ${shape.join('x')}`);

/** 3x3 'same' convolution as im2col + matMul. x: [N, H, W, C]; kernel: [9C, Cout], rows ordered (dy, dx, c). */
function conv3x3(x: tf.Tensor4D, kernel: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const cols: tf.Tensor4D[] = [];
  for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) cols.push(tf.slice(padded, [0, dy, dx, 0], [n, h, w, c]));
  const patches = tf.reshape(tf.concat(cols, 3), [n * h * w, 9 * c]);
  const y = tf.add(tf.matMul(patches, kernel), bias);
  return tf.reshape(y, [n, h, w, kernel.shape[1]]);
}

export class Judge {
  readonly weights: Record<WeightName, tf.Variable>;

  readonly imageShape: ImageShape;

  constructor(readonly info: JudgeInfo, values: Record<WeightName, Float32Array>, trainable = false) {
    const k = info.classes.length;
    this.imageShape = shapeOf(info);
    const s = shapes(k, this.imageShape);
    this.weights = {} as Record<WeightName, tf.Variable>;
    for (const name of Object.keys(s) as WeightName[]) {
      this.weights[name] = tf.variable(tf.tensor(values[name], s[name]), trainable);
    }
  }

  get numClasses(): number {
    return this.info.classes.length;
  }

  /** Fresh He-initialised weights (seeded). */
  static init(info: JudgeInfo, seed: number): Judge {
    const rng = new Rng(seed);
    const s = shapes(info.classes.length, shapeOf(info));
    const values = {} as Record<WeightName, Float32Array>;
    for (const name of Object.keys(s) as WeightName[]) {
      const shape = s[name];
      const size = shape.reduce((a, b) => a * b, 1);
      const v = new Float32Array(size);
      if (shape.length === 2) {
        const std = Math.sqrt(2 / shape[0]!);
        for (let i = 0; i < size; i++) v[i] = rng.normal() * std;
      }
      values[name] = v;
    }
    return new Judge(info, values, true);
  }

  /** Features [N, 128] and logits [N, K] of images [N, C*H*W] (planar) in [-1, 1]. */
  forward(images: tf.Tensor2D): { features: tf.Tensor2D; logits: tf.Tensor2D } {
    const w = this.weights;
    const n = images.shape[0];
    const [c, h, wd] = this.imageShape;
    // [-1, 1] -> [0, 1]: a zero background trains about twice as fast as a -1 one.
    const unit = tf.add(tf.mul(images, 0.5), 0.5);
    // Planar C x H x W -> the convolution's H x W x C.
    let x = (c === 1 ? tf.reshape(unit, [n, h, wd, 1]) : tf.transpose(tf.reshape(unit, [n, c, h, wd]), [0, 2, 3, 1])) as tf.Tensor4D;
    x = tf.maxPool(tf.relu(conv3x3(x, w['conv1/kernel'] as tf.Tensor2D, w['conv1/bias'] as tf.Tensor1D)), 2, 2, 'valid');
    x = tf.maxPool(tf.relu(conv3x3(x, w['conv2/kernel'] as tf.Tensor2D, w['conv2/bias'] as tf.Tensor1D)), 2, 2, 'valid');
    const flat = tf.reshape(x, [n, flatSize(this.imageShape)]);
    const features = tf.relu(tf.add(tf.matMul(flat, w['fc1/kernel'] as tf.Tensor2D), w['fc1/bias'])) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(features, w['fc2/kernel'] as tf.Tensor2D), w['fc2/bias']) as tf.Tensor2D;
    return { features, logits };
  }

  /** Penultimate features (row-major [count, 128]) and class probabilities ([count, K]), in batches. */
  async predict(images: Float32Array, count = images.length / imageValues(this.imageShape), batch = 500): Promise<{ features: Float32Array; probs: Float32Array; count: number }> {
    const v = imageValues(this.imageShape);
    if (images.length !== count * v) throw new JudgeError(`expected ${count} images of ${this.imageShape.join('x')} (${count} x ${v} values) for the ` +
`${this.info.data} judge, got ${images.length} values`);
    const k = this.numClasses;
    const features = new Float32Array(count * FEATURE_DIM);
    const probs = new Float32Array(count * k);
    for (let start = 0; start < count; start += batch) {
      const b = Math.min(batch, count - start);
      const [f, p] = tf.tidy(() => {
        const x = tf.tensor2d(images.subarray(start * v, (start + b) * v), [b, v]);
        const out = this.forward(x);
        return [out.features, tf.softmax(out.logits)];
      });
      features.set(await f!.data(), start * FEATURE_DIM);
      probs.set(await p!.data(), start * k);
      f!.dispose();
      p!.dispose();
    }
    return { features, probs, count };
  }

  /** Fraction of a labelled data set classified correctly. */
  async accuracy(ds: Dataset): Promise<number> {
    const { probs } = await this.predict(ds.images, ds.count);
    return accuracy(predictedClasses(probs, ds.count, this.numClasses), ds.labels);
  }

  dispose(): void {
    for (const v of Object.values(this.weights)) v.dispose();
  }

  toJSON(): JudgeFile {
    const weights: JudgeFile['weights'] = {};
    for (const [name, v] of Object.entries(this.weights)) {
      const data = v.dataSync() as Float32Array;
      weights[name] = { shape: v.shape, dtype: 'float32', data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
    }
    return { format: JUDGE_FORMAT, version: JUDGE_VERSION, ...this.info, weights };
  }

  save(file: string): void {
    writeFileAtomic(file, JSON.stringify(this.toJSON()) + '\n');
  }
}

export interface JudgeData {
  info: JudgeInfo;
  values: Record<WeightName, Float32Array>;
}

/** Load a judge file (needs a tfjs backend); errors name the file and the command that rebuilds it. */
export function loadJudge(file: string, data: string): Judge {
  const { info, values } = readJudgeFile(file, data);
  return new Judge(info, values);
}

/**
 * A judge file's JSON, parsed once (either kind: its `format` says which); errors name the file and
 * the command that (re)builds it.
 */
export function readJudgeJson(file: string, rebuild: string): { format?: unknown } {
  if (!existsSync(file)) throw new JudgeError(`judge file ${file} not found: build it with \`${rebuild}\` (minutes)`);
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return typeof j === 'object' && j !== null ? j : {};
  } catch (e) {
    throw new JudgeError(`${file}: not valid JSON (${(e as Error).message}); rebuild it with \`${rebuild}\``);
  }
}

/** Read and check a select judge file without tfjs (`json`: the file already parsed). */
export function readJudgeFile(file: string, data: string, json: unknown = readJudgeJson(file, retrainCommand(data))): JudgeData {
  const bad = (why: string): JudgeError => new JudgeError(`${file}: ${why}; rebuild it with \`${retrainCommand(data)}\``);
  const j = json as JudgeFile;
  if (j?.format !== JUDGE_FORMAT) throw bad(`not an onnxgan judge file (format "${String(j?.format)}")`);
  if (j.version !== JUDGE_VERSION) throw bad(`judge format version ${j.version}, this onnxgan reads ${JUDGE_VERSION}`);
  if (!Array.isArray(j.classes) || j.classes.length < 2) throw bad('missing class names');
  const image = shapeOf(j);
  if (!(Array.isArray(image) && image.length === 3 && [1, 3].includes(image[0]) && image.slice(1).every((d) => Number.isInteger(d) && d >= 4))) throw bad('imageShape is not [1 or 3, H >= 4, W >= 4]');
  const s = shapes(j.classes.length, image);
  const values = {} as Record<WeightName, Float32Array>;
  for (const name of Object.keys(s) as WeightName[]) {
    const w = j.weights?.[name];
    if (!w || w.shape?.join() !== s[name].join()) throw bad(`weight ${name} missing or not of shape [${s[name]}]`);
    const buf = Buffer.from(w.data, 'base64');
    const size = s[name].reduce((a, b) => a * b, 1);
    if (buf.length !== size * 4) throw bad(`weight ${name} holds ${buf.length} bytes, expected ${size * 4}`);
    values[name] = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  }
  const { format: _f, version: _v, weights: _w, ...info } = j;
  return { info, values };
}

export interface TrainJudgeOptions {
  data: string;
  train: Dataset;
  heldOut: Dataset;
  epochs: number;
  batch?: number;
  seed?: number;
  learningRate?: number;
  /** Random shifts of up to this many pixels (augmentation). */
  maxShift?: number;
  log?: (line: string) => void;
  /** Called after every training step (progress bars). */
  onStep?: (step: number, totalSteps: number) => void;
}

/** Copy image src (C planes of H x W) into dst shifted by (dx, dy), filling with background (-1). */
function shiftInto(dst: Float32Array, dOff: number, src: Float32Array, sOff: number, dx: number, dy: number, [c, h, w]: ImageShape = DIGIT_SHAPE): void {
  for (let k = 0; k < c; k++) {
    const plane = k * h * w;
    for (let y = 0; y < h; y++) {
      const sy = y - dy;
      for (let x = 0; x < w; x++) {
        const sx = x - dx;
        dst[dOff + plane + y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? src[sOff + plane + sy * w + sx]! : -1;
      }
    }
  }
}

/** Train a judge from scratch with Adam and softmax cross-entropy; measures held-out accuracy. */
export async function trainJudge(o: TrainJudgeOptions): Promise<Judge> {
  const { train, heldOut, epochs } = o;
  const batch = Math.min(o.batch ?? 100, o.train.count);
  const seed = o.seed ?? 0;
  // Digits vary in position more than the centred Fashion-MNIST items.
  const maxShift = o.maxShift ?? (judgeName(o.data) === 'mnist' ? 2 : 1);
  const log = o.log ?? (() => {});
  const k = train.classes.length;
  const image = train.shape;
  const digits = image.join() === DIGIT_SHAPE.join();
  const info: JudgeInfo = {
    data: judgeName(o.data),
    classes: train.classes,
    architecture: architectureFor(image),
    heldOutAccuracy: NaN,
    heldOutCount: heldOut.count,
    trainCount: train.count,
    epochs,
    maxShift,
    seed,
    created: new Date().toISOString(),
    ...(digits ? {} : { imageShape: image }),
  };
  const judge = Judge.init(info, seed);
  const rng = new Rng(seed + 1);
  const optimizer = tf.train.adam(o.learningRate ?? 1e-3);
  const order = Array.from({ length: train.count }, (_, i) => i);
  const v = imageValues(image);
  const xs = new Float32Array(batch * v);
  const ys = new Int32Array(batch);
  const vars = Object.values(judge.weights);
  // Cosine decay of the learning rate over the whole run (to 5% of the start).
  const baseLr = o.learningRate ?? 1e-3;
  const totalSteps = epochs * Math.floor(order.length / batch);
  const adam = optimizer as unknown as { learningRate: number };
  let step = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffle(order, rng);
    const t0 = Date.now();
    let lossSum = 0;
    let steps = 0;
    for (let start = 0; start + batch <= order.length; start += batch) {
      for (let b = 0; b < batch; b++) {
        const src = order[start + b]!;
        const dx = maxShift ? rng.int(2 * maxShift + 1) - maxShift : 0;
        const dy = maxShift ? rng.int(2 * maxShift + 1) - maxShift : 0;
        shiftInto(xs, b * v, train.images, src * v, dx, dy, image);
        ys[b] = train.labels[src]!;
      }
      adam.learningRate = baseLr * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps)));
      step++;
      const loss = tf.tidy(() => {
        const x = tf.tensor2d(xs, [batch, v]);
        const y = tf.oneHot(tf.tensor1d(ys, 'int32'), k);
        return optimizer.minimize(() => {
          const { logits } = judge.forward(x);
          return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1))) as tf.Scalar;
        }, true, vars) as tf.Scalar;
      });
      lossSum += (await loss.data())[0]!;
      loss.dispose();
      steps++;
      o.onStep?.(step, totalSteps);
    }
    const acc = await judge.accuracy(heldOut);
    log(`epoch ${epoch}/${epochs}: loss ${(lossSum / steps).toFixed(4)}, held-out accuracy ${acc.toFixed(4)} ` +
`(${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    info.heldOutAccuracy = acc;
  }
  optimizer.dispose();
  return judge;
}
