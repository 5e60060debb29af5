// Keras layer classes tfjs-layers lacks although Keras models (and the coverage) use them:
// registered here so tfjs can build and run such models as the conversion's reference.
import type * as tf from '@tensorflow/tfjs';
import { tfjs } from '../backend/tfjs.js';

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
  const known = (tfjs.serialization as unknown as { SerializationMap: { getMap(): { classNameMap: Record<string, unknown> } } }).SerializationMap.getMap().classNameMap;
  for (const cls of [Subtract, SpatialDropout2D]) if (!known[cls.className]) tfjs.serialization.registerClass(cls);
}
