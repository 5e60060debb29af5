// What every layer kind defines once (train/layers/<kind>.ts), and the registry (registry.ts) derives
// the checkpoint's schema, export's ONNX nodes, the tfjs-format writer and "runs on the hand-written
// engine" from. Types only from tfjs, zod and the graph builder: a kind file loads tfjs-core alone.
import type * as tf from '@tensorflow/tfjs-core';
import type * as Tfjs from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { GraphBuilder } from '../../common/onnx-graph.js';
import type { Rng } from '../../common/rng.js';
import type { Gemm } from '../../backend/ort-matmul.js';
import type { ConvKernels } from '../../backend/conv-kernels.js';

export interface ForwardContext {
  training: boolean;
  /** Integer class labels [N] for conditional layers. */
  labels?: tf.Tensor1D;
  /** Source of dropout masks (training only). */
  rng?: Rng;
  /** BatchNorm running statistics are updated only when true (default: training). */
  updateStats?: boolean;
}

/**
 * One sample's shape: [d] for features, [C, H, W] for images. The tfjs tensors of images are
 * NHWC (tfjs's convolutions are); ONNX's are NCHW; Reshape and Flatten convert at the edges.
 */
export type Shape = number[];

export interface Layer {
  readonly name: string;
  readonly config: { type: string };
  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor;
  /** Weights the optimiser updates. */
  readonly trainable: tf.Variable[];
  /** Weights updated by the forward pass (BatchNorm running statistics). */
  readonly state: tf.Variable[];
}

/** What a kind's ONNX nodes get: the graph, the label input (conditional models) and its input's shape. */
export interface OnnxContext {
  g: GraphBuilder;
  label: string | null;
  shape: Shape;
}

/**
 * What a kind's tfjs LayersModel form gets: tfjs itself (passed in: a kind file does not load it), the label input, a
 * unique name, and `add` to set a layer's weights once the model is built.
 */
export interface TfjsContext {
  tfjs: typeof Tfjs;
  label: Tfjs.SymbolicTensor | null;
  name: string;
  add<L extends Tfjs.layers.Layer>(layer: L, weights?: tf.Tensor[]): L;
}

/**
 * What a kind's hand-written forward gets: the GEMM and conv kernels, the batch's rows, its input's
 * shape (one sample's; images NHWC as tfjs's tensors), and the labels of conditional layers.
 */
export interface HandContext {
  gemm: Gemm;
  conv: ConvKernels;
  n: number;
  shape: Shape;
  labels?: Int32Array;
}

export interface LayerKind<C extends { type: string } = { type: string }, L extends Layer = Layer> {
  readonly type: C['type'];
  /** The config's schema (checkpoints are validated with it); zod is passed in. */
  schema(zod: typeof z): z.ZodType<C>;
  create(name: string, config: C, rng: Rng): L;
  /** Its output's shape for an input of `input`; throws on an input it cannot take. */
  outputShape(config: C, input: Shape): Shape;
  /** Its ONNX nodes after input `x`; returns the output's name. Absent: a layer export refuses (critic-only kinds). */
  onnx?(layer: L, x: string, ctx: OnnxContext): string;
  /** Its tfjs LayersModel form after `h`. Absent: --format tfjs refuses. */
  tfjs?(layer: L, h: Tfjs.SymbolicTensor, ctx: TfjsContext): Tfjs.SymbolicTensor;
  /**
   * Where train/mlp-net.ts runs it by hand: in any network, or only in the generator (no penalty double backward).
   * Absent: the run trains on tfjs's autodiff.
   */
  readonly hand?: 'any' | 'generator';
  /**
   * Its training-mode forward on Float32Arrays (train/hand-forward.ts walks a network with it; batch statistics, no
   * running-statistics update).
   */
  handForward?(layer: L, x: Float32Array, ctx: HandContext): Float32Array;
  /**
   * Its backward after `handForward` of x to y: given dy, write d<dy, y>/dweight into `grads` (one per
   * `layer.trainable`, zeroed by the caller, added into) and return dx.
   */
  handBackward?(layer: L, x: Float32Array, y: Float32Array, dy: Float32Array, ctx: HandContext, grads: Float32Array[]): Float32Array;
  /**
   * The gradient penalty's double backward (critic kinds; kind files with second-order terms in x
   * have none): the input-gradient pass gave u = d/dy at this layer's output; given G = dP/d(the
   * pass's value at its input), add dP/dweights into `grads` and return J G (G at its output).
   */
  handPenalty?(layer: L, x: Float32Array, u: Float32Array, G: Float32Array, ctx: HandContext, grads: Float32Array[]): Float32Array;
  /** It reads the labels (the network is conditional). */
  readonly conditional?: boolean;
  /** tfjs kernels its gradient needs that a backend may lack (the run picks another backend then). */
  readonly kernels?: readonly string[];
}

/** A kind with its types checked against each other (the registry holds them as LayerKind). */
export const layerKind = <C extends { type: string }, L extends Layer>(k: LayerKind<C, L>): LayerKind<C, L> => k;

let instance = 0;
/** tf variable names are global; a suffix keeps two networks in one process apart. */
export const vname = (name: string): string => `${name}#${instance++}`;
/** The stable key of a variable (its name without the process-unique suffix). */
export const weightKey = (v: tf.Variable): string => v.name.replace(/#\d+$/, '');

/** torch's default init of Linear and Conv weights and biases: U(-bound, bound), bound = 1/sqrt(fan_in). */
export const pytorchUniform = (rng: Rng, n: number, bound: number): Float32Array => {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.uniform() * 2 - 1) * bound;
  return out;
};

export const values = (v: tf.Tensor): Float32Array => v.dataSync() as Float32Array;

/** The input must be [d] features (a 1-D kind); returns d. */
export function features(type: string, input: Shape): number {
  if (input.length !== 1) throw new Error(`${type} takes features [d], not [${input}] (Flatten first)`);
  return input[0]!;
}

/** The input must be an image [C, H, W] with `channels` channels. */
export function image(type: string, input: Shape, channels?: number): [number, number, number] {
  if (input.length !== 3) throw new Error(`${type} takes an image [C, H, W], not [${input}] (Reshape first)`);
  if (channels !== undefined && input[0] !== channels) throw new Error(`${type} takes ${channels} channels, not ${input[0]}`);
  return input as [number, number, number];
}

/** An elementwise kind: any shape in, the same out. */
export const sameShape = (_c: unknown, input: Shape): Shape => input;

/** An elementwise hand-written forward. */
export const elementwise =
  (f: (v: number) => number) =>
  (_l: unknown, x: Float32Array): Float32Array =>
    x.map(f);

/** An elementwise hand-written backward: dx = dy * f'(x, y). */
export const elementwiseBackward =
  (slope: (x: number, y: number) => number) =>
  (_l: unknown, x: Float32Array, y: Float32Array, dy: Float32Array): Float32Array =>
    dy.map((g, i) => g * slope(x[i]!, y[i]!));

/** a += b. */
export function addInto(a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
}

/** A layer without weights. */
export abstract class Stateless implements Layer {
  readonly trainable: tf.Variable[] = [];
  readonly state: tf.Variable[] = [];
  constructor(readonly name: string) {}
  abstract readonly config: { type: string };
  abstract apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor;
}
