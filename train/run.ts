// A training run: data -> steps -> metrics, samples, loss curve and atomic checkpoints in runs/NAME/.
import * as tf from '@tensorflow/tfjs-core';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { IMAGE_PIXELS, type ModelKind } from '../common/metadata.js';
import { Rng, generatorNoise } from '../common/rng.js';
import { gridPng } from '../common/png.js';
import { writeFileAtomic } from '../common/atomic.js';
import { selectBackend, type BackendChoice } from '../backend/select.js';
import { balancedSubset, shuffle, type Dataset } from '../data/dataset.js';
import { loadData } from '../data/sources.js';
import { MODEL_ONLY_OPTIONS, learningRateScale, modelSpec, optionFlags, type ModelSpec } from './models.js';
import { initOutputBiasToMean } from './layers.js';
import { GanTrainer, type StepMetrics } from './trainer.js';
import { captureCheckpoint, readCheckpoint, restoreCheckpoint, saveCheckpoint, type Checkpoint, type RunPosition } from './checkpoint.js';
import { lossCurveSvg } from './loss-plot.js';

/** The reference's batch size. */
export const DEFAULT_BATCH = 300;

export interface TrainOptions {
  model: ModelKind;
  data: string;
  epochs: number;
  /** Default: a resumed run's own, else DEFAULT_BATCH. */
  batch?: number;
  backend: BackendChoice;
  seed: number;
  limit?: number;
  out: string;
  resume: boolean;
  /** Write a sample grid every K epochs (and after the last). */
  sampleEvery: number;
  /** Exponential moving average of the generator's weights (e.g. 0.999); off when undefined. */
  ema?: number;
  /** `mean`: start the generator's output bias at the data's mean image (see initOutputBiasToMean). */
  outputBiasInit?: 'reference' | 'mean';
  /** WGAN-GP/CGAN: generator steps at the start that get 100 critic steps each. */
  criticWarmup?: number;
  /** Learning rates replacing the reference's (opt-in quality levers). */
  generatorLr?: number;
  criticLr?: number;
  /** gan: one-sided label smoothing of the discriminator's real targets. */
  labelSmoothing?: number;
  /** gan: R1 gradient penalty weight on real images. */
  r1?: number;
  /** cgan: weight of the matching-aware critic term (real images with wrong labels scored below right ones). */
  mismatch?: number;
  /** Decay both learning rates linearly from this epoch to zero at `epochs`. */
  lrDecayFrom?: number;
  /** Set by a signal handler: finish the step, checkpoint, return. */
  stop?: { requested: boolean };
  log?: (line: string) => void;
}

export interface TrainResult {
  status: 'done' | 'interrupted';
  epoch: number;
  step: number;
  checkpoint: string;
}

export class NonFiniteLossError extends Error {}

export const CHECKPOINT_FILE = 'checkpoint.json';
export const METRICS_FILE = 'metrics.jsonl';

/** Fixed noise (and one row per class for conditional models) so sample grids are comparable. */
function sampleGrid(trainer: GanTrainer, seed: number, classes: string[]): Buffer {
  const cols = 10;
  const rows = trainer.conditional ? classes.length : 10;
  const n = rows * cols;
  const images = tf.tidy(() => {
    const noise = tf.tensor2d(generatorNoise(seed ^ 0x5eed, n, trainer.spec.noiseDim), [n, trainer.spec.noiseDim]);
    const labels = trainer.conditional ? tf.tensor1d(Int32Array.from({ length: n }, (_, i) => Math.floor(i / cols)), 'int32') : undefined;
    return trainer.generate(noise, labels).dataSync() as Float32Array;
  });
  return gridPng(images, n, cols, 2, 2);
}

function batchTensors(ds: Dataset, order: number[], from: number, to: number): { x: tf.Tensor2D; y: tf.Tensor1D } {
  const n = to - from;
  const x = new Float32Array(n * IMAGE_PIXELS);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const src = order[from + i]!;
    x.set(ds.images.subarray(src * IMAGE_PIXELS, (src + 1) * IMAGE_PIXELS), i * IMAGE_PIXELS);
    y[i] = ds.labels[src]!;
  }
  return { x: tf.tensor2d(x, [n, IMAGE_PIXELS]), y: tf.tensor1d(y, 'int32') };
}

function meanImage(ds: Dataset): Float32Array {
  const mean = new Float32Array(IMAGE_PIXELS);
  for (let i = 0; i < ds.count; i++) for (let p = 0; p < IMAGE_PIXELS; p++) mean[p] += ds.images[i * IMAGE_PIXELS + p]! / ds.count;
  return mean;
}

/** Keep only metrics of epochs the checkpoint contains, so a resumed log is one continuous series. */
function reconcileMetrics(file: string, upToEpoch: number): Record<string, number>[] {
  if (!existsSync(file)) return [];
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, number>];
      } catch {
        return []; // a torn last line from a killed process
      }
    })
    .filter((r) => r.epoch! <= upToEpoch);
  writeFileAtomic(file, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  return rows;
}

const fmt = (m: Partial<StepMetrics>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${(v as number).toFixed(3)}`)
    .join(' ');

/**
 * The spec with the opt-in training options given now: on a new run over the reference spec, on
 * --resume over the checkpoint's (options not given keep their stored values, so a resume keeps
 * the run's levers unless told otherwise, e.g. to anneal it with --lr-decay).
 */
function withOptions(spec: ModelSpec, opts: TrainOptions, resuming: boolean): ModelSpec {
  const given = <K extends keyof ModelSpec>(key: K, value: ModelSpec[K] | undefined): Partial<ModelSpec> =>
    value === undefined ? {} : { [key]: value };
  return {
    ...spec,
    generatorOptimizer: { ...spec.generatorOptimizer, lr: opts.generatorLr ?? spec.generatorOptimizer.lr },
    criticOptimizer: { ...spec.criticOptimizer, lr: opts.criticLr ?? spec.criticOptimizer.lr },
    ...given('criticWarmup', opts.criticWarmup === undefined ? undefined : { generatorSteps: opts.criticWarmup, criticSteps: 100 }),
    ...given('labelSmoothing', opts.labelSmoothing),
    ...given('r1Gamma', opts.r1),
    ...given('mismatch', opts.mismatch),
    ...given('ema', opts.ema),
    ...given('lrDecay', opts.lrDecayFrom === undefined ? undefined : { fromEpoch: opts.lrDecayFrom, toEpoch: opts.epochs }),
    // Applied once at the start of a run, so only a new run records it.
    ...(!resuming && opts.outputBiasInit === 'mean' ? { outputBiasInit: 'mean' as const } : {}),
  };
}

/** The checkpoint's spec with the options given now; a change is recorded with the step it starts at. */
function resumedSpec(ckpt: Checkpoint, opts: TrainOptions): ModelSpec {
  // Checkpoints from before spec.ema kept the decay with the average only.
  const stored: ModelSpec = ckpt.ema && !ckpt.spec.ema ? { ...ckpt.spec, ema: ckpt.ema.decay } : ckpt.spec;
  const spec = withOptions(stored, opts, true);
  const [before, after] = [optionFlags(stored), optionFlags(spec)];
  if (before.join() === after.join()) return spec;
  const history = ckpt.spec.optionChanges ?? [{ step: 0, flags: before }];
  return { ...spec, optionChanges: [...history, { step: ckpt.position.step, flags: after }] };
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const modelOnly: Record<keyof typeof MODEL_ONLY_OPTIONS, unknown> = {
    '--r1': opts.r1,
    '--label-smoothing': opts.labelSmoothing,
    '--mismatch': opts.mismatch,
    '--critic-warmup': opts.criticWarmup,
  };
  for (const [flag, kinds] of Object.entries(MODEL_ONLY_OPTIONS) as [keyof typeof MODEL_ONLY_OPTIONS, readonly ModelKind[]][]) {
    if (modelOnly[flag] !== undefined && !kinds.includes(opts.model)) throw new Error(`${flag} applies to ${kinds.join(' and ')} only, not ${opts.model}`);
  }
  if (opts.lrDecayFrom !== undefined && opts.lrDecayFrom >= opts.epochs) {
    throw new Error(`--lr-decay ${opts.lrDecayFrom} must be below --epochs ${opts.epochs}`);
  }
  const backend = await selectBackend(opts.backend);
  log(`backend: ${backend.name} (${backend.reason})`);

  const splits = loadData(opts.data);
  const data = opts.limit ? balancedSubset(splits.train, opts.limit, opts.seed) : splits.train;
  mkdirSync(opts.out, { recursive: true });
  const ckptFile = path.join(opts.out, CHECKPOINT_FILE);
  const metricsFile = path.join(opts.out, METRICS_FILE);

  let ckpt: Checkpoint | null = null;
  if (existsSync(ckptFile)) {
    if (!opts.resume) throw new Error(`${opts.out} already holds a run: pass --resume to continue it or choose another --out`);
    ckpt = readCheckpoint(ckptFile);
    if (ckpt.spec.kind !== opts.model) throw new Error(`${ckptFile} is a ${ckpt.spec.kind} run, not ${opts.model}`);
    if (ckpt.dataset.name !== data.name || ckpt.dataset.count !== data.count) {
      throw new Error(`${ckptFile} was trained on ${ckpt.dataset.name} (${ckpt.dataset.count} images), not ${data.name} (${data.count})`);
    }
  } else if (opts.resume) {
    log(`no checkpoint in ${opts.out}: starting a new run`);
  }

  const seed = ckpt?.seed ?? opts.seed;
  const batch = opts.batch ?? ckpt?.batch ?? DEFAULT_BATCH;
  if (ckpt?.position.batchInEpoch && ckpt.batch !== undefined && batch !== ckpt.batch) {
    // The epoch's position counts batches of the size it began with.
    throw new Error(`${ckptFile} stopped partway through an epoch of batch ${ckpt.batch}: resume with --batch ${ckpt.batch} (or none)`);
  }
  const rng = new Rng(seed);
  // The spec (kept in the checkpoint) carries the run's training options.
  const spec = ckpt ? resumedSpec(ckpt, opts) : withOptions(modelSpec(opts.model, data.classes.length), opts, false);
  if (spec.lrDecay && opts.epochs > spec.lrDecay.toEpoch) {
    // Epochs at rate zero would still move BatchNorm statistics and the EMA: refuse rather than drift.
    throw new Error(`the learning rates of ${opts.out} reach zero at epoch ${spec.lrDecay.toEpoch}: pass --lr-decay again to schedule epochs up to ${opts.epochs}`);
  }
  const trainer = new GanTrainer(spec, rng);
  if (ckpt) {
    await restoreCheckpoint(trainer, ckpt, ckptFile);
    rng.setState(ckpt.rngState);
  } else if (spec.outputBiasInit === 'mean') {
    initOutputBiasToMean(trainer.generator, meanImage(data));
  }
  if (spec.ema) trainer.enableEma(spec.ema); // on --resume: keeps the average, starts it, or changes its decay

  const pos: RunPosition = ckpt?.position ?? { epoch: 0, step: 0, batchInEpoch: 0, epochOrder: null, epochSums: {}, wallTimeMs: 0 };
  if (ckpt) log(`resuming ${opts.out} at epoch ${pos.epoch + 1}${pos.batchInEpoch ? `, batch ${pos.batchInEpoch + 1}` : ''} (step ${pos.step})`);
  const history = reconcileMetrics(metricsFile, pos.epoch);

  const nBatches = Math.ceil(data.count / batch);
  const datasetInfo = { name: data.name, classes: data.classes, count: data.count };
  const checkpoint = async (): Promise<void> =>
    saveCheckpoint(ckptFile, await captureCheckpoint(trainer, { dataset: datasetInfo, seed, batch, backend: backend.name, position: pos }));

  const bar = new cliProgress.SingleBar(
    {
      format: '{kind} epoch {epoch}/{epochs} |{bar}| {value}/{total} steps | {speed} steps/s | ETA {eta_formatted} | {losses}',
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 10_000,
      etaBuffer: 30,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const totalSteps = opts.epochs * nBatches;
  bar.start(totalSteps, pos.step, { kind: opts.model, epoch: pos.epoch + 1, epochs: opts.epochs, speed: '-', losses: '' });
  const started = performance.now() - pos.wallTimeMs;
  let sessionSteps = 0;
  const sessionStart = performance.now();

  try {
    while (pos.epoch < opts.epochs) {
      const epochStart = performance.now();
      const epochLrScale = learningRateScale(spec, pos.epoch); // logged: the rate at the epoch's start
      if (!pos.epochOrder) {
        pos.epochOrder = Array.from({ length: data.count }, (_, i) => i);
        shuffle(pos.epochOrder, rng);
        pos.batchInEpoch = 0;
        pos.epochSums = {};
      }
      for (; pos.batchInEpoch < nBatches; ) {
        if (opts.stop?.requested) {
          pos.wallTimeMs = performance.now() - started;
          await checkpoint();
          bar.stop();
          log(`interrupted: checkpoint at epoch ${pos.epoch + 1}, batch ${pos.batchInEpoch}/${nBatches} in ${ckptFile}; continue with --resume`);
          return { status: 'interrupted', epoch: pos.epoch, step: pos.step, checkpoint: ckptFile };
        }
        const from = pos.batchInEpoch * batch;
        const { x, y } = batchTensors(data, pos.epochOrder, from, Math.min(from + batch, data.count));
        trainer.setLearningRateScale(learningRateScale(spec, pos.epoch + pos.batchInEpoch / nBatches));
        const m = trainer.step(x, y);
        tf.dispose([x, y]);
        const bad = Object.entries(m).find(([, v]) => !Number.isFinite(v));
        if (bad) {
          throw new NonFiniteLossError(
            `${bad[0]} became ${bad[1]} at epoch ${pos.epoch + 1}, step ${pos.step + 1}: training diverged. ` +
              `The last good checkpoint (epoch ${pos.epoch}) is kept in ${ckptFile}.`,
          );
        }
        for (const [k, v] of Object.entries(m)) pos.epochSums[k] = (pos.epochSums[k] ?? 0) + v;
        pos.batchInEpoch++;
        pos.step++;
        sessionSteps++;
        const speed = sessionSteps / ((performance.now() - sessionStart) / 1000);
        bar.update(pos.step, { epoch: pos.epoch + 1, speed: speed.toFixed(2), losses: fmt(m) });
        await new Promise((r) => setImmediate(r)); // let signal handlers run between steps
      }
      const avg = Object.fromEntries(Object.entries(pos.epochSums).map(([k, v]) => [k, v / nBatches]));
      pos.epoch++;
      pos.epochOrder = null;
      pos.batchInEpoch = 0;
      pos.epochSums = {};
      pos.wallTimeMs = performance.now() - started;
      const row = {
        epoch: pos.epoch,
        step: pos.step,
        ...avg,
        ...(spec.lrDecay ? { lrScale: epochLrScale } : {}),
        epochSeconds: (performance.now() - epochStart) / 1000,
        wallSeconds: pos.wallTimeMs / 1000,
        numTensors: tf.memory().numTensors,
      };
      history.push(row);
      // Metrics before the checkpoint: a crash in between leaves a row that resume drops.
      appendFileSync(metricsFile, JSON.stringify(row) + '\n');
      const curveKeys = opts.model === 'gan' ? ['dLoss', 'gLoss', 'dAcc'] : ['dLoss', 'gLoss', 'wasserstein', 'gp'];
      writeFileSync(path.join(opts.out, 'loss.svg'), lossCurveSvg(history, curveKeys));
      if (pos.epoch % opts.sampleEvery === 0 || pos.epoch === opts.epochs) {
        const png = sampleGrid(trainer, seed, data.classes);
        mkdirSync(path.join(opts.out, 'samples'), { recursive: true });
        writeFileSync(path.join(opts.out, 'samples', `epoch-${String(pos.epoch).padStart(4, '0')}.png`), png);
        writeFileAtomic(path.join(opts.out, 'samples.png'), png);
      }
      await checkpoint();
    }
    bar.stop();
    log(`done: ${pos.epoch} epochs, ${pos.step} generator steps, ${(pos.wallTimeMs / 1000).toFixed(0)} s; checkpoint ${ckptFile}`);
    return { status: 'done', epoch: pos.epoch, step: pos.step, checkpoint: ckptFile };
  } finally {
    bar.stop();
    trainer.dispose();
  }
}
