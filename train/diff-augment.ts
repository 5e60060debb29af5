// DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
// every image the critic sees (real, fake, the penalty's points, the generator's fakes) goes through
// the same kind of random colour, translation and cutout, so a critic on a small data set cannot
// memorise its images. Each augmentation is affine in the image with coefficients fixed by its
// draws, T(x) = A x + b per image; the hand-written engine needs T, A and A^T (its backward and the
// penalty's double backward), the tfjs engine T as ops that have second derivatives.
// Images are rows of [n, C*H*W], each planar C x H x W, in [-1, 1] (0 is the mid value).
import * as tf from '@tensorflow/tfjs-core';
import { fillUniform, type Rng } from '../common/rng.js';
import type { TrainingOptions } from './options.js';

/** One augmentation per image (arrays of n values; `saturation` only for colour images). */
export interface AugmentDraws {
  n: number;
  shape: readonly [number, number, number];
  /** x + b, b in [-0.5, 0.5): DiffAugment's rand - 0.5 on data in [-1, 1]. */
  brightness: Float32Array;
  /** (x - mean over channels) * s + that mean, s in [0, 2); null for grey images. */
  saturation: Float32Array | null;
  /** (x - image mean) * c + image mean, c in [0.5, 1.5). */
  contrast: Float32Array;
  /** out[h, w] = in[h + dy, w + dx] (0 outside), each in [-round(side/8), round(side/8)]. */
  dy: Int32Array;
  dx: Int32Array;
  /** The cutout square's top-left corner (it may lie partly outside); its side is round(side/2) per axis. */
  cutY: Int32Array;
  cutX: Int32Array;
}

/** DiffAugment's rounding: int(side * ratio + 0.5). */
const part = (side: number, ratio: number): number => Math.floor(side * ratio + 0.5);

/**
 * The draws for n images of [C, H, W], in this order, each for all n images before the next:
 * brightness, saturation (C = 3 only), contrast, dy, dx, cutout row, cutout column. Both engines
 * call this at the same points of a step, so they draw the same numbers.
 */
export function drawAugment(rng: Rng, n: number, shape: readonly [number, number, number]): AugmentDraws {
  const [c, h, w] = shape;
  const uniform = (low: number, high: number): Float32Array => fillUniform(rng, new Float32Array(n), low, high);
  const ints = (count: number, from: number): Int32Array => Int32Array.from({ length: n }, () => from + rng.int(count));
  const brightness = uniform(-0.5, 0.5);
  const saturation = c === 3 ? uniform(0, 2) : null;
  const contrast = uniform(0.5, 1.5);
  const [sy, sx] = [part(h, 1 / 8), part(w, 1 / 8)];
  const dy = ints(2 * sy + 1, -sy);
  const dx = ints(2 * sx + 1, -sx);
  // As DiffAugment: the square's centre in [0, side + (1 - size % 2)), so it can reach past either edge.
  const [ch, cw] = [part(h, 1 / 2), part(w, 1 / 2)];
  const cutY = ints(h + 1 - (ch % 2), -Math.floor(ch / 2));
  const cutX = ints(w + 1 - (cw % 2), -Math.floor(cw / 2));
  return { n, shape, brightness, saturation, contrast, dy, dx, cutY, cutX };
}

/** options.augment's draws for n critic rows of `shape`; null (and nothing drawn) without augmentation. */
export const criticAugment = (o: TrainingOptions, rng: Rng, n: number, shape: readonly [number, number, number]): AugmentDraws | null =>
  o.augment === 'diff' ? drawAugment(rng, n, shape) : null;

/** The draws of rows [from, to) (views, not copies). */
export function augmentRows(d: AugmentDraws, from: number, to: number): AugmentDraws {
  const s = <T extends Float32Array | Int32Array>(a: T): T => a.subarray(from, to) as T;
  return {
    n: to - from,
    shape: d.shape,
    brightness: s(d.brightness),
    saturation: d.saturation && s(d.saturation),
    contrast: s(d.contrast),
    dy: s(d.dy),
    dx: s(d.dx),
    cutY: s(d.cutY),
    cutX: s(d.cutX),
  };
}

// ---- On Float32Arrays (the hand-written engine) ----

/** T(x) = A x + b, per row of x [n, C*H*W]. */
export const augment = (d: AugmentDraws, x: Float32Array, out: Float32Array = new Float32Array(x.length)): Float32Array =>
  apply(d, x, out, true);

/** A v: T without its offset (the brightness), for the penalty's double backward. */
export const augmentLinear = (d: AugmentDraws, v: Float32Array, out: Float32Array = new Float32Array(v.length)): Float32Array =>
  apply(d, v, out, false);

/** A^T g: a gradient with respect to T(x) as one with respect to x. */
export function augmentTranspose(d: AugmentDraws, g: Float32Array, out: Float32Array = new Float32Array(g.length)): Float32Array {
  const [c, h, w] = d.shape;
  const size = c * h * w;
  const tmp = new Float64Array(size);
  for (let i = 0; i < d.n; i++) {
    const o = i * size;
    // The steps of `apply` in reverse, each by its adjoint: cutout and the colour steps are
    // symmetric, the translation's adjoint is the opposite shift.
    for (let k = 0; k < size; k++) tmp[k] = g[o + k]!;
    cutout(tmp, d, i);
    const img = out.subarray(o, o + size);
    shift(tmp, c, h, w, -d.dy[i]!, -d.dx[i]!, img);
    for (let k = 0; k < size; k++) tmp[k] = img[k]!;
    contrast(tmp, d.contrast[i]!);
    if (d.saturation) saturate(tmp, c, h * w, d.saturation[i]!);
    img.set(tmp);
  }
  return out;
}

function apply(d: AugmentDraws, x: Float32Array, out: Float32Array, offset: boolean): Float32Array {
  const [c, h, w] = d.shape;
  const size = c * h * w;
  const tmp = new Float64Array(size);
  for (let i = 0; i < d.n; i++) {
    const o = i * size;
    const b = offset ? d.brightness[i]! : 0;
    for (let k = 0; k < size; k++) tmp[k] = x[o + k]! + b;
    if (d.saturation) saturate(tmp, c, h * w, d.saturation[i]!);
    contrast(tmp, d.contrast[i]!);
    const img = out.subarray(o, o + size);
    shift(tmp, c, h, w, d.dy[i]!, d.dx[i]!, img);
    cutout(img, d, i);
  }
  return out;
}

/** Per pixel, (x - mean over channels) * s + mean. */
function saturate(x: Float64Array, c: number, plane: number, s: number): void {
  for (let p = 0; p < plane; p++) {
    let m = 0;
    for (let k = 0; k < c; k++) m += x[k * plane + p]!;
    m /= c;
    for (let k = 0; k < c; k++) x[k * plane + p] = (x[k * plane + p]! - m) * s + m;
  }
}

/** (x - mean of the image) * s + mean. */
function contrast(x: Float64Array, s: number): void {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length;
  for (let k = 0; k < x.length; k++) x[k] = (x[k]! - m) * s + m;
}

/** out[ch, r, q] = x[ch, r + dy, q + dx], 0 outside. */
function shift(x: Float64Array, c: number, h: number, w: number, dy: number, dx: number, out: Float32Array): void {
  for (let ch = 0; ch < c; ch++) {
    for (let r = 0; r < h; r++) {
      const o = (ch * h + r) * w;
      const sr = r + dy;
      for (let q = 0; q < w; q++) {
        const sq = q + dx;
        out[o + q] = sr >= 0 && sr < h && sq >= 0 && sq < w ? x[(ch * h + sr) * w + sq]! : 0;
      }
    }
  }
}

/** The cutout square of image i (rows [y0, y1), columns [x0, x1), clipped to the image). */
function square(d: AugmentDraws, i: number): [number, number, number, number] {
  const [, h, w] = d.shape;
  const [y, x] = [d.cutY[i]!, d.cutX[i]!];
  return [Math.max(0, y), Math.min(h, y + part(h, 1 / 2)), Math.max(0, x), Math.min(w, x + part(w, 1 / 2))];
}

function cutout(img: Float32Array | Float64Array, d: AugmentDraws, i: number): void {
  const [c, h, w] = d.shape;
  const [y0, y1, x0, x1] = square(d, i);
  for (let ch = 0; ch < c; ch++) for (let r = y0; r < y1; r++) img.fill(0, (ch * h + r) * w + x0, (ch * h + r) * w + x1);
}

// ---- As tfjs ops (the tfjs engine; twice differentiable, for the gradient penalty) ----

/**
 * T(x) for x [n, C*H*W] from ops whose gradients are differentiable again: the colour steps as
 * means, products and sums; the translation as products with 0/1 shift matrices (exact); the
 * cutout as a 0/1 mask. No tidy: the gradient tape keeps the intermediates; call it inside one.
 */
export function augmentTensor(d: AugmentDraws, x: tf.Tensor2D): tf.Tensor2D {
  const [c, h, w] = d.shape;
  const n = d.n;
  const size = c * h * w;
  let y: tf.Tensor = tf.add(x, tf.tensor2d(d.brightness, [n, 1]));
  if (d.saturation) {
    const planes = tf.reshape(y, [n, c, h * w]);
    const m = tf.mean(planes, 1, true);
    y = tf.reshape(tf.add(tf.mul(tf.sub(planes, m), tf.tensor3d(d.saturation, [n, 1, 1])), m), [n, size]);
  }
  const m = tf.mean(y, 1, true);
  y = tf.add(tf.mul(tf.sub(y, m), tf.tensor2d(d.contrast, [n, 1])), m);
  // Per image plane: rows R [h, h] x plane x columns K [w, w]; R[r, r + dy] = 1, K[q + dx, q] = 1.
  const rows = new Float32Array(n * c * h * h);
  const cols = new Float32Array(n * c * w * w);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const p = i * c + ch;
      for (let r = 0; r < h; r++) if (r + d.dy[i]! >= 0 && r + d.dy[i]! < h) rows[(p * h + r) * h + r + d.dy[i]!] = 1;
      for (let q = 0; q < w; q++) if (q + d.dx[i]! >= 0 && q + d.dx[i]! < w) cols[(p * w + q + d.dx[i]!) * w + q] = 1;
    }
  }
  const planes = tf.reshape(y, [n * c, h, w]) as tf.Tensor3D;
  y = tf.matMul(tf.matMul(tf.tensor3d(rows, [n * c, h, h]), planes), tf.tensor3d(cols, [n * c, w, w]));
  const mask = new Float32Array(n * size).fill(1);
  for (let i = 0; i < n; i++) cutout(mask.subarray(i * size, (i + 1) * size), d, i);
  return tf.mul(tf.reshape(y, [n, size]), tf.tensor2d(mask, [n, size])) as tf.Tensor2D;
}
