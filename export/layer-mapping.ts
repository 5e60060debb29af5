// Maps a trained layer stack to ONNX nodes, layer by layer. No per-model template: any order of
// known layers exports; an unknown layer stops the export with its name and class.
import type * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Dense, Dropout, LabelEmbedding, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh, type Layer } from '../train/layers.js';
import { ELEM, GraphBuilder } from '../common/onnx-graph.js';
import { DIGIT_SHAPE, imageValues, IO, type ImageShape } from '../common/metadata.js';

export class UnsupportedLayerError extends Error {}

const values = (v: tf.Tensor): Float32Array => v.dataSync() as Float32Array;

/** Append the nodes of one layer; returns the name of its output tensor. */
export function mapLayer(g: GraphBuilder, layer: Layer, x: string, label: string | null): string {
  if (layer instanceof Dense) {
    const { inputDim, units } = layer.config;
    const w = g.weight(`${layer.name}/kernel`, values(layer.kernel), [inputDim, units]);
    const b = g.weight(`${layer.name}/bias`, values(layer.bias), [units]);
    return g.node('Gemm', [x, w, b]);
  }
  if (layer instanceof LeakyReLU) return g.node('LeakyRelu', [x], { alpha: { f: layer.config.alpha } });
  if (layer instanceof Tanh) return g.node('Tanh', [x]);
  if (layer instanceof ReLU) return g.node('Relu', [x]);
  if (layer instanceof Sigmoid) return g.node('Sigmoid', [x]);
  if (layer instanceof Dropout) return x; // identity at inference
  if (layer instanceof BatchNorm) {
    // Inference BatchNorm is affine: x*scale + shift with the running statistics folded in.
    const gamma = values(layer.gamma);
    const beta = values(layer.beta);
    const mean = values(layer.movingMean);
    const variance = values(layer.movingVariance);
    const scale = gamma.map((gm, i) => gm / Math.sqrt(variance[i]! + layer.config.epsilon));
    const shift = beta.map((bt, i) => bt - mean[i]! * scale[i]!);
    const n = layer.config.units;
    return g.node('Add', [g.node('Mul', [x, g.weight(`${layer.name}/scale`, scale, [n])]), g.weight(`${layer.name}/shift`, shift, [n])]);
  }
  if (layer instanceof LabelEmbedding) {
    if (!label) throw new UnsupportedLayerError(`${layer.name} (LabelEmbedding) needs a label input`);
    const { numClasses, dim } = layer.config;
    const table = g.weight(`${layer.name}/embeddings`, values(layer.table), [numClasses, dim]);
    return g.node('Concat', [x, g.node('Gather', [table, label], { axis: { i: 0 } })], { axis: { i: 1 } });
  }
  const cls = (layer as object).constructor?.name ?? typeof layer;
  throw new UnsupportedLayerError(`cannot export layer "${(layer as Layer).name}" of class ${cls}: no ONNX mapping for it`);
}

/**
 * The generator as an ONNX graph with the onnxgan interface: `noise` float32 [N, noise_dim],
 * `label` int64 [N] (conditional only) -> `image` float32 [N, C, H, W] (the digits: [N, 1, 28, 28]).
 */
export function generatorGraph(net: Sequential, precision: 'fp32' | 'fp16', imageShape: ImageShape = DIGIT_SHAPE): GraphBuilder {
  const g = new GraphBuilder(precision);
  let h = g.input(IO.noise, ELEM.float, ['N', net.config.inputDim]);
  const label = net.conditional ? g.input(IO.label, ELEM.int64, ['N']) : null;
  for (const layer of net.layers) h = mapLayer(g, layer, h, label);
  if (net.outputDim !== imageValues(imageShape)) throw new UnsupportedLayerError(`the network outputs ${net.outputDim} values, not ${imageShape.join('x')} = ${imageValues(imageShape)}`);
  g.node('Reshape', [h, g.int64('image_shape', [-1, ...imageShape])], {}, IO.image);
  g.output(IO.image, ELEM.float, ['N', ...imageShape]);
  return g;
}
