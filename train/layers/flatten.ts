// An image [C, H, W] -> features [C*H*W] in C, H, W order (the inverse of Reshape).
import * as tf from '@tensorflow/tfjs-core';
import { image, layerKind, Stateless } from './kind.js';
import { chwToHwc, hwcToChw } from '../../backend/conv-kernels.js';

export class Flatten extends Stateless {
  constructor(
    name: string,
    readonly config: { type: 'Flatten' },
  ) {
    super(name);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0]!, -1]);
  }
}

export const flatten = layerKind<{ type: 'Flatten' }, Flatten>({
  type: 'Flatten',
  schema: (z) => z.object({ type: z.literal('Flatten') }),
  create: (name, c) => new Flatten(name, c),
  outputShape: (_c, input) => [image('Flatten', input).reduce((a, b) => a * b, 1)],
  onnx: (_l, x, { g }) => g.node('Flatten', [x], { axis: { i: 1 } }),
  tfjs: (_l, h, { tfjs, name }) => {
    const chw = tfjs.layers.permute({ dims: [3, 1, 2], name: `${name}_nchw` }).apply(h) as typeof h;
    return tfjs.layers.flatten({ name }).apply(chw) as typeof h;
  },
  // ctx.shape is [C, H, W]; the values are NHWC.
  handForward: (_l, x, { n, shape }) => hwcToChw(x, n, shape[0]!, shape[1]!, shape[2]!, new Float32Array(x.length)),
  handBackward: (_l, _x, _y, dy, { n, shape }) => chwToHwc(dy, n, shape[0]!, shape[1]!, shape[2]!, new Float32Array(dy.length)),
  handPenalty: (_l, _x, _u, G, { n, shape }) => hwcToChw(G, n, shape[0]!, shape[1]!, shape[2]!, new Float32Array(G.length)),
});
