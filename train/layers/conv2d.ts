// torch.nn.Conv2d with explicit padding [top, left, bottom, right] (ONNX's order) and torch's init.
// tfjs keeps the kernel [kh, kw, in, out] (NHWC); ONNX wants [out, in, kh, kw].
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../common/rng.js';
import { addInto, image, layerKind, pytorchUniform, values, vname, type Layer } from './kind.js';
import { convGeometry, type ConvGeometry } from '../../backend/conv-kernels.js';

export interface Conv2DConfig {
  type: 'Conv2D';
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  /** Zero padding [top, left, bottom, right]. */
  pads: [number, number, number, number];
}

/** Padding schema shared by the convolutions. */
export const padsSchema = (z: typeof import('zod').z) => z.tuple([z.int().min(0), z.int().min(0), z.int().min(0), z.int().min(0)]);

/** tfjs [kh, kw, a, b] -> ONNX [a or b first as `order` says, ..., kh, kw]. */
export function kernelToOnnx(k: tf.Variable, order: [number, number, number, number]): { data: Float32Array; dims: number[] } {
  return tf.tidy(() => {
    const t = tf.transpose(k, order);
    return { data: values(t), dims: t.shape };
  });
}

export class Conv2D implements Layer {
  readonly kernel: tf.Variable; // [kh, kw, in, out]
  readonly bias: tf.Variable;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  constructor(
    readonly name: string,
    readonly config: Conv2DConfig,
    rng: Rng,
  ) {
    const { inChannels, outChannels, kernel: k } = config;
    const bound = 1 / Math.sqrt(inChannels * k * k);
    this.kernel = tf.variable(
      tf.tensor4d(pytorchUniform(rng, k * k * inChannels * outChannels, bound), [k, k, inChannels, outChannels]),
      true,
      vname(`${name}/kernel`),
    );
    this.bias = tf.variable(tf.tensor1d(pytorchUniform(rng, outChannels, bound)), true, vname(`${name}/bias`));
    this.trainable = [this.kernel, this.bias];
  }
  apply(x: tf.Tensor): tf.Tensor {
    const [t, l, b, r] = this.config.pads;
    const y = tf.conv2d(x as tf.Tensor4D, this.kernel as tf.Tensor4D, this.config.stride, [
      [0, 0],
      [t, b],
      [l, r],
      [0, 0],
    ]);
    return tf.add(y, this.bias);
  }
}

/** The convolution of an input of `shape` [C, H, W], n of them. */
const geometry = (c: Conv2DConfig, n: number, shape: number[]): ConvGeometry =>
  convGeometry({
    n,
    h: shape[1]!,
    w: shape[2]!,
    c: c.inChannels,
    o: c.outChannels,
    kh: c.kernel,
    kw: c.kernel,
    sh: c.stride,
    sw: c.stride,
    pads: c.pads,
  });

export const conv2d = layerKind<Conv2DConfig, Conv2D>({
  type: 'Conv2D',
  schema: (z) =>
    z.object({
      type: z.literal('Conv2D'),
      inChannels: z.int().min(1),
      outChannels: z.int().min(1),
      kernel: z.int().min(1),
      stride: z.int().min(1),
      pads: padsSchema(z),
    }),
  create: (name, c, rng) => new Conv2D(name, c, rng),
  outputShape: (c, input) => {
    const [, h, w] = image('Conv2D', input, c.inChannels);
    const [t, l, b, r] = c.pads;
    const out = (size: number, pad: number): number => Math.floor((size + pad - c.kernel) / c.stride) + 1;
    const [oh, ow] = [out(h, t + b), out(w, l + r)];
    if (oh < 1 || ow < 1) throw new Error(`Conv2D of kernel ${c.kernel} does not fit an image of ${h}x${w}`);
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
      'Conv',
      [x, g.weight(`${l.name}/kernel`, w.data, w.dims), g.weight(`${l.name}/bias`, values(l.bias), [l.config.outChannels])],
      attrs,
    );
  },
  tfjs: (l, h, { tfjs, name, add }) => {
    const { kernel: k, stride, outChannels, pads } = l.config;
    const padded = pads.some((p) => p > 0)
      ? (tfjs.layers
          .zeroPadding2d({
            padding: [
              [pads[0], pads[2]],
              [pads[1], pads[3]],
            ],
            name: `${name}_pad`,
          })
          .apply(h) as typeof h)
      : h;
    return add(tfjs.layers.conv2d({ filters: outChannels, kernelSize: k, strides: stride, padding: 'valid', name }), [
      l.kernel.clone(),
      l.bias.clone(),
    ]).apply(padded) as typeof h;
  },
  handForward: (l, x, { conv, n, shape }) => {
    const g = geometry(l.config, n, shape);
    return conv.conv2d(x, values(l.kernel), values(l.bias), g, new Float32Array(g.rows * g.o));
  },
  handBackward: (l, x, _y, dy, { conv, n, shape }, [dF, db]) => {
    const g = geometry(l.config, n, shape);
    const [tF, tb] = [new Float32Array(dF!.length), new Float32Array(g.o)];
    conv.conv2dFilterGrad(x, dy, g, tF, tb);
    addInto(dF!, tF);
    addInto(db!, tb);
    return conv.conv2dInputGrad(dy, values(l.kernel), g, new Float32Array(x.length));
  },
  // Linear in x: dF += the filter gradient of (G, u), J G = conv(G, F) without the bias.
  handPenalty: (l, x, u, G, { conv, n, shape }, [dF]) => {
    const g = geometry(l.config, n, shape);
    const tF = new Float32Array(dF!.length);
    conv.conv2dFilterGrad(G, u, g, tF, null);
    addInto(dF!, tF);
    return conv.conv2d(G, values(l.kernel), null, g, new Float32Array(u.length));
  },
  kernels: ['Conv2DBackpropFilter'],
});
