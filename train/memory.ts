// What a run's networks cost in memory, said before anything is decoded or allocated: the
// generator's last layer and the critic's first grow with the image (C x H x W values), so a large
// --image-size makes networks of billions of parameters that would fail after minutes (or take the
// machine's memory) instead of at the start.
import { constants } from 'node:buffer';
import { bytesText, MAX_TYPED_ARRAY, memoryLimit } from '../common/memory-limit.js';
import type { ImageShape, ModelKind } from '../common/metadata.js';
import type { LayerConfig, NetworkConfig } from './layers.js';
import { architecture } from './models.js';

/**
 * Bytes per parameter while training: float32 weights, gradient and two Adam moments, the EMA copy,
 * and the hand-written step's own copy of the weights (train/mlp-step.ts): six float32 copies.
 */
export const BYTES_PER_PARAMETER = 6 * 4;
/**
 * Characters of a checkpoint per parameter, at least: train/checkpoint.ts writes one JSON string
 * holding each weight and its two Adam moments as base64 of float32 (4 bytes -> 16/3 characters),
 * and a JavaScript string holds at most constants.MAX_STRING_LENGTH (2^29 - 24) characters.
 */
const CHECKPOINT_CHARS_PER_PARAMETER = (3 * 4 * 4) / 3;

const layerParameters = (l: LayerConfig): number =>
  l.type === 'Dense' ? l.inputDim * l.units + l.units : l.type === 'BatchNorm' ? 4 * l.units : l.type === 'LabelEmbedding' ? l.numClasses * l.dim : 0;
const parameters = (n: NetworkConfig): number => n.layers.reduce((s, l) => s + layerParameters(l), 0);
const largest = (n: NetworkConfig): number => Math.max(0, ...n.layers.map((l) => (l.type === 'Dense' ? l.inputDim * l.units : 0)));

export interface MemoryEstimate {
  parameters: number;
  bytes: number;
  /** Characters of its checkpoint, at least. */
  checkpointChars: number;
  /** Values of the largest weight matrix. */
  largestTensor: number;
}

export function trainingMemory(kind: ModelKind, shape: ImageShape, classes = 10): MemoryEstimate {
  const a = architecture(kind, classes, shape);
  const p = parameters(a.generator) + parameters(a.critic);
  return { parameters: p, bytes: p * BYTES_PER_PARAMETER, checkpointChars: p * CHECKPOINT_CHARS_PER_PARAMETER, largestTensor: Math.max(largest(a.generator), largest(a.critic)) };
}


/**
 * Throws, naming the cost and the limit, when the networks for images of `shape` cannot fit; logs
 * the cost when it is large (over 1 GB). A folder read with channels auto is checked as grey before
 * it is decoded (the least it can cost), and again once its channels are known.
 */
export function checkTrainingMemory(kind: ModelKind, shape: ImageShape, log: (line: string) => void, limit = memoryLimit()): void {
  const e = trainingMemory(kind, shape);
  const [c, h, w] = shape;
  const what = `${w}x${h} images with ${c} channel${c === 1 ? '' : 's'}`;
  const problem = (t: MemoryEstimate): string | null =>
    t.checkpointChars > constants.MAX_STRING_LENGTH
      ? `its checkpoint would be ${(t.checkpointChars / 1e6).toFixed(0)} M characters of JSON, more than the ${(constants.MAX_STRING_LENGTH / 1e6).toFixed(0)} M a string can hold`
      : t.bytes > limit
        ? `training needs about ${bytesText(t.bytes)}, more than the ${bytesText(limit)} of memory here`
        : t.largestTensor > MAX_TYPED_ARRAY
          ? `one weight matrix of ${t.largestTensor.toExponential(2)} values is more than a typed array holds`
          : null;
  const why = problem(e);
  if (why) {
    let side = 0;
    for (let s = 4; s <= 4096 && !problem(trainingMemory(kind, [c, s, s])); s *= 2) side = s;
    const smaller = side ? `${side}x${side} fits${c > 1 ? ', or --channels 1' : ''}` : 'none fits with these channels';
    throw new Error(`${what} make ${kind}'s networks ${(e.parameters / 1e6).toFixed(1)} M parameters: ${why}; use a smaller --image-size (${smaller})`);
  }
  if (e.bytes > 1e9) log(`memory: ${what} make ${kind}'s networks ${(e.parameters / 1e6).toFixed(0)} M parameters, about ${bytesText(e.bytes)} to train (of ${bytesText(limit)} here)`);
}
