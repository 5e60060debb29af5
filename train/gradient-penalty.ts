// The tfjs engine's side of algorithms.ts: a loss defined there on plain values becomes a tfjs scalar
// whose gradient is the definition's own, and a penalty's squared input-gradient norms are computed
// by tfjs's autodiff (so the penalty's parameter gradient is a gradient of a gradient: every op in
// the critic needs a differentiable gradient).
import * as tf from '@tensorflow/tfjs-core';
import type { Loss, Penalty } from './algorithms.js';

/** `f(values of inputs)` as a scalar whose gradient with respect to input k is dy * f's grads[k]. */
export function definedLoss(inputs: tf.Tensor[], f: (values: Float32Array[]) => { loss: number; grads: Float32Array[] }): tf.Scalar {
  const op = tf.customGrad((...args: unknown[]) => {
    const xs = args.slice(0, inputs.length) as tf.Tensor[];
    const r = f(xs.map((x) => x.dataSync() as Float32Array));
    return { value: tf.scalar(r.loss), gradFunc: (dy: tf.Tensor) => r.grads.map((g, i) => tf.mul(dy, tf.tensor(g, xs[i]!.shape))) };
  });
  return op(...inputs) as tf.Scalar;
}

/** One loss term of algorithms.ts on one tensor. */
export const lossOf = (x: tf.Tensor, term: (values: Float32Array) => Loss): tf.Scalar =>
  definedLoss([x], ([v]) => {
    const l = term(v!);
    return { loss: l.loss, grads: [l.grad] };
  });

/** Per row, ||d sum_i <weights, critic(x)_i> / dx_i||^2 ([n]), differentiable in the critic's weights. */
export function inputGradientSquares(critic: (x: tf.Tensor2D) => tf.Tensor2D, x: tf.Tensor2D, weights: number[]): tf.Tensor1D {
  const c = tf.tensor1d(weights);
  const grad = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(critic(xx as tf.Tensor2D), c)))(x) as tf.Tensor2D;
  return tf.sum(tf.square(grad), 1) as tf.Tensor1D;
}

/**
 * `penalty` (algorithms.ts) of `critic` at x [n, d] (the real images, or the interpolates
 * eps*real + (1-eps)*fake with eps [n, 1], as `penalty.at` says).
 */
export function penaltyLoss(
  penalty: Penalty,
  critic: (x: tf.Tensor2D) => tf.Tensor2D,
  real: tf.Tensor2D,
  fake?: tf.Tensor2D,
  eps?: tf.Tensor2D,
): tf.Scalar {
  const x = penalty.at === 'real' ? real : (tf.add(tf.mul(eps!, real), tf.mul(tf.sub(1, eps!), fake!)) as tf.Tensor2D);
  return lossOf(inputGradientSquares(critic, x, penalty.weights), (sq) => penalty.value(sq));
}

/** `penalty` reporting each value it computes to `seen` (a step's metrics). */
export const watched = (penalty: Penalty, seen: (loss: number) => void): Penalty => ({
  ...penalty,
  value: (sq) => {
    const l = penalty.value(sq);
    seen(l.loss);
    return l;
  },
});
