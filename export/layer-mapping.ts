// Maps a trained layer stack to ONNX nodes, layer by layer, with each kind's own mapping
// (train/layers/<kind>.ts). No per-model template: any order of known layers exports; a layer
// without a mapping stops the export with its name and class.
import { kindOf } from '../train/layers/registry.js';
import type { LayerKind } from '../train/layers/kind.js';
import type { Layer, Sequential, Shape } from '../train/layers.js';
import { ELEM, GraphBuilder } from '../common/onnx-graph.js';
import { imageValues, IO, type ImageShape } from '../common/metadata.js';

export class UnsupportedLayerError extends Error {}

/** The registered kind of a layer with a mapping `has`; else a one-line error naming the layer and its class. */
export function exportableKind(layer: Layer, what: 'ONNX' | 'tfjs', has: (k: LayerKind) => boolean): LayerKind {
  let kind: LayerKind | undefined;
  try {
    kind = kindOf(layer.config);
  } catch {
    kind = undefined;
  }
  if (!kind || !has(kind)) {
    const cls = (layer as object).constructor?.name ?? typeof layer;
    throw new UnsupportedLayerError(`cannot export layer "${layer.name}" of class ${cls}: no ${what} mapping for it`);
  }
  return kind;
}

/** Each layer with its input shape, the network's output shape last (checked by each kind). */
export function layerShapes(net: Sequential, what: 'ONNX' | 'tfjs'): { layer: Layer; kind: LayerKind; shape: Shape }[] {
  let shape: Shape = [net.config.inputDim];
  return net.layers.map((layer) => {
    const kind = exportableKind(layer, what, (k) => (what === 'ONNX' ? !!k.onnx : !!k.tfjs));
    const at = { layer, kind, shape };
    shape = kind.outputShape(layer.config, shape);
    return at;
  });
}

/** Append the nodes of one layer (of input shape `shape`: features by default); returns its output's name. */
export function mapLayer(g: GraphBuilder, layer: Layer, x: string, label: string | null, shape: Shape = [NaN]): string {
  const kind = exportableKind(layer, 'ONNX', (k) => !!k.onnx);
  try {
    return kind.onnx!(layer, x, { g, label, shape });
  } catch (e) {
    throw new UnsupportedLayerError(`${layer.name}: ${(e as Error).message}`);
  }
}

/**
 * The generator as an ONNX graph with the onnxgan interface: `noise` float32 [N, noise_dim],
 * `label` int64 [N] (conditional only) -> `image` float32 [N, C, H, W] (the digits: [N, 1, 28, 28]).
 */
export function generatorGraph(net: Sequential, precision: 'fp32' | 'fp16', imageShape: ImageShape): GraphBuilder {
  const g = new GraphBuilder(precision);
  let h = g.input(IO.noise, ELEM.float, ['N', net.config.inputDim]);
  const label = net.conditional ? g.input(IO.label, ELEM.int64, ['N']) : null;
  for (const { layer, shape } of layerShapes(net, 'ONNX')) h = mapLayer(g, layer, h, label, shape);
  if (net.outputDim !== imageValues(imageShape))
    throw new UnsupportedLayerError(
      `the network outputs ${net.outputDim} values, not ${imageShape.join('x')} = ${imageValues(imageShape)}`,
    );
  g.node('Reshape', [h, g.int64('image_shape', [-1, ...imageShape])], {}, IO.image);
  g.output(IO.image, ELEM.float, ['N', ...imageShape]);
  return g;
}
