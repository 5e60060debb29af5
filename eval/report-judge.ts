// The report judge: the network `onnxgan eval` and the model cards report with. It is not the judge
// development decisions were made with (eval/judge.ts, `--judge select`): another architecture, another
// seed, trained once with fixed settings and augmentation that removes shortcuts (eval/augment.ts), and
// nothing (training option, restart, checkpoint) is ever chosen by its scores.
//
// Architecture (Inception-like: features are a global average pool, so they do not encode placement):
// x/2+1/2 -> conv5x5(16) ReLU maxpool2 -> conv3x3(32) ReLU maxpool2 -> conv3x3(64) ReLU maxpool2
// -> conv3x3(128) ReLU -> global average pool [128 features] -> dense(K). Input [C, H, W], any size
// >= 8 x 8. Trained with batch normalisation before each ReLU (folded into the convolutions when saved).
// Trained with tfjs (eval/report-judge.ts conv2dSame: gradients as forward convolutions, fast on wasm);
// scored with onnxruntime (eval/judge-session.ts) from an ONNX graph built from the same weights.
import * as tf from '@tensorflow/tfjs-core';
import path from 'node:path';
import { writeFileAtomic } from '../common/atomic.js';
import { batchNormAffine, foldIntoLinear } from '../common/batch-norm.js';
import { imageValues, type ImageShape } from '../common/metadata.js';
import { GraphBuilder } from '../common/onnx-graph.js';
import { packageInfo } from '../common/package-info.js';
import { Rng } from '../common/rng.js';
import { shuffle, type Dataset } from '../data/dataset.js';
import { augmentInto, REPORT_AUGMENTATION, type Augmentation } from './augment.js';
import { JudgeError, judgeName, readJudgeJson } from './judge.js';
import { convRelu, judgeHead, judgeInput } from './judge-onnx.js';

export const REPORT_JUDGE_FORMAT = 'onnxgan-report-judge';
export const REPORT_JUDGE_VERSION = 1;
export const REPORT_FEATURES = 128;
/** The report judges' seed: not the select judge's (0). */
export const REPORT_SEED = 2;

interface ConvSpec {
  name: string;
  kernel: number;
  out: number;
  pool: boolean;
}
const CONVS: ConvSpec[] = [
  { name: 'conv1', kernel: 5, out: 16, pool: true },
  { name: 'conv2', kernel: 3, out: 32, pool: true },
  { name: 'conv3', kernel: 3, out: 64, pool: true },
  { name: 'conv4', kernel: 3, out: REPORT_FEATURES, pool: false },
];
/** Smallest image side: three 2x2 poolings leave at least one position. */
const MIN_SIDE = 8;
export const REPORT_ARCHITECTURE = 'input [C,H,W] in [-1,1]; conv5x5(16)+ReLU+maxpool2; conv3x3(32)+ReLU+maxpool2; ' +
'conv3x3(64)+ReLU+maxpool2; conv3x3(128)+ReLU; global average pool [features]; dense(K) [logits]; ' +
'trained with batch normalisation before each ReLU, folded into the convolutions';

export const reportJudgePath = (data: string): string => path.join(packageInfo().root, 'models', `judge-report-${judgeName(data)}.json`);
export const retrainReportCommand = (data: string): string => `onnxgan eval --retrain-judge --judge report --data ${data}`;

export interface ReportJudgeInfo {
  data: string;
  classes: string[];
  imageShape: ImageShape;
  architecture: string;
  augmentation: Augmentation;
  /** Accuracy on the data set's held-out split (un-augmented), measured through onnxruntime. */
  heldOutAccuracy: number;
  heldOutCount: number;
  trainCount: number;
  epochs: number;
  seed: number;
  created: string;
}

type Weights = Record<string, { shape: number[]; values: Float32Array }>;

interface ReportJudgeFile extends ReportJudgeInfo {
  format: typeof REPORT_JUDGE_FORMAT;
  version: number;
  weights: Record<string, { shape: number[]; dtype: 'float32'; data: string }>;
}

/** Weight shapes: conv kernels [k*k*Cin, Cout], rows ordered (dy, dx, c) (tfjs's [k, k, Cin, Cout]), the dense layer [128, K]. */
function weightShapes(imageShape: ImageShape, k: number): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  let cin = imageShape[0];
  for (const c of CONVS) {
    shapes[`${c.name}/kernel`] = [c.kernel * c.kernel * cin, c.out];
    shapes[`${c.name}/bias`] = [c.out];
    cin = c.out;
  }
  shapes['fc/kernel'] = [REPORT_FEATURES, k];
  shapes['fc/bias'] = [k];
  return shapes;
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * k x k 'same' convolution (stride 1) that the wasm backend can differentiate: tf.conv2d forward, and
 * both gradients as forward convolutions (wasm has no Conv2DBackpropFilter, and its
 * Conv2DBackpropInput is ~5x slower than a forward conv). x: [N, H, W, C]; kernel: [k, k, C, Cout].
 * `inputGrad: false` skips the input's gradient (the first layer's input is the images).
 */
export function conv2dSame(x: tf.Tensor4D, kernel: tf.Tensor4D, inputGrad: boolean): tf.Tensor4D {
  const k = kernel.shape[0];
  const p = (k - 1) / 2;
  type Save = (t: tf.Tensor[]) => void;
  const f = tf.customGrad(((xs: tf.Tensor4D, ws: tf.Tensor4D, save: Save) => {
    save([xs, ws]);
    return {
      value: tf.conv2d(xs, ws, 1, 'same'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
        const g = dy as tf.Tensor4D;
        // dx: g correlated with the kernel turned by 180 degrees, input and output channels swapped.
        const dx = inputGrad ? tf.conv2d(g, tf.reverse(tf.transpose(sw, [0, 1, 3, 2]), [0, 1]), 1, 'same') : tf.zerosLike(sx);
        // dW[dy, dx, c, o] = sum over n, y, x of xpad[n, y+dy, x+dx, c] g[n, y, x, o]: a 'valid' conv
        // with the batch as the channels.
        const xt = tf.transpose(tf.pad(sx, [[0, 0], [p, p], [p, p], [0, 0]]), [3, 1, 2, 0]);
        const dw = tf.transpose(tf.conv2d(xt, tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D, 1, 'valid'), [1, 2, 0, 3]);
        return [dx, dw];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, kernel) as tf.Tensor4D;
}

/** Batch normalisation's running-statistics momentum and epsilon (training only; folded away when saved). */
const BN_MOMENTUM = 0.9;
const BN_EPSILON = 1e-3;

/**
 * The network's weights as tfjs variables, for training. With `batchNorm`, each convolution is
 * followed by batch normalisation (before the ReLU) while training: without it this small GAP
 * network learns slowly (0.951 held-out after 20 epochs). The saved weights fold the normalisation's
 * running statistics into the convolutions (weights()), so the file and ONNX graph have none.
 */
class TrainableReportJudge {
  readonly vars: Record<string, tf.Variable>;
  /** Per convolution: gamma, beta (trained) and the running mean and variance. */
  private readonly bn: Record<string, { gamma: tf.Variable; beta: tf.Variable; mean: tf.Variable; variance: tf.Variable }> = {};

  constructor(readonly imageShape: ImageShape, k: number, seed: number, readonly batchNorm = false) {
    const rng = new Rng(seed);
    this.vars = {};
    for (const [name, shape] of Object.entries(weightShapes(imageShape, k))) {
      const v = new Float32Array(size(shape));
      if (shape.length === 2) {
        const std = Math.sqrt(2 / shape[0]!); // He
        for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
      }
      this.vars[name] = tf.variable(tf.tensor(v, shape), true);
    }
    if (batchNorm) {
      for (const c of CONVS) {
        this.bn[c.name] = {
          gamma: tf.variable(tf.ones([c.out]), true),
          beta: tf.variable(tf.zeros([c.out]), true),
          mean: tf.variable(tf.zeros([c.out]), false),
          variance: tf.variable(tf.ones([c.out]), false),
        };
      }
    }
  }

  /** The variables the optimiser trains. */
  trainable(): tf.Variable[] {
    return [...Object.values(this.vars), ...Object.values(this.bn).flatMap((b) => [b.gamma, b.beta])];
  }

  /**
   * Features [N, 128] and logits [N, K] of images [N, C*H*W] in [-1, 1]. `training` normalises
   * with the batch's statistics and updates the running ones (call it inside minimize).
   */
  forward(images: tf.Tensor2D, training = false): { features: tf.Tensor2D; logits: tf.Tensor2D } {
    const [c, h, w] = this.imageShape;
    const n = images.shape[0];
    let x = tf.reshape(tf.add(tf.mul(images, 0.5), 0.5), [n, c, h, w]) as tf.Tensor4D;
    x = c === 1 ? tf.reshape(x, [n, h, w, 1]) : tf.transpose(x, [0, 2, 3, 1]);
    let cin = c;
    CONVS.forEach((spec, i) => {
      const kernel = tf.reshape(this.vars[`${spec.name}/kernel`]!, [spec.kernel, spec.kernel, cin, spec.out]) as tf.Tensor4D;
      let y = tf.add(conv2dSame(x, kernel, i > 0), this.vars[`${spec.name}/bias`]!) as tf.Tensor4D;
      const bn = this.bn[spec.name];
      if (bn) {
        let mean: tf.Tensor;
        let variance: tf.Tensor;
        if (training) {
          ({ mean, variance } = tf.moments(y, [0, 1, 2]));
          this.batchMoments.push([spec.name, tf.keep(mean), tf.keep(variance)]);
        } else {
          [mean, variance] = [bn.mean, bn.variance];
        }
        y = tf.add(tf.mul(tf.mul(tf.sub(y, mean), tf.rsqrt(tf.add(variance, BN_EPSILON))), bn.gamma), bn.beta) as tf.Tensor4D;
      }
      x = tf.relu(y) as tf.Tensor4D;
      if (spec.pool) x = tf.maxPool(x, 2, 2, 'valid');
      cin = spec.out;
    });
    const features = tf.mean(x, [1, 2]) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(features, this.vars['fc/kernel'] as tf.Tensor2D), this.vars['fc/bias']!) as tf.Tensor2D;
    return { features, logits };
  }

  /** Moments of the last training batch, kept by forward(x, true) for updateRunningStats(). */
  private batchMoments: [string, tf.Tensor, tf.Tensor][] = [];

  /** Move the running statistics towards the last training batch's (outside the gradient tape). */
  updateRunningStats(): void {
    for (const [name, mean, variance] of this.batchMoments) {
      const b = this.bn[name]!;
      tf.tidy(() => {
        b.mean.assign(tf.add(tf.mul(b.mean, BN_MOMENTUM), tf.mul(mean, 1 - BN_MOMENTUM)));
        b.variance.assign(tf.add(tf.mul(b.variance, BN_MOMENTUM), tf.mul(variance, 1 - BN_MOMENTUM)));
      });
      mean.dispose();
      variance.dispose();
    }
    this.batchMoments = [];
  }

  /** The weights as the plain network computes them: batch normalisation folded into each convolution. */
  weights(): Weights {
    const out: Weights = {};
    for (const [name, v] of Object.entries(this.vars)) out[name] = { shape: v.shape, values: v.dataSync() as Float32Array };
    for (const [conv, b] of Object.entries(this.bn)) {
      const affine = batchNormAffine(b.gamma.dataSync(), b.beta.dataSync(), b.mean.dataSync(), b.variance.dataSync(), BN_EPSILON);
      const folded = foldIntoLinear(out[`${conv}/kernel`]!.values, out[`${conv}/bias`]!.values, affine);
      out[`${conv}/kernel`]!.values = folded.kernel;
      out[`${conv}/bias`]!.values = folded.bias;
    }
    return out;
  }

  dispose(): void {
    for (const v of Object.values(this.vars)) v.dispose();
    for (const b of Object.values(this.bn)) for (const v of Object.values(b)) v.dispose();
  }
}

/** A report judge as data: its facts and weights (no tfjs needed). */
export interface ReportJudge {
  info: ReportJudgeInfo;
  weights: Weights;
}

/**
 * The ONNX graph of a report judge: input `image` float32 [N, C, H, W] in [-1, 1]; outputs
 * `features` [N, 128] and `probs` [N, K] (softmax).
 */
export function reportJudgeOnnx(j: ReportJudge): Uint8Array {
  const g = new GraphBuilder();
  let x = judgeInput(g, j.info.imageShape);
  let cin = j.info.imageShape[0];
  for (const spec of CONVS) {
    x = convRelu(g, x, j.weights[`${spec.name}/kernel`]!.values, j.weights[`${spec.name}/bias`]!.values, spec.kernel, cin, spec.pool);
    cin = spec.out;
  }
  const features = g.node('Flatten', [g.node('GlobalAveragePool', [x])], { axis: { i: 1 } }, 'features');
  return judgeHead(g, features, REPORT_FEATURES, j.weights['fc/kernel']!.values, j.weights['fc/bias']!.values);
}

export function saveReportJudge(file: string, j: ReportJudge): void {
  const weights: ReportJudgeFile['weights'] = {};
  for (const [name, { shape, values }] of Object.entries(j.weights)) {
    weights[name] = { shape, dtype: 'float32', data: Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64') };
  }
  const file_: ReportJudgeFile = { format: REPORT_JUDGE_FORMAT, version: REPORT_JUDGE_VERSION, ...j.info, weights };
  writeFileAtomic(file, JSON.stringify(file_) + '\n');
}

/** Read and check a report judge file (`json`: the file already parsed); errors name the file and the command that rebuilds it. */
export function readReportJudge(file: string, data: string, json: unknown = readJudgeJson(file, retrainReportCommand(data))): ReportJudge {
  const bad = (why: string): JudgeError => new JudgeError(`${file}: ${why}; rebuild it with \`${retrainReportCommand(data)}\``);
  const j = json as ReportJudgeFile;
  if (j?.format !== REPORT_JUDGE_FORMAT) throw bad(`not an onnxgan report judge (format "${String(j?.format)}")`);
  if (j.version !== REPORT_JUDGE_VERSION) throw bad(`report judge format version ${j.version}, this onnxgan reads ${REPORT_JUDGE_VERSION}`);
  if (!Array.isArray(j.classes) || j.classes.length < 2 || !j.classes.every((c) => typeof c === 'string')) throw bad('missing class names');
  const s = j.imageShape;
  if (!(Array.isArray(s) && s.length === 3 && s.every((d) => Number.isInteger(d) && d >= 1) && s[1]! >= MIN_SIDE && s[2]! >= MIN_SIDE)) throw bad(`imageShape is not [C, H, W] with H, W >= ${MIN_SIDE}`);
  const weights: Weights = {};
  for (const [name, shape] of Object.entries(weightShapes(s, j.classes.length))) {
    const w = j.weights?.[name];
    if (!w || w.shape?.join() !== shape.join()) throw bad(`weight ${name} missing or not of shape [${shape}]`);
    const buf = Buffer.from(w.data, 'base64');
    if (buf.length !== size(shape) * 4) throw bad(`weight ${name} holds ${buf.length} bytes, expected ${size(shape) * 4}`);
    weights[name] = { shape, values: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)) };
  }
  const { format: _f, version: _v, weights: _w, ...info } = j;
  return { info, weights };
}

export interface TrainReportJudgeOptions {
  data: string;
  train: Dataset;
  heldOut: Dataset;
  imageShape: ImageShape;
  epochs: number;
  batch?: number;
  seed?: number;
  learningRate?: number;
  augmentation?: Augmentation;
  /** Held-out accuracy of the finished weights (the caller measures it the way eval runs the judge). */
  measure: (j: ReportJudge) => Promise<number>;
  log?: (line: string) => void;
}

/**
 * Train a report judge: Adam with cosine decay, softmax cross-entropy on augmented images, a fixed
 * number of epochs and the last weights (no early stopping: nothing is chosen by a score).
 */
export async function trainReportJudge(o: TrainReportJudgeOptions): Promise<ReportJudge> {
  const { train, imageShape, epochs } = o;
  const values = imageValues(imageShape);
  if (train.images.length !== train.count * values) throw new JudgeError(`${train.name}: images are not ${imageShape.join('x')}`);
  if (imageShape[1] < MIN_SIDE || imageShape[2] < MIN_SIDE) throw new JudgeError(`${train.name}: a report judge needs images of at least ${MIN_SIDE} x ${MIN_SIDE}, not ${imageShape[1]} x ${imageShape[2]}`);
  const batch = Math.min(o.batch ?? 128, train.count);
  const seed = o.seed ?? REPORT_SEED;
  const aug = o.augmentation ?? REPORT_AUGMENTATION;
  const log = o.log ?? (() => {});
  const k = train.classes.length;
  const net = new TrainableReportJudge(imageShape, k, seed, true);
  const rng = new Rng(seed + 1);
  const baseLr = o.learningRate ?? 2e-3;
  const optimizer = tf.train.adam(baseLr);
  const adam = optimizer as unknown as { learningRate: number };
  const order = Array.from({ length: train.count }, (_, i) => i);
  const stepsPerEpoch = Math.floor(order.length / batch);
  const totalSteps = epochs * stepsPerEpoch;
  const xs = new Float32Array(batch * values);
  const ys = new Int32Array(batch);
  const vars = net.trainable();
  let step = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      shuffle(order, rng);
      const t0 = Date.now();
      let lossSum = 0;
      let hits = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        for (let b = 0; b < batch; b++) {
          const src = order[s * batch + b]!;
          augmentInto(xs, b * values, train.images, src * values, imageShape, rng, aug);
          ys[b] = train.labels[src]!;
        }
        // Cosine decay over the whole run, to 5% of the start.
        adam.learningRate = baseLr * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps)));
        step++;
        const [loss, correct] = tf.tidy(() => {
          const x = tf.tensor2d(xs, [batch, values]);
          const labels = tf.tensor1d(ys, 'int32');
          const y = tf.oneHot(labels, k);
          let logits: tf.Tensor2D | null = null;
          const l = optimizer.minimize(() => {
            logits = tf.keep(net.forward(x, true).logits); // outlives minimize's scope: disposed below
            return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1))) as tf.Scalar;
          }, true, vars) as tf.Scalar;
          net.updateRunningStats();
          const hit = tf.sum(tf.cast(tf.equal(tf.argMax(logits!, 1), labels), 'int32'));
          (logits as tf.Tensor2D | null)?.dispose();
          return [l, hit];
        });
        lossSum += (await loss!.data())[0]!;
        hits += (await correct!.data())[0]!;
        loss!.dispose();
        correct!.dispose();
        if ((s + 1) % 20 === 0 || s + 1 === stepsPerEpoch) {
          const secs = (Date.now() - t0) / 1000;
          log(`epoch ${epoch}/${epochs} step ${s + 1}/${stepsPerEpoch}: loss ${(lossSum / (s + 1)).toFixed(4)}, ` +
`augmented training accuracy ${(hits / ((s + 1) * batch)).toFixed(4)} (${secs.toFixed(0)} s, ETA ` +
`this epoch ${((secs / (s + 1)) * (stepsPerEpoch - s - 1)).toFixed(0)} s)`);
        }
      }
    }
    const judge: ReportJudge = {
      info: {
        data: judgeName(o.data),
        classes: train.classes,
        imageShape,
        architecture: REPORT_ARCHITECTURE,
        augmentation: aug,
        heldOutAccuracy: NaN,
        heldOutCount: o.heldOut.count,
        trainCount: train.count,
        epochs,
        seed,
        created: new Date().toISOString(),
      },
      weights: net.weights(),
    };
    checkFolding(net, judge, o.heldOut);
    judge.info.heldOutAccuracy = await o.measure(judge);
    log(`held-out accuracy ${judge.info.heldOutAccuracy.toFixed(4)} on ${o.heldOut.count} images`);
    return judge;
  } finally {
    optimizer.dispose();
    net.dispose();
  }
}

/** The saved (folded) weights must compute what the trained network does in inference mode. */
function checkFolding(net: TrainableReportJudge, judge: ReportJudge, heldOut: Dataset): void {
  const count = Math.min(64, heldOut.count);
  const images = heldOut.images.subarray(0, count * imageValues(judge.info.imageShape));
  const trained = tf.tidy(() => net.forward(tf.tensor2d(images, [count, imageValues(judge.info.imageShape)])).logits.dataSync());
  const folded = tfjsReportForward(judge, images, count).logits;
  let worst = 0;
  for (let i = 0; i < trained.length; i++) worst = Math.max(worst, Math.abs(trained[i]! - folded[i]!) / (1 + Math.abs(trained[i]!)));
  if (worst > 1e-3) throw new JudgeError(`report judge: folding batch normalisation into the convolutions changed its logits by ${worst.toExponential(2)}`);
}

/** For tests: the tfjs forward pass of a report judge's weights (checks the ONNX graph against it). */
export function tfjsReportForward(j: ReportJudge, images: Float32Array, count: number): { features: Float32Array; logits: Float32Array } {
  const net = new TrainableReportJudge(j.info.imageShape, j.info.classes.length, 0);
  try {
    for (const [name, v] of Object.entries(net.vars)) v.assign(tf.tensor(j.weights[name]!.values, v.shape));
    return tf.tidy(() => {
      const out = net.forward(tf.tensor2d(images, [count, imageValues(j.info.imageShape)]));
      return { features: out.features.dataSync() as Float32Array, logits: out.logits.dataSync() as Float32Array };
    });
  } finally {
    net.dispose();
  }
}
