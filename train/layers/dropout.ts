// Inverted dropout with masks from the run's seeded RNG, so resumed runs replay exactly.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../common/rng.js';
import { layerKind, sameShape, Stateless, type ForwardContext } from './kind.js';

export interface DropoutConfig {
  type: 'Dropout';
  rate: number;
}

/** An inverted-dropout mask of `size` values, 0 or 1/(1-rate), from `rng` (train/mlp-net.ts draws the same). */
export function dropoutMask(rng: Rng, size: number, rate: number): Float32Array {
  const keep = 1 - rate;
  // Two 16-bit draws per random word: keep-probability resolution 2^-16 (0.5 is exact).
  const threshold = Math.round(keep * 65536);
  const words = Math.ceil(size / 2);
  const bits = rng.fillUint32(new Uint32Array(words));
  // Branch-free: (draw - threshold) >> 31 is all ones exactly when draw < threshold, and selects the
  // float bits of 1/keep: faster than a conditional float store, and masks are drawn every step.
  const scaleBits = new Int32Array(new Float32Array([1 / keep]).buffer)[0]!;
  const mask = new Int32Array(words * 2);
  for (let w = 0; w < words; w++) {
    const b = bits[w]!;
    mask[2 * w] = (((b & 0xffff) - threshold) >> 31) & scaleBits;
    mask[2 * w + 1] = (((b >>> 16) - threshold) >> 31) & scaleBits;
  }
  return new Float32Array(mask.buffer, 0, size);
}

export class Dropout extends Stateless {
  constructor(
    name: string,
    readonly config: DropoutConfig,
  ) {
    super(name);
  }
  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    if (!ctx.training || this.config.rate === 0) return x;
    if (!ctx.rng) throw new Error(`${this.name}: dropout in training needs an rng`);
    return tf.mul(x, tf.tensor(dropoutMask(ctx.rng, x.size, this.config.rate), x.shape));
  }
}

export const dropout = layerKind<DropoutConfig, Dropout>({
  type: 'Dropout',
  schema: (z) => z.object({ type: z.literal('Dropout'), rate: z.number().min(0).max(1) }),
  create: (name, c) => new Dropout(name, c),
  outputShape: sameShape,
  onnx: (_l, x) => x, // identity at inference
  tfjs: (l, h, { tfjs, name }) => tfjs.layers.dropout({ rate: l.config.rate, name }).apply(h) as typeof h,
  hand: 'any',
});
