// Small real generators for server tests, built in milliseconds with the exporter's own graph builder
// (no training): noise [N, D] (+ label [N] through an embedding) -> Gemm -> Tanh -> [N, C, H, W].
// onnxruntime runs them like any exported model; options make them disagree with their metadata or
// fail on some inputs, the way models made by others can.
import { writeFileSync } from 'node:fs';
import { DIGIT_SHAPE, metadataToProps, type ImageShape, type ModelMetadata } from '../../common/metadata.js';
import { ELEM, GraphBuilder } from '../../common/onnx-graph.js';
import { Rng } from '../../common/rng.js';

export interface TinyOptions {
  noiseDim?: number;
  /** Class names: a conditional (cgan) model. */
  classes?: string[];
  imageShape?: ImageShape;
  /** Rows of the label embedding (default: one per class). */
  embeddingRows?: number;
  /** Route the label through an Add before the Gather, so the embedding cannot be found statically. */
  hideEmbedding?: boolean;
  /** The image holds NaN for rows whose first noise value is above this: fails only for some inputs. */
  failAbove?: number;
  /** metadata_props to set or replace (raw strings), e.g. a wrong onnxgan.noise_dim. */
  props?: Record<string, string>;
  /** Units of a hidden layer (default none): a slower model, whose runs overlap with arriving requests. */
  hidden?: number;
  /** Added to every pixel's pre-tanh value of each channel, e.g. [3, -3, -3]: a red image. */
  channelBias?: number[];
  seed?: number;
}

export function tinyGenerator(o: TinyOptions = {}): Uint8Array {
  const noiseDim = o.noiseDim ?? 8;
  const imageShape = o.imageShape ?? DIGIT_SHAPE;
  const classes = o.classes ?? null;
  const pixels = imageShape[0] * imageShape[1] * imageShape[2];
  const rng = new Rng(o.seed ?? 1);
  const random = (n: number, scale: number): Float32Array =>
    Float32Array.from({ length: n }, () => (rng.nextUint32() / 2 ** 32 - 0.5) * 2 * scale);
  const g = new GraphBuilder();
  let x = g.input('noise', ELEM.float, ['N', noiseDim]);
  let width = noiseDim;
  if (classes) {
    const embed = 4;
    let label = g.input('label', ELEM.int64, ['N']);
    if (o.hideEmbedding) label = g.node('Add', [label, g.int64('zero', [0])]);
    const table = g.weight('embedding', random((o.embeddingRows ?? classes.length) * embed, 1), [o.embeddingRows ?? classes.length, embed]);
    const e = g.node('Gather', [table, label], { axis: { i: 0 } });
    x = g.node('Concat', [x, e], { axis: { i: 1 } });
    width += embed;
  }
  if (o.hidden) {
    x = g.node('Tanh', [
      g.node('Gemm', [
        x,
        g.weight('hidden', random(width * o.hidden, 1), [width, o.hidden]),
        g.weight('hidden_bias', random(o.hidden, 0.1), [o.hidden]),
      ]),
    ]);
    width = o.hidden;
  }
  const bias = random(pixels, 0.5);
  const plane = imageShape[1] * imageShape[2];
  if (o.channelBias) for (let i = 0; i < pixels; i++) bias[i]! += o.channelBias[Math.floor(i / plane)] ?? 0;
  const h = g.node('Gemm', [
    x,
    g.weight('kernel', random(width * pixels, 1.5 / Math.sqrt(width / 8)), [width, pixels]),
    g.weight('bias', bias, [pixels]),
  ]);
  let image = g.node('Reshape', [g.node('Tanh', [h]), g.int64('shape', [-1, ...imageShape])]);
  if (o.failAbove !== undefined) {
    // sqrt(t - noise[:, 0]) * 0 is 0, or NaN where noise[:, 0] > t.
    const col = g.node('Slice', ['noise', g.int64('starts', [0]), g.int64('ends', [1]), g.int64('axes', [1])]);
    const nan = g.node('Mul', [
      g.node('Sqrt', [g.node('Sub', [g.weight('threshold', Float32Array.of(o.failAbove), []), col])]),
      g.weight('zero', Float32Array.of(0), []),
    ]);
    image = g.node('Add', [image, g.node('Reshape', [nan, g.int64('shape', [-1, 1, 1, 1])])]);
  }
  g.renameLast('image');
  g.output('image', ELEM.float, ['N', ...imageShape]);
  const meta: ModelMetadata = {
    kind: classes ? 'cgan' : 'gan',
    noiseDim,
    noise: 'uniform(-1,1)',
    classes,
    dataset: 'tiny',
    epochs: 1,
    steps: 1,
    valueRange: [-1, 1],
    imageShape,
  };
  return g.model('tiny', { ...metadataToProps(meta), ...o.props }, { name: 'onnxgan-tests', version: '0' });
}

export const writeTinyGenerator = (file: string, o: TinyOptions = {}): void => writeFileSync(file, tinyGenerator(o));
