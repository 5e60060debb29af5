// Keras layer classes tfjs-layers lacks although Keras models (and the coverage) use them:
// registered here so tfjs can build and run such models as the conversion's reference; and the
// weight budget tfjs builds a LayersModel under.
import type * as tf from '@tensorflow/tfjs';
import { tfjs } from '../backend/tfjs.js';
import { UnsupportedError } from './ops/errors.js';

/** Keras Subtract: inputs[0] - inputs[1]. */
class Subtract extends tfjs.layers.Layer {
  static readonly className = 'Subtract';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [a, b] = inputs as tf.Tensor[];
    if (!a || !b) throw new Error('Subtract needs exactly two inputs');
    return tfjs.sub(a, b);
  }
  override computeOutputShape(shapes: tf.Shape | tf.Shape[]): tf.Shape {
    return (shapes as tf.Shape[])[0]!;
  }
}

/** Keras SpatialDropout2D: the identity outside training. */
class SpatialDropout2D extends tfjs.layers.Layer {
  static readonly className = 'SpatialDropout2D';
  private readonly rate: number;
  constructor(args: { rate?: number } & Record<string, unknown>) {
    const { rate, noise_shape: _n, noiseShape: _s, seed: _seed, data_format: _d, dataFormat: _f, ...rest } = args;
    super(rest);
    this.rate = rate ?? 0.5;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return Array.isArray(inputs) ? inputs[0]! : inputs;
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}

let registered = false;
/** Registers the shims once (and only those tfjs does not define itself). */
export function registerShims(): void {
  if (registered) return;
  registered = true;
  const known = (
    tfjs.serialization as unknown as { SerializationMap: { getMap(): { classNameMap: Record<string, unknown> } } }
  ).SerializationMap.getMap().classNameMap;
  for (const cls of [Subtract, SpatialDropout2D]) if (!known[cls.className]) tfjs.serialization.registerClass(cls);
}

type AddWeight = (this: tf.layers.Layer, name: string, shape: tf.Shape, ...rest: unknown[]) => unknown;

/**
 * Runs `build` (tfjs building a LayersModel from its topology) with every weight a layer creates
 * checked first against the weights manifest: tfjs allocates (and fills) each weight at its declared
 * shape before it compares it with the manifest, so a topology declaring a Dense of a billion units
 * would cost gigabytes before failing. A weight larger than any in the manifest, or weights adding
 * up to more than the manifest holds, cannot match it: refused before allocation.
 */
export async function withWeightBudget<T>(manifest: { shape: number[] }[], build: () => Promise<T>): Promise<T> {
  const sizes = manifest.map((s) => s.shape.reduce((a, b) => a * b, 1));
  const largest = Math.max(0, ...sizes);
  let left = sizes.reduce((a, b) => a + b, 0);
  const proto = tfjs.layers.Layer.prototype as unknown as { addWeight: AddWeight };
  const original = proto.addWeight;
  proto.addWeight = function (this: tf.layers.Layer, name, shape, ...rest) {
    const n = shape.reduce((a: number, b) => a * (b ?? 1), 1);
    if (n > largest || n > left) {
      const why =
        n > largest ? `larger than any weight in the manifest (the largest has ${largest})` : 'more than the manifest has left for it';
      throw new UnsupportedError(
        `layer "${this.name}" declares weight "${name}" of shape [${shape.join(', ')}] (${n} values), ` +
          `${why}` +
          `: the topology does not match its weights`,
      );
    }
    left -= n;
    return original.call(this, name, shape, ...rest);
  };
  try {
    return await build();
  } finally {
    proto.addWeight = original;
  }
}
