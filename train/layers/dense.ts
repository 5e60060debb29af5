// Linear layer, initialised like torch.nn.Linear: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../common/rng.js';
import { addInto, features, layerKind, pytorchUniform, values, vname, type Layer } from './kind.js';
import { addBias, channelSums } from '../../backend/conv-kernels.js';

export interface DenseConfig {
  type: 'Dense';
  inputDim: number;
  units: number;
}

export class Dense implements Layer {
  readonly kernel: tf.Variable; // [inputDim, units]
  readonly bias: tf.Variable;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  constructor(
    readonly name: string,
    readonly config: DenseConfig,
    rng: Rng,
  ) {
    const { inputDim, units } = config;
    const bound = 1 / Math.sqrt(inputDim);
    this.kernel = tf.variable(tf.tensor2d(pytorchUniform(rng, inputDim * units, bound), [inputDim, units]), true, vname(`${name}/kernel`));
    this.bias = tf.variable(tf.tensor1d(pytorchUniform(rng, units, bound)), true, vname(`${name}/bias`));
    this.trainable = [this.kernel, this.bias];
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.add(tf.matMul(x as tf.Tensor2D, this.kernel as tf.Tensor2D), this.bias);
  }
}

export const dense = layerKind<DenseConfig, Dense>({
  type: 'Dense',
  schema: (z) => z.object({ type: z.literal('Dense'), inputDim: z.int().min(1), units: z.int().min(1) }),
  create: (name, c, rng) => new Dense(name, c, rng),
  outputShape: (c, input) => {
    if (features('Dense', input) !== c.inputDim) throw new Error(`Dense takes ${c.inputDim} features, not ${input[0]}`);
    return [c.units];
  },
  onnx: (l, x, { g }) => {
    const { inputDim, units } = l.config;
    return g.node('Gemm', [
      x,
      g.weight(`${l.name}/kernel`, values(l.kernel), [inputDim, units]),
      g.weight(`${l.name}/bias`, values(l.bias), [units]),
    ]);
  },
  tfjs: (l, h, { tfjs, name, add }) =>
    add(tfjs.layers.dense({ units: l.config.units, name }), [l.kernel.clone(), l.bias.clone()]).apply(h) as typeof h,
  handForward: (l, x, { gemm, n }) => {
    const { inputDim, units } = l.config;
    const y = new Float32Array(n * units);
    gemm(x, [n, inputDim], values(l.kernel), [inputDim, units], false, false, y);
    addBias(y, n, units, values(l.bias));
    return y;
  },
  handBackward: (l, x, _y, dy, { gemm, n }, [dW, db]) => {
    const { inputDim, units } = l.config;
    const t = new Float32Array(inputDim * units);
    gemm(x, [n, inputDim], dy, [n, units], true, false, t);
    addInto(dW!, t);
    addInto(db!, channelSums(dy, n, units, new Float32Array(units)));
    const dx = new Float32Array(n * inputDim);
    gemm(dy, [n, units], values(l.kernel), [inputDim, units], false, true, dx);
    return dx;
  },
  // Linear in x: dW += G^T u, J G = G W; the bias takes no part in the input gradient.
  handPenalty: (l, _x, u, G, { gemm, n }, [dW]) => {
    const { inputDim, units } = l.config;
    const t = new Float32Array(inputDim * units);
    gemm(G, [n, inputDim], u, [n, units], true, false, t);
    addInto(dW!, t);
    const out = new Float32Array(n * units);
    gemm(G, [n, inputDim], values(l.kernel), [inputDim, units], false, false, out);
    return out;
  },
  hand: 'any',
});
