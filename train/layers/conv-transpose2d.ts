// torch.nn.ConvTranspose2d: the full transposed convolution, s*(in-1)+k per side, cropped by
// pads [top, left, bottom, right] as ONNX's ConvTranspose crops (so the output is
// s*(in-1) + k - top - bottom). tfjs keeps the kernel [kh, kw, out, in]; ONNX wants [in, out, kh, kw].
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../common/rng.js';
import { addInto, image, layerKind, pytorchUniform, values, vname, type Layer } from './kind.js';
import { kernelToOnnx, padsSchema } from './conv2d.js';
import { addBias, channelSums, convTransposeGeometry, type ConvGeometry } from '../../backend/conv-kernels.js';

export interface ConvTranspose2DConfig {
  type: 'ConvTranspose2D';
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  /** What is cropped off the full output [top, left, bottom, right]. */
  pads: [number, number, number, number];
}

const fullSize = (c: ConvTranspose2DConfig, size: number): number => c.stride * (size - 1) + c.kernel;

export class ConvTranspose2D implements Layer {
  readonly kernel: tf.Variable; // [kh, kw, out, in]
  readonly bias: tf.Variable;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  constructor(
    readonly name: string,
    readonly config: ConvTranspose2DConfig,
    rng: Rng,
  ) {
    const { inChannels, outChannels, kernel: k } = config;
    // torch computes fan_in from weight.size(1) * k * k, which for ConvTranspose2d is out_channels.
    const bound = 1 / Math.sqrt(outChannels * k * k);
    this.kernel = tf.variable(
      tf.tensor4d(pytorchUniform(rng, k * k * outChannels * inChannels, bound), [k, k, outChannels, inChannels]),
      true,
      vname(`${name}/kernel`),
    );
    this.bias = tf.variable(tf.tensor1d(pytorchUniform(rng, outChannels, bound)), true, vname(`${name}/bias`));
    this.trainable = [this.kernel, this.bias];
  }
  apply(x: tf.Tensor): tf.Tensor {
    const c = this.config;
    const [n, h, w] = x.shape as [number, number, number, number];
    const [fh, fw] = [fullSize(c, h), fullSize(c, w)];
    const full = tf.conv2dTranspose(x as tf.Tensor4D, this.kernel as tf.Tensor4D, [n, fh, fw, c.outChannels], c.stride, 'valid');
    const [t, l, b, r] = c.pads;
    const cropped = t + l + b + r ? tf.slice(full, [0, t, l, 0], [n, fh - t - b, fw - l - r, c.outChannels]) : full;
    return tf.add(cropped, this.bias);
  }
}

/** The convolution whose input gradient this layer is, for an input of `shape` [C, H, W], n of them. */
const geometry = (c: ConvTranspose2DConfig, n: number, shape: number[]): ConvGeometry =>
  convTransposeGeometry({
    n,
    h: shape[1]!,
    w: shape[2]!,
    inChannels: c.inChannels,
    outChannels: c.outChannels,
    kh: c.kernel,
    kw: c.kernel,
    sh: c.stride,
    sw: c.stride,
    pads: c.pads,
  });

export const convTranspose2d = layerKind<ConvTranspose2DConfig, ConvTranspose2D>({
  type: 'ConvTranspose2D',
  schema: (z) =>
    z.object({
      type: z.literal('ConvTranspose2D'),
      inChannels: z.int().min(1),
      outChannels: z.int().min(1),
      kernel: z.int().min(1),
      stride: z.int().min(1),
      pads: padsSchema(z),
    }),
  create: (name, c, rng) => new ConvTranspose2D(name, c, rng),
  outputShape: (c, input) => {
    const [, h, w] = image('ConvTranspose2D', input, c.inChannels);
    const [t, l, b, r] = c.pads;
    const [oh, ow] = [fullSize(c, h) - t - b, fullSize(c, w) - l - r];
    if (oh < 1 || ow < 1) throw new Error(`ConvTranspose2D pads [${c.pads}] crop all of a ${fullSize(c, h)}x${fullSize(c, w)} output`);
    return [c.outChannels, oh, ow];
  },
  onnx: (l, x, { g }) => {
    const { kernel: k, stride, pads } = l.config;
    const w = kernelToOnnx(l.kernel, [3, 2, 0, 1]);
    const attrs = {
      kernel_shape: { ints: [k, k] },
      strides: { ints: [stride, stride] },
      pads: { ints: [pads[0], pads[1], pads[2], pads[3]] },
    };
    return g.node(
      'ConvTranspose',
      [x, g.weight(`${l.name}/kernel`, w.data, w.dims), g.weight(`${l.name}/bias`, values(l.bias), [l.config.outChannels])],
      attrs,
    );
  },
  tfjs: (l, h, { tfjs, name, add }) => {
    const { kernel: k, stride, outChannels, pads } = l.config;
    const full = add(tfjs.layers.conv2dTranspose({ filters: outChannels, kernelSize: k, strides: stride, padding: 'valid', name }), [
      l.kernel.clone(),
      l.bias.clone(),
    ]).apply(h) as typeof h;
    return pads.some((p) => p > 0)
      ? (tfjs.layers
          .cropping2D({
            cropping: [
              [pads[0], pads[2]],
              [pads[1], pads[3]],
            ],
            name: `${name}_crop`,
          })
          .apply(full) as typeof h)
      : full;
  },
  // The input gradient of the convolution its output would be the input of (conv-kernels.ts).
  handForward: (l, x, { conv, n, shape }) => {
    const g = geometry(l.config, n, shape);
    const y = conv.conv2dInputGrad(x, values(l.kernel), g, new Float32Array(n * g.h * g.w * g.c));
    addBias(y, n * g.h * g.w, g.c, values(l.bias));
    return y;
  },
  // Of that convolution (input dy, output x): dF is its filter gradient, dx its forward.
  handBackward: (l, x, _y, dy, { conv, n, shape }, [dF, db]) => {
    const g = geometry(l.config, n, shape);
    const tF = new Float32Array(dF!.length);
    conv.conv2dFilterGrad(dy, x, g, tF, null);
    addInto(dF!, tF);
    addInto(db!, channelSums(dy, n * g.h * g.w, g.c, new Float32Array(g.c)));
    return conv.conv2d(dy, values(l.kernel), null, g, new Float32Array(x.length));
  },
  kernels: ['Conv2DBackpropFilter'],
});
