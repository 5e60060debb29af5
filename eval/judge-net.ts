// The one tfjs forward pass of a judge spec (eval/judge-spec.ts), for training and for checking the
// ONNX graph against: x/2+1/2 (a zero background trains about twice as fast as -1), the convs, the
// features, the logits. Convolutions are conv2dSame: wasm can differentiate them fast.
import * as tf from '@tensorflow/tfjs-core';
import { batchNormAffine, foldIntoLinear } from '../common/batch-norm.js';
import { imageValues, type ImageShape } from '../common/metadata.js';
import { Rng } from '../common/rng.js';
import type { JudgeModel, Weights } from './judge-file.js';
import { pooledSize, weightShapes, type JudgeSpec } from './judge-spec.js';

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
        const xt = tf.transpose(
          tf.pad(sx, [
            [0, 0],
            [p, p],
            [p, p],
            [0, 0],
          ]),
          [3, 1, 2, 0],
        );
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
 * A judge's weights as tfjs variables: given ones, or fresh He-initialised ones (seeded by the
 * spec) to train. With `batchNorm`, each convolution is followed by batch normalisation (before
 * the ReLU); weights() folds its running statistics into the convolutions.
 */
export class JudgeNet {
  readonly vars: Record<string, tf.Variable> = {};
  /** Per convolution: gamma, beta (trained) and the running mean and variance. */
  private readonly bn: Record<string, { gamma: tf.Variable; beta: tf.Variable; mean: tf.Variable; variance: tf.Variable }> = {};
  /** Moments of the last training batch, kept by forward(x, true) for updateRunningStats(). */
  private batchMoments: [string, tf.Tensor, tf.Tensor][] = [];

  constructor(
    readonly spec: JudgeSpec,
    readonly imageShape: ImageShape,
    classes: number,
    values: Weights | null,
    batchNorm = false,
  ) {
    const rng = new Rng(spec.seed);
    for (const [name, shape] of Object.entries(weightShapes(spec, imageShape, classes))) {
      let v = values?.[name]?.values;
      if (!v) {
        v = new Float32Array(shape.reduce((a, b) => a * b, 1));
        if (shape.length === 2) {
          const std = Math.sqrt(2 / shape[0]!); // He
          for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
        }
      }
      this.vars[name] = tf.variable(tf.tensor(v, shape), !values);
    }
    if (batchNorm) {
      for (const c of spec.convs) {
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
   * Features [N, dim] and logits [N, K] of images [N, C*H*W] (planar) in [-1, 1]. `training`
   * normalises with the batch's statistics and keeps them for updateRunningStats().
   */
  forward(images: tf.Tensor2D, training = false): { features: tf.Tensor2D; logits: tf.Tensor2D } {
    const [c, h, w] = this.imageShape;
    const n = images.shape[0];
    const unit = tf.add(tf.mul(images, 0.5), 0.5);
    // Planar C x H x W -> the convolution's H x W x C.
    let x = (c === 1 ? tf.reshape(unit, [n, h, w, 1]) : tf.transpose(tf.reshape(unit, [n, c, h, w]), [0, 2, 3, 1])) as tf.Tensor4D;
    let cin = c;
    this.spec.convs.forEach((l, i) => {
      const kernel = tf.reshape(this.vars[`${l.name}/kernel`]!, [l.kernel, l.kernel, cin, l.out]) as tf.Tensor4D;
      let y = tf.add(conv2dSame(x, kernel, i > 0), this.vars[`${l.name}/bias`]!) as tf.Tensor4D;
      const bn = this.bn[l.name];
      if (bn) {
        let mean: tf.Tensor;
        let variance: tf.Tensor;
        if (training) {
          ({ mean, variance } = tf.moments(y, [0, 1, 2]));
          this.batchMoments.push([l.name, tf.keep(mean), tf.keep(variance)]);
        } else {
          [mean, variance] = [bn.mean, bn.variance];
        }
        y = tf.add(tf.mul(tf.mul(tf.sub(y, mean), tf.rsqrt(tf.add(variance, BN_EPSILON))), bn.gamma), bn.beta) as tf.Tensor4D;
      }
      x = tf.relu(y) as tf.Tensor4D;
      if (l.pool) x = tf.maxPool(x, 2, 2, 'valid');
      cin = l.out;
    });
    const f = this.spec.head.features;
    let features: tf.Tensor2D;
    if (f === 'global-average') {
      features = tf.mean(x, [1, 2]) as tf.Tensor2D;
    } else {
      const [ph, pw] = pooledSize(this.spec, this.imageShape);
      const flat = tf.reshape(x, [n, ph * pw * cin]); // (h, w, c) order
      features = tf.relu(
        tf.add(tf.matMul(flat, this.vars[`${f.dense}/kernel`] as tf.Tensor2D), this.vars[`${f.dense}/bias`]!),
      ) as tf.Tensor2D;
    }
    const logits = tf.add(
      tf.matMul(features, this.vars[`${this.spec.head.logits}/kernel`] as tf.Tensor2D),
      this.vars[`${this.spec.head.logits}/bias`]!,
    ) as tf.Tensor2D;
    return { features, logits };
  }

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

/** The tfjs forward pass of a judge's weights, in batches (training's held-out check; tests of the ONNX graph). */
export function tfjsForward(
  j: JudgeModel,
  images: Float32Array,
  count: number,
  batch = 500,
): { features: Float32Array; logits: Float32Array } {
  const net = new JudgeNet(j.spec, j.info.imageShape, j.info.classes.length, j.weights);
  try {
    return forwardInBatches(net, images, count, batch);
  } finally {
    net.dispose();
  }
}

/** A net's inference-mode outputs for `count` images, `batch` at a time. */
export function forwardInBatches(
  net: JudgeNet,
  images: Float32Array,
  count: number,
  batch = 500,
): { features: Float32Array; logits: Float32Array } {
  const v = imageValues(net.imageShape);
  const parts: { features: Float32Array; logits: Float32Array }[] = [];
  for (let start = 0; start < count; start += batch) {
    const b = Math.min(batch, count - start);
    parts.push(
      tf.tidy(() => {
        const out = net.forward(tf.tensor2d(images.subarray(start * v, (start + b) * v), [b, v]));
        return { features: out.features.dataSync() as Float32Array, logits: out.logits.dataSync() as Float32Array };
      }),
    );
  }
  const join = (key: 'features' | 'logits'): Float32Array => {
    const out = new Float32Array(parts.reduce((s, p) => s + p[key].length, 0));
    let at = 0;
    for (const p of parts) (out.set(p[key], at), (at += p[key].length));
    return out;
  };
  return { features: join('features'), logits: join('logits') };
}
