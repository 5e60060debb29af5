// Features [C*H*W] (in C, H, W order, as images are stored) -> an image [C, H, W]; its tfjs tensor
// is NHWC, ONNX's NCHW.
import * as tf from '@tensorflow/tfjs-core';
import { features, layerKind, Stateless } from './kind.js';
import { chwToHwc, hwcToChw } from '../../backend/conv-kernels.js';

export interface ReshapeConfig {
  type: 'Reshape';
  shape: [number, number, number];
}

export class Reshape extends Stateless {
  constructor(
    name: string,
    readonly config: ReshapeConfig,
  ) {
    super(name);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.transpose(tf.reshape(x, [-1, ...this.config.shape]), [0, 2, 3, 1]);
  }
}

export const reshape = layerKind<ReshapeConfig, Reshape>({
  type: 'Reshape',
  schema: (z) => z.object({ type: z.literal('Reshape'), shape: z.tuple([z.int().min(1), z.int().min(1), z.int().min(1)]) }),
  create: (name, c) => new Reshape(name, c),
  outputShape: (c, input) => {
    const [ch, h, w] = c.shape;
    if (features('Reshape', input) !== ch * h * w) throw new Error(`Reshape to [${c.shape}] takes ${ch * h * w} features, not ${input[0]}`);
    return [...c.shape];
  },
  onnx: (l, x, { g }) => g.node('Reshape', [x, g.int64(`${l.name}/shape`, [-1, ...l.config.shape])]),
  tfjs: (l, h, { tfjs, name }) => {
    const chw = tfjs.layers.reshape({ targetShape: l.config.shape, name }).apply(h) as typeof h;
    return tfjs.layers.permute({ dims: [2, 3, 1], name: `${name}_nhwc` }).apply(chw) as typeof h;
  },
  handForward: (l, x, { n }) => chwToHwc(x, n, ...l.config.shape, new Float32Array(x.length)),
  handBackward: (l, _x, _y, dy, { n }) => hwcToChw(dy, n, ...l.config.shape, new Float32Array(dy.length)),
  handPenalty: (l, _x, _u, G, { n }) => chwToHwc(G, n, ...l.config.shape, new Float32Array(G.length)),
});
