// The generator's exponential moving average (--ema): used by the trainer and by export, which
// loads only the generator.
import * as tf from '@tensorflow/tfjs-core';
import { Rng, fillUniform } from '../common/rng.js';
import type { Sequential } from './layers.js';

/** Warm-up (as TF's ExponentialMovingAverage with num_updates): early averages are not dominated by the random initial weights. */
export const emaDecayAt = (decay: number, step: number): number => Math.min(decay, (1 + step) / (10 + step));

/** Put `values` (same order as net.weights) into the network; returns the function that restores it. */
export function swapWeights(net: Sequential, values: tf.Tensor[]): () => void {
  const saved = net.weights.map((w) => w.clone());
  net.weights.forEach((w, i) => w.assign(values[i]!));
  return () => {
    net.weights.forEach((w, i) => w.assign(saved[i]!));
    tf.dispose(saved);
  };
}

/**
 * Put averaged weights into the generator (until the returned function is called). BatchNorm's
 * running statistics belong to the live weights, not to their average, so they are recomputed.
 */
export function useAveragedWeights(generator: Sequential, averaged: tf.Tensor[], noiseDim: number, numClasses: number): () => void {
  const restore = swapWeights(generator, averaged);
  standingStatistics(generator, noiseDim, numClasses);
  return restore;
}

/** Recompute BatchNorm's running statistics for the generator's current weights on a fixed batch of noise ("standing statistics"). */
export function standingStatistics(generator: Sequential, noiseDim: number, numClasses: number): void {
  const n = 2000;
  const calibration = new Rng(0x5eed);
  tf.tidy(() => {
    const noise = tf.tensor2d(fillUniform(calibration, new Float32Array(n * noiseDim)), [n, noiseDim]);
    const labels = tf.tensor1d(
      Int32Array.from({ length: n }, (_, i) => i % numClasses),
      'int32',
    );
    generator.recalibrateBatchNorm(noise, { training: false, labels });
  });
}
