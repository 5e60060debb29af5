// The one judge trainer, for every spec (eval/judge-spec.ts): Adam with cosine decay (to 5% of the
// start), softmax cross-entropy on augmented images, a fixed number of epochs and the last weights
// (no early stopping: nothing is chosen by a score). Seeded: the spec's seed initialises the weights,
// seed + 1 draws the order and the augmentation. The final held-out accuracy is measured the way
// eval runs a judge: its ONNX graph on onnxruntime.
import * as tf from '@tensorflow/tfjs-core';
import { imageValues, type ImageShape } from '../common/metadata.js';
import { Rng } from '../common/rng.js';
import { shuffle, type Dataset } from '../data/dataset.js';
import { augmentInto, shiftInto } from './augment.js';
import { JudgeError, judgeName } from './judge.js';
import type { JudgeModel } from './judge-file.js';
import { forwardInBatches, JudgeNet, tfjsForward } from './judge-net.js';
import { judgeOnnx } from './judge-onnx.js';
import { JudgeSession } from './judge-session.js';
import { architectureText, featureDim, minSide, type JudgeSpec } from './judge-spec.js';
import { accuracy, predictedClasses } from './metrics.js';

export interface TrainJudgeOptions {
  spec: JudgeSpec;
  data: string;
  train: Dataset;
  heldOut: Dataset;
  epochs: number;
  log?: (line: string) => void;
  /** Called after every training step (progress bars). */
  onStep?: (step: number, totalSteps: number) => void;
}

/** Training steps per epoch for `count` images. */
export const stepsPerEpoch = (spec: JudgeSpec, count: number): number => Math.floor(count / Math.min(spec.batch, count));

/** Write augmented copy of image `src` of `images` into `xs` at image slot `b`. */
function augment(spec: JudgeSpec, xs: Float32Array, b: number, images: Float32Array, src: number, shape: ImageShape, rng: Rng): void {
  const v = imageValues(shape);
  const a = spec.augmentation;
  if (a.kind === 'affine') return augmentInto(xs, b * v, images, src * v, shape, rng, a);
  const dx = a.pixels ? rng.int(2 * a.pixels + 1) - a.pixels : 0;
  const dy = a.pixels ? rng.int(2 * a.pixels + 1) - a.pixels : 0;
  shiftInto(xs, b * v, images, src * v, dx, dy, shape);
}

const accuracyOf = (logits: Float32Array, ds: Dataset): number =>
  accuracy(predictedClasses(logits, ds.count, ds.classes.length), ds.labels);

export async function trainJudge(o: TrainJudgeOptions): Promise<JudgeModel> {
  const { spec, train, heldOut, epochs } = o;
  const shape = train.shape;
  const values = imageValues(shape);
  const side = minSide(spec);
  if (shape[1] < side || shape[2] < side)
    throw new JudgeError(`${train.name}: this judge needs images of at least ${side} x ${side}, not ${shape[1]} x ${shape[2]}`);
  const log = o.log ?? (() => {});
  const k = train.classes.length;
  const batch = Math.min(spec.batch, train.count);
  const net = new JudgeNet(spec, shape, k, null, spec.batchNorm);
  const rng = new Rng(spec.seed + 1);
  const optimizer = tf.train.adam(spec.learningRate);
  const adam = optimizer as unknown as { learningRate: number };
  const order = Array.from({ length: train.count }, (_, i) => i);
  const steps = stepsPerEpoch(spec, train.count);
  const totalSteps = epochs * steps;
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
      for (let s = 0; s < steps; s++) {
        for (let b = 0; b < batch; b++) {
          const src = order[s * batch + b]!;
          augment(spec, xs, b, train.images, src, shape, rng);
          ys[b] = train.labels[src]!;
        }
        adam.learningRate = spec.learningRate * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps)));
        step++;
        const [loss, correct] = tf.tidy(() => {
          const x = tf.tensor2d(xs, [batch, values]);
          const labels = tf.tensor1d(ys, 'int32');
          const y = tf.oneHot(labels, k);
          let logits: tf.Tensor2D | null = null;
          const l = optimizer.minimize(
            () => {
              logits = tf.keep(net.forward(x, true).logits); // outlives minimize's scope: disposed below
              return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1))) as tf.Scalar;
            },
            true,
            vars,
          ) as tf.Scalar;
          net.updateRunningStats();
          const hit = tf.sum(tf.cast(tf.equal(tf.argMax(logits!, 1), labels), 'int32'));
          (logits as tf.Tensor2D | null)?.dispose();
          return [l, hit];
        });
        lossSum += (await loss!.data())[0]!;
        hits += (await correct!.data())[0]!;
        loss!.dispose();
        correct!.dispose();
        o.onStep?.(step, totalSteps);
        if ((s + 1) % 20 === 0 || s + 1 === steps) {
          const secs = (Date.now() - t0) / 1000;
          log(
            `epoch ${epoch}/${epochs} step ${s + 1}/${steps}: loss ${(lossSum / (s + 1)).toFixed(4)}, ` +
              `augmented training accuracy ${(hits / ((s + 1) * batch)).toFixed(4)} ` +
              `(${secs.toFixed(0)} s, ETA this epoch ${((secs / (s + 1)) * (steps - s - 1)).toFixed(0)} s)`,
          );
        }
      }
      const acc = accuracyOf(forwardInBatches(net, heldOut.images, heldOut.count).logits, heldOut);
      log(
        `epoch ${epoch}/${epochs}: loss ${(lossSum / steps).toFixed(4)}, ` +
          `held-out accuracy ${acc.toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
    const judge: JudgeModel = {
      spec,
      info: {
        data: judgeName(o.data),
        classes: train.classes,
        imageShape: shape,
        architecture: architectureText(spec, shape),
        heldOutAccuracy: NaN,
        heldOutCount: heldOut.count,
        trainCount: train.count,
        epochs,
        created: new Date().toISOString(),
      },
      weights: net.weights(),
    };
    if (spec.batchNorm) checkFolding(net, judge, heldOut);
    judge.info.heldOutAccuracy = await onnxAccuracy(judge, heldOut);
    log(`held-out accuracy ${judge.info.heldOutAccuracy.toFixed(4)} on ${heldOut.count} images`);
    return judge;
  } finally {
    optimizer.dispose();
    net.dispose();
  }
}

/** The saved (folded) weights must compute what the trained network does in inference mode. */
function checkFolding(net: JudgeNet, judge: JudgeModel, heldOut: Dataset): void {
  const count = Math.min(64, heldOut.count);
  const images = heldOut.images.subarray(0, count * imageValues(judge.info.imageShape));
  const trained = forwardInBatches(net, images, count).logits;
  const folded = tfjsForward(judge, images, count).logits;
  let worst = 0;
  for (let i = 0; i < trained.length; i++) worst = Math.max(worst, Math.abs(trained[i]! - folded[i]!) / (1 + Math.abs(trained[i]!)));
  if (worst > 1e-3)
    throw new JudgeError(`judge: folding batch normalisation into the convolutions changed its logits by ${worst.toExponential(2)}`);
}

async function onnxAccuracy(j: JudgeModel, heldOut: Dataset): Promise<number> {
  const s = await JudgeSession.create(judgeOnnx(j), j.info.imageShape, featureDim(j.spec), j.info.classes.length);
  try {
    return accuracyOf((await s.predict(heldOut.images, heldOut.count)).probs, heldOut);
  } finally {
    await s.release();
  }
}
