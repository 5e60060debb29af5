// onnxgan export: checkpoint -> verified ONNX file.
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { openSession } from '../backend/ort-session.js';
import { writeFileAtomic } from '../common/atomic.js';
import { GeneratorRunner } from '../common/generator-runner.js';
import { imageValues, metadataToProps, type ModelMetadata } from '../common/metadata.js';
import { dataSourceProps } from '../data/image-options.js';
import type { Sequential } from '../train/layers.js';
import { checkpointFileOf, readCheckpoint, restoreGenerator, type Checkpoint } from '../train/checkpoint.js';
import { selectBackend } from '../backend/select.js';
import { generatorGraph } from './layer-mapping.js';
import { ParityError, PRODUCER, TOLERANCE, VERIFY_SAMPLES, type Precision } from './verify.js';

export { ParityError, PRODUCER, TOLERANCE, VERIFY_SAMPLES, type Precision } from './verify.js';

export interface ExportResult {
  file: string;
  bytes: number;
  maxAbsDiff: number;
  metadata: ModelMetadata;
}

/**
 * Export a generator network; runs it in tfjs and onnxruntime on the same VERIFY_SAMPLES inputs
 * (every class for conditional ones) and refuses to write when they differ beyond the tolerance.
 * `extraProps` are further metadata_props (e.g. where the training images are).
 */
export async function exportGenerator(
  net: Sequential,
  metadata: ModelMetadata,
  out: string,
  precision: Precision = 'fp32',
  extraProps: Record<string, string> = {},
): Promise<ExportResult> {
  const bytes = generatorGraph(net, precision, metadata.imageShape).model(
    `onnxgan_${metadata.kind}`,
    { ...metadataToProps(metadata), ...extraProps },
    PRODUCER,
  );
  const maxAbsDiff = await parity(net, bytes, metadata);
  if (!(maxAbsDiff <= TOLERANCE[precision])) {
    throw new ParityError(
      `tfjs and onnxruntime differ by ${maxAbsDiff.toExponential(2)} (> ${TOLERANCE[precision]} for ${precision}): not writing ${out}`,
    );
  }
  writeFileAtomic(out, bytes);
  return { file: out, bytes: bytes.length, maxAbsDiff, metadata };
}

async function parity(net: Sequential, bytes: Uint8Array, m: ModelMetadata): Promise<number> {
  if (m.noiseDim !== net.config.inputDim)
    throw new ParityError(`metadata noise_dim ${m.noiseDim} differs from the network's input size ${net.config.inputDim}`);
  const session = await openSession(bytes, 'check');
  try {
    // The runner checks the graph against the metadata (a label input exactly when conditional),
    // and builds the inputs the way serve and the browser will.
    let runner: GeneratorRunner<ort.Tensor>;
    try {
      runner = new GeneratorRunner(session, ort.Tensor, m);
    } catch (e) {
      throw new ParityError(`the exported graph does not match its metadata: ${(e as Error).message}`);
    }
    const n = VERIFY_SAMPLES;
    const noise = runner.noise(12345, n);
    const labels = runner.labels(n); // every class in turn
    const expected = tf.tidy(() =>
      net
        .apply(tf.tensor2d(noise, [n, m.noiseDim]), { training: false, labels: labels ? tf.tensor1d(labels, 'int32') : undefined })
        .dataSync(),
    ) as Float32Array;
    let got: Float32Array;
    try {
      got = await runner.run(noise, labels);
    } catch (e) {
      throw new ParityError(`onnxruntime: ${(e as Error).message}`);
    }
    let max = 0;
    for (let i = 0; i < n * imageValues(m.imageShape); i++) max = Math.max(max, Math.abs(got[i]! - expected[i]!));
    return max;
  } finally {
    await session.release();
  }
}

/** Metadata of a checkpoint's generator. */
export function checkpointMetadata(ckpt: Checkpoint, useEma: boolean): ModelMetadata {
  const arch = ckpt.architecture;
  return {
    kind: arch.kind,
    noiseDim: arch.noiseDim,
    noise: 'uniform(-1,1)',
    classes: arch.generator.layers.some((l) => l.type === 'LabelEmbedding') ? ckpt.dataset.classes : null,
    dataset: ckpt.dataset.name, // image folders: name@fingerprint
    epochs: ckpt.position.epoch,
    steps: ckpt.position.step,
    valueRange: [-1, 1],
    imageShape: arch.imageShape,
    ...(useEma && ckpt.options.ema !== null ? { ema: ckpt.options.ema } : {}),
  };
}

/** RUN_DIR or checkpoint file -> ONNX. Uses the EMA weights when the run kept them (unless useEma=false). */
export async function exportCheckpoint(
  source: string,
  out: string,
  opts: { precision?: Precision; useEma?: boolean; best?: boolean } = {},
): Promise<ExportResult> {
  const file = checkpointFileOf(source, { best: opts.best });
  const ckpt = readCheckpoint(file);
  if (!tf.findBackend('wasm') && !tf.findBackend('tensorflow')) await selectBackend('auto');
  const { generator, ema } = restoreGenerator(ckpt, file, opts.useEma ?? true);
  try {
    // Image folders: where the images are and how they were read, so eval can rebuild the data set.
    const extra = ckpt.dataset.source ? dataSourceProps(ckpt.dataset.source) : {};
    return await exportGenerator(generator, checkpointMetadata(ckpt, ema), out, opts.precision ?? 'fp32', extra);
  } finally {
    generator.dispose();
  }
}
