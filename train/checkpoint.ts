// Checkpoints: weights, optimiser state, EMA, position in the run and RNG state, in one JSON file
// written atomically, so an interrupted run resumes exactly where the file says.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../common/atomic.js';
import type { RngState } from '../common/rng.js';
import type { ModelSpec } from './models.js';
import type { GanTrainer } from './trainer.js';

export const CHECKPOINT_FORMAT = 'onnxgan-checkpoint/1';

interface EncodedTensor {
  shape: number[];
  /** float32 (weights) or int32 (the optimisers' iteration count) */
  dtype?: 'float32' | 'int32';
  /** base64 of the little-endian values */
  data: string;
}

export interface RunPosition {
  /** Completed epochs. */
  epoch: number;
  /** Completed generator steps over the whole run. */
  step: number;
  /** Mid-epoch checkpoints (Ctrl-C): the epoch's order and how many batches are done. */
  batchInEpoch: number;
  epochOrder: number[] | null;
  /** Sums of the epoch's step metrics so far (resumed into the epoch's averages). */
  epochSums: Record<string, number>;
  wallTimeMs: number;
}

export interface DatasetInfo {
  name: string;
  classes: string[];
  count: number;
}

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  spec: ModelSpec;
  dataset: DatasetInfo;
  seed: number;
  /** Batch size of the last session (absent in checkpoints written before it was kept). */
  batch?: number;
  backend: string;
  position: RunPosition;
  rngState: RngState;
  weights: Record<string, EncodedTensor>;
  optimizers: { generator: EncodedTensor[]; critic: EncodedTensor[] };
  ema: { decay: number; weights: EncodedTensor[] } | null;
}

export class CheckpointError extends Error {}

function encode(t: tf.Tensor): EncodedTensor {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new CheckpointError(`cannot store a ${t.dtype} tensor`);
  const data = t.dataSync() as Float32Array | Int32Array;
  return { shape: t.shape, dtype: t.dtype, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
}

function decode(e: EncodedTensor, what: string): tf.Tensor {
  const bytes = Buffer.from(e.data, 'base64');
  const size = e.shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== size * 4) throw new CheckpointError(`${what}: ${bytes.length} bytes for shape [${e.shape}]`);
  const copy = e.dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
  new Uint8Array(copy.buffer).set(bytes);
  return tf.tensor(copy, e.shape, e.dtype ?? 'float32');
}

export async function captureCheckpoint(
  trainer: GanTrainer,
  meta: Omit<Checkpoint, 'format' | 'spec' | 'weights' | 'optimizers' | 'ema' | 'rngState'>,
): Promise<Checkpoint> {
  const weights: Record<string, EncodedTensor> = {};
  for (const [key, v] of trainer.keyedWeights()) weights[key] = encode(v);
  const opt = async (o: tf.Optimizer): Promise<EncodedTensor[]> => {
    const named = await o.getWeights();
    const encoded = named.map((w) => encode(w.tensor));
    named[0]?.tensor.dispose(); // the iteration count is a fresh scalar; the rest are the optimiser's own
    return encoded;
  };
  return {
    format: CHECKPOINT_FORMAT,
    spec: trainer.spec,
    ...meta,
    rngState: trainer.rng.getState(),
    weights,
    optimizers: { generator: await opt(trainer.gOpt), critic: await opt(trainer.dOpt) },
    ema: trainer.ema ? { decay: trainer.ema.decay, weights: trainer.ema.weights.map(encode) } : null,
  };
}

export function saveCheckpoint(file: string, ckpt: Checkpoint): void {
  writeFileAtomic(file, JSON.stringify(ckpt));
}

export function readCheckpoint(file: string): Checkpoint {
  if (!existsSync(file)) throw new CheckpointError(`${file}: no checkpoint here`);
  let ckpt: Checkpoint;
  try {
    ckpt = JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
  } catch (e) {
    throw new CheckpointError(`${file}: corrupt checkpoint (${(e as Error).message})`);
  }
  if (ckpt?.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${file}: not an onnxgan checkpoint (format ${JSON.stringify(ckpt?.format)})`);
  for (const k of ['spec', 'weights', 'position', 'rngState', 'optimizers'] as const) {
    if (!ckpt[k]) throw new CheckpointError(`${file}: corrupt checkpoint (no ${k})`);
  }
  return ckpt;
}

/** Load weights (and, for resuming, optimiser and EMA state) into a trainer built from ckpt.spec. */
export async function restoreCheckpoint(trainer: GanTrainer, ckpt: Checkpoint, file: string): Promise<void> {
  for (const [key, v] of trainer.keyedWeights()) {
    const e = ckpt.weights[key];
    if (!e) throw new CheckpointError(`${file}: corrupt checkpoint (no weight ${key})`);
    const t = decode(e, `${file}: ${key}`);
    if (t.shape.join() !== v.shape.join()) throw new CheckpointError(`${file}: ${key} has shape [${t.shape}], model needs [${v.shape}]`);
    v.assign(t);
    t.dispose();
  }
  const setOpt = async (o: tf.Optimizer, enc: EncodedTensor[], vars: tf.Variable[], what: string): Promise<void> => {
    if (enc.length === 0) return; // saved before the first step
    const tensors = enc.map((e, i) => decode(e, `${file}: ${what} state ${i}`));
    // Adam's state: [iterations, m of each variable..., v of each variable...], matched by position.
    const names = ['iter', ...vars.map((v) => `${v.name}/m`), ...vars.map((v) => `${v.name}/v`)];
    if (tensors.length !== names.length) throw new CheckpointError(`${file}: ${what} optimiser state has ${tensors.length} tensors, expected ${names.length}`);
    await o.setWeights(tensors.map((tensor, i) => ({ name: names[i]!, tensor })));
    tensors.forEach((t) => t.dispose());
  };
  await setOpt(trainer.gOpt, ckpt.optimizers.generator, trainer.generator.trainable, 'generator');
  await setOpt(trainer.dOpt, ckpt.optimizers.critic, trainer.critic.trainable, 'critic');
  if (ckpt.ema) {
    trainer.enableEma(ckpt.ema.decay);
    trainer.ema!.weights.forEach((w, i) => {
      const t = decode(ckpt.ema!.weights[i]!, `${file}: ema ${i}`);
      w.assign(t);
      t.dispose();
    });
  }
}

