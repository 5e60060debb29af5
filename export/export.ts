// onnxgan export: checkpoint -> verified ONNX file.
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import path from 'node:path';
import { packageInfo } from '../common/package-info.js';
import { writeFileAtomic } from '../common/atomic.js';
import { IO, IMAGE_PIXELS, metadataToProps, type ModelMetadata } from '../common/metadata.js';
import { Rng, generatorNoise } from '../common/rng.js';
import { Sequential } from '../train/layers.js';
import { readCheckpoint, restoreCheckpoint, type Checkpoint } from '../train/checkpoint.js';
import { GanTrainer } from '../train/trainer.js';
import { selectBackend } from '../backend/select.js';
import { generatorGraph } from './layer-mapping.js';

export type Precision = 'fp32' | 'fp16';
export const TOLERANCE: Record<Precision, number> = { fp32: 1e-4, fp16: 2e-2 };
export const VERIFY_SAMPLES = 256;

export const PRODUCER = { name: 'onnxgan', version: packageInfo().version };

export class ParityError extends Error {}

export interface ExportResult {
  file: string;
  bytes: number;
  maxAbsDiff: number;
  metadata: ModelMetadata;
}

/**
 * Export a generator network; runs it in tfjs and onnxruntime on the same VERIFY_SAMPLES inputs
 * (every class for conditional ones) and refuses to write when they differ beyond the tolerance.
 */
export async function exportGenerator(net: Sequential, metadata: ModelMetadata, out: string, precision: Precision = 'fp32'): Promise<ExportResult> {
  const bytes = generatorGraph(net, precision).model(`onnxgan_${metadata.kind}`, metadataToProps(metadata), PRODUCER);
  const maxAbsDiff = await parity(net, bytes, metadata);
  if (!(maxAbsDiff <= TOLERANCE[precision])) {
    throw new ParityError(`tfjs and onnxruntime differ by ${maxAbsDiff.toExponential(2)} (> ${TOLERANCE[precision]} for ${precision}): not writing ${out}`);
  }
  writeFileAtomic(out, bytes);
  return { file: out, bytes: bytes.length, maxAbsDiff, metadata };
}

async function parity(net: Sequential, bytes: Uint8Array, m: ModelMetadata): Promise<number> {
  const n = VERIFY_SAMPLES;
  const noise = generatorNoise(12345, n, net.config.inputDim);
  const numClasses = m.classes?.length ?? 0;
  const labels = Int32Array.from({ length: n }, (_, i) => i % Math.max(numClasses, 1));
  const expected = tf.tidy(() =>
    net.apply(tf.tensor2d(noise, [n, net.config.inputDim]), { training: false, labels: net.conditional ? tf.tensor1d(labels, 'int32') : undefined }).dataSync(),
  ) as Float32Array;
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = { [IO.noise]: new ort.Tensor('float32', noise, [n, net.config.inputDim]) };
    if (net.conditional) feeds[IO.label] = new ort.Tensor('int64', BigInt64Array.from(labels, (l) => BigInt(l)), [n]);
    const out = (await session.run(feeds))[IO.image]!;
    if (out.dims.join() !== [n, 1, 28, 28].join()) throw new ParityError(`onnxruntime output has shape [${out.dims}], expected [${n},1,28,28]`);
    const got = out.data as Float32Array;
    let max = 0;
    for (let i = 0; i < n * IMAGE_PIXELS; i++) max = Math.max(max, Math.abs(got[i]! - expected[i]!));
    return Number.isNaN(got[0]) ? Infinity : max;
  } finally {
    await session.release();
  }
}

/** Metadata of a checkpoint's generator. */
export function checkpointMetadata(ckpt: Checkpoint, useEma: boolean): ModelMetadata {
  const conditional = ckpt.spec.generator.layers.some((l) => l.type === 'LabelEmbedding');
  return {
    kind: ckpt.spec.kind,
    noiseDim: ckpt.spec.noiseDim,
    noise: 'uniform(-1,1)',
    classes: conditional ? ckpt.dataset.classes : null,
    dataset: ckpt.dataset.name,
    epochs: ckpt.position.epoch,
    steps: ckpt.position.step,
    valueRange: [-1, 1],
    ...(useEma && ckpt.ema ? { ema: ckpt.ema.decay } : {}),
  };
}

/** RUN_DIR or checkpoint file -> ONNX. Uses the EMA weights when the run kept them (unless useEma=false). */
export async function exportCheckpoint(source: string, out: string, opts: { precision?: Precision; useEma?: boolean } = {}): Promise<ExportResult> {
  const file = source.endsWith('.json') ? source : path.join(source, 'checkpoint.json');
  const ckpt = readCheckpoint(file);
  if (!tf.findBackend('wasm') && !tf.findBackend('tensorflow')) await selectBackend('auto');
  const trainer = new GanTrainer(ckpt.spec, new Rng(0));
  try {
    await restoreCheckpoint(trainer, ckpt, file);
    const useEma = (opts.useEma ?? true) && trainer.ema !== null;
    const restore = useEma ? trainer.useEmaWeights() : () => undefined;
    try {
      return await exportGenerator(trainer.generator, checkpointMetadata(ckpt, useEma), out, opts.precision ?? 'fp32');
    } finally {
      restore();
    }
  } finally {
    trainer.dispose();
  }
}
