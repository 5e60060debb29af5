// Checkpoints: the architecture (fixed for a run), the training options (may change on --resume,
// with the step of each change), weights, optimiser state, EMA, position in the run and RNG state,
// in one JSON file written atomically, so an interrupted run resumes exactly where the file says.
// Files are validated with a schema on read: a missing or wrong-typed field is named.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../common/atomic.js';
import { DIGIT_SHAPE, MODEL_KINDS, type ImageShape } from '../common/metadata.js';
import { OPTION_KEYS, RECIPES, TRAINING_OPTIONS, referenceOptions, type TrainingOptions } from './options.js';
import { Rng, type RngState } from '../common/rng.js';
import { Sequential, weightKey } from './layers.js';
import { layerConfigSchema } from './layers/registry.js';
import type { Architecture } from './models.js';
import { standingStatistics } from './ema.js';
import type { GanTrainer } from './trainer.js';
import type { Adam } from './adam.js';

export const CHECKPOINT_FORMAT = 'onnxgan-checkpoint/2';

/** A run folder's latest checkpoint, and the one of its best quality estimate so far (train/quality-probe.ts). */
export const CHECKPOINT_FILE = 'checkpoint.json';
export const BEST_FILE = 'best.json';

/** The checkpoint a command reads: a .json file as given, else the run folder's latest (or, with `best`, its best.json). */
export function checkpointFileOf(source: string, o: { best?: boolean } = {}): string {
  if (source.endsWith('.json')) {
    if (o.best) throw new CheckpointError(`--best takes a run folder, not a checkpoint file (${source})`);
    return source;
  }
  const file = path.join(source, o.best ? BEST_FILE : CHECKPOINT_FILE);
  if (o.best && !existsSync(file) && existsSync(path.join(source, CHECKPOINT_FILE)))
    throw new CheckpointError(`${source} has no ${BEST_FILE}: the run made no quality estimate (train --quality-every)`);
  return file;
}
/** Before the architecture and the options were kept apart (read, never written). */
const FORMAT_V1 = 'onnxgan-checkpoint/1';

const encodedTensor = z.object({
  shape: z.array(z.int().min(0)),
  /** float32 (weights) or int32 (the optimisers' iteration count) */
  dtype: z.enum(['float32', 'int32']).optional(),
  /** base64 of the little-endian values */
  data: z.string(),
});
type EncodedTensor = z.infer<typeof encodedTensor>;

const count = z.int().min(0);
const positiveInt = z.int().min(1);
const layerConfig = layerConfigSchema(z);
const networkConfig = z.object({ inputDim: positiveInt, layers: z.array(layerConfig) });
const betas = z.object({ beta1: z.number(), beta2: z.number() });

const architecture = z.object({
  kind: z.enum(MODEL_KINDS),
  noiseDim: positiveInt,
  numClasses: positiveInt,
  generator: networkConfig,
  critic: networkConfig,
  generatorAdam: betas,
  criticAdam: betas,
  gpLambda: z.number().min(0),
  /** [C, H, W]; checkpoints written before image folders are the digits'. */
  imageShape: z
    .tuple([z.union([z.literal(1), z.literal(3)]), positiveInt, positiveInt])
    .default([...DIGIT_SHAPE] as [1, number, number]) as z.ZodType<ImageShape, ImageShape | undefined>,
});

// From the option table. Optional: an option added since a checkpoint was written takes the reference's value (completeOptions).
const trainingOptions = z.object(
  Object.fromEntries(OPTION_KEYS.map((k) => [k, TRAINING_OPTIONS[k].schema(z).optional()])),
) as unknown as z.ZodType<Partial<TrainingOptions>>;

const position = z.object({
  /** Completed epochs. */
  epoch: count,
  /** Completed generator steps over the whole run. */
  step: count,
  /** Mid-epoch checkpoints (Ctrl-C): the epoch's order and how many batches are done. */
  batchInEpoch: count,
  epochOrder: z.array(count).nullable(),
  /** Sums of the epoch's step metrics so far (resumed into the epoch's averages). */
  epochSums: z.record(z.string(), z.number()),
  wallTimeMs: z.number().min(0),
});

/** How an image folder was read (data/image-options.ts DataSource); absent for mnist, fashion and IDX folders. */
const dataSource = z.object({
  path: z.string(),
  size: z.tuple([positiveInt, positiveInt]),
  channels: z.union([z.literal(1), z.literal(3), z.literal('auto')]),
  fit: z.enum(['cover', 'contain']),
  holdout: z.number().gt(0).lt(1),
});

const common = {
  dataset: z.object({ name: z.string(), classes: z.array(z.string()), count: positiveInt, source: dataSource.optional() }),
  seed: count,
  /** Batch size of the last session (absent in checkpoints written before it was kept). */
  batch: positiveInt.optional(),
  backend: z.string(),
  position,
  rngState: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  weights: z.record(z.string(), encodedTensor),
  optimizers: z.object({ generator: z.array(encodedTensor), critic: z.array(encodedTensor) }),
};

/** The option history once a --resume changed them: the flags in force from each generator step on (first at 0). */
const optionChanges = z.array(z.object({ step: count, flags: z.array(z.string()) }));

const checkpointSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  architecture,
  options: trainingOptions,
  /** Where the run's options started (absent: written before recipes; those started at the reference). */
  recipe: z.enum(RECIPES).optional(),
  optionChanges: optionChanges.optional(),
  ...common,
  /** The averaged generator weights (same order as its weights) when options.ema keeps them. */
  emaWeights: z.array(encodedTensor).nullable(),
});

export type Checkpoint = Omit<z.infer<typeof checkpointSchema>, 'options'> & { options: TrainingOptions };
export type RunPosition = Checkpoint['position'];
export type DatasetInfo = Checkpoint['dataset'];

// Format 1 kept one spec with the networks and the levers together, and the EMA decay twice.
const adamV1 = betas.extend({ lr: z.number().positive() });
const checkpointV1 = z.object({
  format: z.literal(FORMAT_V1),
  spec: architecture.omit({ generatorAdam: true, criticAdam: true }).extend({
    criticSteps: positiveInt,
    generatorOptimizer: adamV1,
    criticOptimizer: adamV1,
    criticWarmup: z.object({ generatorSteps: count }).optional(),
    labelSmoothing: z.number().optional(),
    outputBiasInit: z.enum(['reference', 'mean']).optional(),
    r1Gamma: z.number().optional(),
    lrDecay: z.object({ fromEpoch: count, toEpoch: count }).optional(),
    mismatch: z.number().optional(),
    ema: z.number().optional(),
    optionChanges: optionChanges.optional(),
  }),
  ...common,
  ema: z.object({ decay: z.number(), weights: z.array(encodedTensor) }).nullable(),
});

function fromV1(c: z.infer<typeof checkpointV1>): Checkpoint {
  const { spec, ema, format: _format, ...rest } = c;
  const { generatorOptimizer: g, criticOptimizer: d } = spec;
  return {
    ...rest,
    format: CHECKPOINT_FORMAT,
    architecture: {
      kind: spec.kind,
      noiseDim: spec.noiseDim,
      numClasses: spec.numClasses,
      generator: spec.generator,
      critic: spec.critic,
      generatorAdam: { beta1: g.beta1, beta2: g.beta2 },
      criticAdam: { beta1: d.beta1, beta2: d.beta2 },
      gpLambda: spec.gpLambda,
      imageShape: spec.imageShape,
    },
    options: {
      ...referenceOptions(spec.kind),
      arch: 'mlp',
      gLr: g.lr,
      dLr: d.lr,
      outputBiasInit: spec.outputBiasInit ?? 'reference',
      r1: spec.r1Gamma ?? 0,
      labelSmoothing: spec.labelSmoothing ?? 0,
      mismatch: spec.mismatch ?? 0,
      lrDecay: spec.lrDecay ? { from: spec.lrDecay.fromEpoch, to: spec.lrDecay.toEpoch } : null,
      criticWarmup: spec.criticWarmup?.generatorSteps ?? 0,
      ema: spec.ema ?? ema?.decay ?? null,
      criticSteps: spec.criticSteps,
    },
    ...(spec.optionChanges ? { optionChanges: spec.optionChanges } : {}),
    emaWeights: ema?.weights ?? null,
  };
}

export class CheckpointError extends Error {}

/** zod's first issue as "field a.b.c: problem". */
function firstIssue(e: z.ZodError): string {
  const issue = e.issues[0]!;
  return `field ${issue.path.join('.') || '(root)'}: ${issue.message}`;
}

function encode(t: tf.Tensor): EncodedTensor {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new CheckpointError(`cannot store a ${t.dtype} tensor`);
  return encodeValues(t.dataSync() as Float32Array | Int32Array, t.shape);
}

function encodeValues(data: Float32Array | Int32Array, shape: number[]): EncodedTensor {
  return {
    shape,
    dtype: data instanceof Int32Array ? 'int32' : 'float32',
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
  };
}

function decodeValues(e: EncodedTensor, what: string): Float32Array | Int32Array {
  const bytes = Buffer.from(e.data, 'base64');
  const size = e.shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== size * 4) throw new CheckpointError(`${what}: ${bytes.length} bytes for shape [${e.shape}]`);
  const copy = e.dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}

function decode(e: EncodedTensor, what: string): tf.Tensor {
  return tf.tensor(decodeValues(e, what), e.shape, e.dtype ?? 'float32');
}

/** An Adam's state as tfjs's AdamOptimizer.getWeights() stored it: [iterations, m..., v...] (nothing before the first update). */
function encodeAdam(adam: Adam, vars: tf.Variable[]): EncodedTensor[] {
  const s = adam.slots();
  if (!s.m.length) return [];
  return [
    encodeValues(Int32Array.of(s.iterations), []),
    ...s.m.map((m, i) => encodeValues(m, vars[i]!.shape)),
    ...s.v.map((v, i) => encodeValues(v, vars[i]!.shape)),
  ];
}

function restoreAdam(adam: Adam, enc: EncodedTensor[], vars: tf.Variable[], what: string): void {
  if (enc.length === 0) return; // saved before the first step
  if (enc.length !== 1 + 2 * vars.length)
    throw new CheckpointError(`${what} optimiser state has ${enc.length} tensors, expected ${1 + 2 * vars.length}`);
  const [iterations, ...moments] = enc.map((e, i) => decodeValues(e, `${what} state ${i}`));
  moments.forEach((x, i) => {
    const v = vars[i % vars.length]!;
    if (x.length !== v.size) throw new CheckpointError(`${what} state ${i + 1} has ${x.length} values, ${v.name} needs ${v.size}`);
  });
  adam.restore({
    iterations: iterations![0]!,
    m: moments.slice(0, vars.length) as Float32Array[],
    v: moments.slice(vars.length) as Float32Array[],
  });
}

export async function captureCheckpoint(
  trainer: GanTrainer,
  meta: Pick<Checkpoint, 'dataset' | 'seed' | 'batch' | 'backend' | 'position' | 'recipe' | 'optionChanges'>,
): Promise<Checkpoint> {
  const weights: Record<string, EncodedTensor> = {};
  for (const [key, v] of trainer.keyedWeights()) weights[key] = encode(v);
  return {
    format: CHECKPOINT_FORMAT,
    architecture: trainer.arch,
    options: trainer.options,
    ...meta,
    rngState: trainer.rng.getState(),
    weights,
    optimizers: {
      generator: encodeAdam(trainer.gAdam, trainer.generator.trainable),
      critic: encodeAdam(trainer.dAdam, trainer.critic.trainable),
    },
    emaWeights: trainer.ema ? trainer.ema.map(encode) : null,
  };
}

export function saveCheckpoint(file: string, ckpt: Checkpoint): void {
  writeFileAtomic(file, JSON.stringify(ckpt));
}

export function readCheckpoint(file: string): Checkpoint {
  if (!existsSync(file)) throw new CheckpointError(`${file}: no checkpoint here`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${file}: corrupt checkpoint (${(e as Error).message})`);
  }
  const format = (raw as { format?: unknown } | null)?.format;
  const schema = format === CHECKPOINT_FORMAT ? checkpointSchema : format === FORMAT_V1 ? checkpointV1 : null;
  if (!schema) throw new CheckpointError(`${file}: not an onnxgan checkpoint (format ${JSON.stringify(format)})`);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new CheckpointError(`${file}: corrupt checkpoint (${firstIssue(parsed.error)})`);
  if (parsed.data.format === FORMAT_V1) return fromV1(parsed.data as z.infer<typeof checkpointV1>);
  const c = parsed.data as z.infer<typeof checkpointSchema>;
  return { ...c, options: { ...referenceOptions(c.architecture.kind), ...c.options } };
}

function assignWeights(vars: tf.Variable[], ckpt: Checkpoint, file: string): void {
  for (const v of vars) {
    const key = weightKey(v);
    const e = ckpt.weights[key];
    if (!e) throw new CheckpointError(`${file}: corrupt checkpoint (no weight ${key})`);
    assign(v, e, `${file}: ${key}`);
  }
}

function assign(v: tf.Variable, e: EncodedTensor, what: string): void {
  const t = decode(e, what);
  try {
    if (t.shape.join() !== v.shape.join()) throw new CheckpointError(`${what} has shape [${t.shape}], model needs [${v.shape}]`);
    v.assign(t);
  } finally {
    t.dispose();
  }
}

function emaTensors(ckpt: Checkpoint, count: number, file: string): EncodedTensor[] {
  const ema = ckpt.emaWeights!;
  if (ema.length !== count)
    throw new CheckpointError(`${file}: corrupt checkpoint (${ema.length} EMA weights, the generator has ${count})`);
  return ema;
}

/** Load weights, optimiser and EMA state into a trainer built from the checkpoint's architecture (for resuming). */
export async function restoreCheckpoint(trainer: GanTrainer, ckpt: Checkpoint, file: string): Promise<void> {
  assignWeights([...trainer.generator.weights, ...trainer.critic.weights], ckpt, file);
  restoreAdam(trainer.gAdam, ckpt.optimizers.generator, trainer.generator.trainable, `${file}: generator`);
  restoreAdam(trainer.dAdam, ckpt.optimizers.critic, trainer.critic.trainable, `${file}: critic`);
  if (ckpt.emaWeights) {
    trainer.startEma();
    const stored = emaTensors(ckpt, trainer.generator.weights.length, file);
    trainer.ema?.forEach((w, i) => assign(w, stored[i]!, `${file}: ema ${i}`));
  }
}

/**
 * Only the generator of a checkpoint (export): with `useEma` and an average in the file, its averaged
 * weights with BatchNorm statistics recomputed for them. No critic, optimisers or trainer.
 */
export function restoreGenerator(ckpt: Checkpoint, file: string, useEma: boolean): { generator: Sequential; ema: boolean } {
  const arch: Architecture = ckpt.architecture;
  const generator = new Sequential('generator', arch.generator, new Rng(0));
  try {
    assignWeights(generator.weights, ckpt, file);
    if (!(useEma && ckpt.emaWeights)) return { generator, ema: false };
    const averaged = emaTensors(ckpt, generator.weights.length, file);
    generator.weights.forEach((w, i) => assign(w, averaged[i]!, `${file}: ema ${i}`));
    standingStatistics(generator, arch.noiseDim, arch.numClasses);
    return { generator, ema: true };
  } catch (e) {
    generator.dispose();
    throw e;
  }
}
