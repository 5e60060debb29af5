// What a run's networks cost in memory, said before anything is decoded or allocated: the mlp
// generator's last layer and critic's first grow with the image (C x H x W values), and a dcgan's
// layer outputs do (a 4096 px image is 268 M values per channel, per layer, per image of the
// batch), so a large --image-size makes networks that would fail after minutes (or take the
// machine's memory) instead of at the start.
import { constants } from 'node:buffer';
import { bytesText, MAX_TYPED_ARRAY, memoryLimit } from '../common/memory-limit.js';
import type { ImageShape, ModelKind } from '../common/metadata.js';
import { networkShapes, type LayerConfig, type NetworkConfig } from './layers.js';
import { architecture } from './models.js';
import type { Arch } from './options.js';

/**
 * Bytes per parameter while training: float32 weights, gradient and two Adam moments, the EMA copy,
 * and the hand-written step's own copy of the weights (train/mlp-step.ts): six float32 copies.
 */
export const BYTES_PER_PARAMETER = 6 * 4;
/**
 * Float32 copies of every layer's output, per image of the batch, that one training step holds at
 * its peak, at least: tfjs's tape keeps each op's inputs and outputs for the backward pass, and the
 * gradient penalty's double backward keeps those of the critic's gradient too. tf.profile's
 * peakBytes of one dcgan step on wasm (batch 16, 28-64 px) was 9x (gan) to 14-16x (cgan, wgan-gp)
 * the layer outputs of both networks; 8 keeps the estimate below every measured step.
 */
export const ACTIVATION_COPIES = 8;
/**
 * Characters of a checkpoint per parameter, at least: train/checkpoint.ts writes one JSON string
 * holding each weight and its two Adam moments as base64 of float32 (4 bytes -> 16/3 characters),
 * and a JavaScript string holds at most constants.MAX_STRING_LENGTH (2^29 - 24) characters.
 */
const CHECKPOINT_CHARS_PER_PARAMETER = (3 * 4 * 4) / 3;

/** Weights of one layer (its kinds' tensors; layers without weights 0). */
function layerParameters(l: LayerConfig): number {
  switch (l.type) {
    case 'Dense':
      return l.inputDim * l.units + l.units;
    case 'Conv2D':
    case 'ConvTranspose2D':
      return l.kernel * l.kernel * l.inChannels * l.outChannels + l.outChannels;
    case 'BatchNorm':
      return 4 * l.units;
    case 'LabelEmbedding':
      return l.numClasses * l.dim;
    case 'LabelProjection':
      return (l.numClasses + 1) * l.inputDim + 1;
    default:
      return 0;
  }
}
const parameters = (n: NetworkConfig): number => n.layers.reduce((s, l) => s + layerParameters(l), 0);
const largestWeight = (n: NetworkConfig): number => Math.max(0, ...n.layers.map(layerParameters));
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
/** Values of every layer's output for one image, and of the largest one. */
function outputs(name: string, n: NetworkConfig): { sum: number; largest: number } {
  const sizes = networkShapes(name, n).slice(1).map(size);
  return { sum: sizes.reduce((a, b) => a + b, 0), largest: Math.max(0, ...sizes) };
}

export interface MemoryEstimate {
  parameters: number;
  /** Values of every layer's output of both networks, for one image. */
  activations: number;
  /** Bytes to train: the parameters' copies and the batch's activations. */
  bytes: number;
  /** Of which the batch's activations. */
  activationBytes: number;
  /** Characters of its checkpoint, at least. */
  checkpointChars: number;
  /** Values of the largest tensor: a weight, or one layer's output for the whole batch. */
  largestTensor: number;
}

/** What the networks of `arch` for images of `shape` cost to train at `batch`. */
export function trainingMemory(kind: ModelKind, shape: ImageShape, arch: Arch, batch: number, classes = 10): MemoryEstimate {
  const a = architecture(kind, classes, shape, arch);
  const p = parameters(a.generator) + parameters(a.critic);
  const [g, c] = [outputs('generator', a.generator), outputs('critic', a.critic)];
  const activations = g.sum + c.sum;
  const activationBytes = batch * activations * ACTIVATION_COPIES * 4;
  return {
    parameters: p,
    activations,
    bytes: p * BYTES_PER_PARAMETER + activationBytes,
    activationBytes,
    checkpointChars: p * CHECKPOINT_CHARS_PER_PARAMETER,
    largestTensor: Math.max(largestWeight(a.generator), largestWeight(a.critic), batch * Math.max(g.largest, c.largest)),
  };
}

/** tfjs-backend-wasm keeps every tensor in one wasm32 heap of at most 4 GiB (its Memory's maximum), whatever the machine has. */
export const WASM_HEAP_BYTES = 2 ** 32;

/** The memory a run's tensors may take on `backend`. */
export const memoryLimitFor = (backend: string): number => (backend === 'wasm' ? Math.min(WASM_HEAP_BYTES, memoryLimit()) : memoryLimit());

/** The run as the memory check sees it: its networks and batch (before the data is read: the least the batch can be). */
export interface MemoryPlan {
  kind: ModelKind;
  shape: ImageShape;
  arch: Arch;
  batch: number;
}

/**
 * Throws, naming the cost and the limit, when the networks for images of `shape` cannot fit; logs
 * the cost when it is large (over 1 GB). A folder read with channels auto is checked as grey before
 * it is decoded (the least it can cost), and again once its channels and the batch are known.
 */
export function checkTrainingMemory(plan: MemoryPlan, log: (line: string) => void, limit: number): void {
  const { kind, shape, arch, batch } = plan;
  const estimate = (s: ImageShape, b = batch): MemoryEstimate => trainingMemory(kind, s, arch, b);
  const e = estimate(shape);
  const [c, h, w] = shape;
  const what = `${w}x${h} images with ${c} channel${c === 1 ? '' : 's'}`;
  const nets = `${kind}'s ${arch === 'mlp' ? '' : `${arch} `}networks ${(e.parameters / 1e6).toFixed(1)} M parameters`;
  const layerOutputs = (t: MemoryEstimate): string =>
    t.activationBytes > t.bytes / 2
      ? ` (the layer outputs of a batch of ${batch}: ${(t.activations / 1e6).toFixed(1)} M values per image)`
      : '';
  const problem = (t: MemoryEstimate): string | null =>
    t.checkpointChars > constants.MAX_STRING_LENGTH
      ? `its checkpoint would be ${(t.checkpointChars / 1e6).toFixed(0)} M characters of JSON, more than the ` +
        `${(constants.MAX_STRING_LENGTH / 1e6).toFixed(0)} M a string can hold`
      : t.bytes > limit
        ? `training needs about ${bytesText(t.bytes)}` +
          `${layerOutputs(t)}` +
          `, more than the ${bytesText(limit)} of memory ` +
          `${limit === WASM_HEAP_BYTES ? "the wasm backend's heap holds" : 'here'}`
        : t.largestTensor > MAX_TYPED_ARRAY
          ? `one tensor of ${t.largestTensor.toExponential(2)} values is more than a typed array holds`
          : null;
  const why = problem(e);
  if (why) {
    let side = 0;
    for (let s = 4; s <= 4096 && !problem(estimate([c, s, s])); s *= 2) side = s;
    let fitsBatch = 0; // the largest batch that fits at this size, when a smaller batch is the way out
    for (let b = batch - 1; b >= 1 && !fitsBatch; b = Math.floor(b / 2)) if (!problem(estimate(shape, b))) fitsBatch = b;
    const smaller = side ? `${side}x${side} fits${c > 1 ? ', or --channels 1' : ''}` : 'none fits with these channels';
    throw new Error(`${what} make ${nets}: ${why}; use a smaller --image-size (${smaller})${fitsBatch ? ` or --batch ${fitsBatch}` : ''}`);
  }
  if (e.bytes > 1e9)
    log(`memory: ${what} make ${nets}, about ${bytesText(e.bytes)} to train at batch ${batch} (of ${bytesText(limit)} here)`);
}
