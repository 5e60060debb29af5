import * as tf from '@tensorflow/tfjs-core';

/**
 * WGAN-GP penalty lambda * mean((||dC/dx(x_hat)||_2 - 1)^2), x_hat = eps*real + (1-eps)*fake with
 * eps ~ U(0,1) per sample ([B, 1]). Called inside the critic's variableGrads, so its parameter
 * gradient is a gradient of a gradient: every op in `critic` needs a differentiable gradient.
 */
export function gradientPenalty(
  critic: (x: tf.Tensor2D) => tf.Tensor2D,
  real: tf.Tensor2D,
  fake: tf.Tensor2D,
  eps: tf.Tensor2D,
  lambda: number,
): tf.Scalar {
  const xHat = tf.add(tf.mul(eps, real), tf.mul(tf.sub(1, eps), fake)) as tf.Tensor2D;
  // Summing the outputs is the reference's grad_outputs=ones.
  const grad = tf.grad((x: tf.Tensor) => tf.sum(critic(x as tf.Tensor2D)))(xHat) as tf.Tensor2D;
  // 1e-12 keeps sqrt's gradient finite at a zero gradient norm.
  const norm = tf.sqrt(tf.add(tf.sum(tf.square(grad), 1), 1e-12));
  return tf.mul(tf.mean(tf.square(tf.sub(norm, 1))), lambda) as tf.Scalar;
}

/**
 * R1 penalty (Mescheder et al. 2018) gamma/2 * mean(||dD/dx(real)||^2) for the cross-entropy GAN,
 * where D is the discriminator's real-vs-fake logit difference. Like the WGAN-GP penalty it is a
 * gradient of a gradient, called inside the discriminator's variableGrads.
 */
export function r1Penalty(logitDiff: (x: tf.Tensor2D) => tf.Tensor1D, real: tf.Tensor2D, gamma: number): tf.Scalar {
  const grad = tf.grad((x: tf.Tensor) => tf.sum(logitDiff(x as tf.Tensor2D)))(real) as tf.Tensor2D;
  return tf.mul(tf.mean(tf.sum(tf.square(grad), 1)), gamma / 2) as tf.Scalar;
}
