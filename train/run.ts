// A training run: data -> steps -> metrics, samples, loss curve and atomic checkpoints in runs/NAME/.
import * as tf from '@tensorflow/tfjs-core';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { imageValues, type ModelKind } from '../common/metadata.js';
import { Rng, generatorNoise } from '../common/rng.js';
import { gridPng } from '../common/png.js';
import { removeStaleTempFiles, writeFileAtomic } from '../common/atomic.js';
import { selectBackend, type BackendChoice, type BackendInfo } from '../backend/select.js';
import { balancedSubset, DataError, shuffle, type Dataset, type DataSplits } from '../data/dataset.js';
import { openData, refuseRunInsideData } from '../data/sources.js';
import { plannedImageShape, type ImageDataOptions } from '../data/image-options.js';
import { checkTrainingMemory, memoryLimitFor, type MemoryPlan } from './memory.js';
import { architecture, type Architecture } from './models.js';
import { kernelsNeeded } from './layers/registry.js';
import {
  learningRateScale,
  optionFlags,
  recipeOptions,
  resolveOptions,
  type Arch,
  type GivenOptions,
  type Recipe,
  type RecipeContext,
  type TrainingOptions,
} from './options.js';
import { initOutputBiasToMean } from './layers.js';
import { GanTrainer, type StepMetrics } from './trainer.js';
import {
  BEST_FILE,
  captureCheckpoint,
  CHECKPOINT_FILE,
  readCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
  type Checkpoint,
  type DatasetInfo,
  type RunPosition,
} from './checkpoint.js';
import { lossCurveSvg } from './loss-plot.js';
import {
  bestSoFar,
  QUALITY_SAMPLES,
  QUALITY_SECONDS,
  QUALITY_SHARE,
  qualityDue,
  type OpenQualityProbe,
  type QualityProbe,
} from './quality-probe.js';
import {
  defaultBatch,
  fittedDecay,
  MIN_DEFAULT_BATCH,
  lengthOpen,
  lengthPhrase,
  minutesToEpochs,
  plannedEpochs,
  provisional,
  tooShortWarning,
} from './run-length.js';

export interface TrainOptions {
  model: ModelKind;
  data: string;
  /** Image folders: --image-size, --channels, --fit, --holdout, --strict as given (a resume takes the run's own for those not given). */
  dataOptions?: ImageDataOptions;
  /** --epochs; default: --steps or --minutes in the options, a resumed run's schedule end, else DEFAULT_EPOCHS (run-length.ts). */
  epochs?: number;
  /** Default: a resumed run's own, else fitted to the data (run-length.ts defaultBatch). */
  batch?: number;
  backend: BackendChoice;
  /** Threads of the wasm backend's native GEMM. */
  threads?: number;
  seed: number;
  limit?: number;
  out: string;
  resume: boolean;
  /** Write a sample grid every K epochs (and after the last). */
  sampleEvery: number;
  /** Where a new run's options start (a resumed run keeps its stored ones). */
  recipe: Recipe;
  /** The training options given on the command line (options.ts), by their one name. */
  options: GivenOptions;
  /** Set by a signal handler: finish the step, checkpoint, return. */
  stop?: { requested: boolean };
  log?: (line: string) => void;
  /** Opens the judge of the quality estimates (eval/training-quality.ts, handed in by cli.ts); none: no estimates. */
  quality?: OpenQualityProbe;
  /** --quality-every: an estimate every K epochs; 0: none; undefined: by time and cost (quality-probe.ts qualityDue). */
  qualityEvery?: number;
}

export interface TrainResult {
  status: 'done' | 'interrupted';
  epoch: number;
  step: number;
  checkpoint: string;
}

export class NonFiniteLossError extends Error {}

export const METRICS_FILE = 'metrics.jsonl';

/** Fixed noise (and one row per class for conditional models) so sample grids are comparable. */
function sampleGrid(trainer: GanTrainer, seed: number, classes: string[]): Buffer {
  const cols = 10;
  const rows = trainer.conditional ? classes.length : 10;
  const n = rows * cols;
  const images = tf.tidy(() => {
    const noise = tf.tensor2d(generatorNoise(seed ^ 0x5eed, n, trainer.arch.noiseDim), [n, trainer.arch.noiseDim]);
    const labels = trainer.conditional
      ? tf.tensor1d(
          Int32Array.from({ length: n }, (_, i) => Math.floor(i / cols)),
          'int32',
        )
      : undefined;
    return trainer.generate(noise, labels).dataSync() as Float32Array;
  });
  const shape = trainer.arch.imageShape;
  return gridPng(images, n, cols, 2, Math.max(1, Math.floor(56 / Math.max(shape[1], shape[2]))), shape);
}

function batchTensors(ds: Dataset, order: number[], from: number, to: number): { x: tf.Tensor2D; y: tf.Tensor1D } {
  const n = to - from;
  const v = imageValues(ds.shape);
  const x = new Float32Array(n * v);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const src = order[from + i]!;
    x.set(ds.images.subarray(src * v, (src + 1) * v), i * v);
    y[i] = ds.labels[src]!;
  }
  return { x: tf.tensor2d(x, [n, v]), y: tf.tensor1d(y, 'int32') };
}

function meanImage(ds: Dataset): Float32Array {
  const v = imageValues(ds.shape);
  const mean = new Float32Array(v);
  for (let i = 0; i < ds.count; i++) for (let p = 0; p < v; p++) mean[p] += ds.images[i * v + p]! / ds.count;
  return mean;
}

/** The data of a run: a resume reads an image folder with the run's own data options unless others are given. */
async function loadRunData(opts: TrainOptions, ckpt: Checkpoint | null, log: (line: string) => void): Promise<DataSplits> {
  const stored = ckpt?.dataset.source;
  const given = opts.dataOptions ?? {};
  const options: ImageDataOptions = stored
    ? {
        size: stored.size,
        channels: stored.channels === 'auto' ? undefined : stored.channels,
        fit: stored.fit,
        holdout: stored.holdout,
        ...given,
      }
    : given;
  const splits = await openData(opts.data, options, { log });
  const f = splits.folder;
  if (f) {
    const [c, h, w] = splits.train.shape;
    const classes = f.layout === 'flat' ? 'no classes' : splits.train.classes.map((k, i) => `${k} ${f.perClass[i]}`).join(', ');
    log(
      `data: ${splits.train.name}, ${c}x${h}x${w} ${c === 3 ? 'RGB' : 'grey'} (${classes}); ` +
        `${splits.train.count} to train, ${splits.heldOut.count} held out` +
        `${f.cache.hit ? ', from the cache' : ''}`,
    );
    if (f.skipped.length)
      log(
        `data: skipped ${f.skipped.length} (--strict makes this an error), first ${f.skipped[0]!.file}: ` +
          `${f.skipped[0]!.reason}; \`onnxgan data ${opts.data}\` lists them`,
      );
  }
  if (opts.model === 'cgan') {
    if (f?.layout === 'flat')
      throw new DataError(
        `${opts.data} is a flat folder of images without classes: cgan needs one subfolder per class (gan ` +
          `and wgan-gp train on a flat folder)`,
      );
    if (splits.train.classes.length < 2)
      throw new DataError(
        `${opts.data} has a single class (${splits.train.classes[0]}): cgan needs at least 2 class folders (gan and wgan-gp train on one)`,
      );
  }
  return splits;
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

/** Seconds as h:mm:ss; '-' until there is a speed, and for open-ended runs (beyond 99 days). */
function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 99 * 86400) return '-';
  const s = Math.round(seconds);
  const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  return hms[0]
    ? `${hms[0]}:${String(hms[1]).padStart(2, '0')}:${String(hms[2]).padStart(2, '0')}`
    : `${hms[1]}:${String(hms[2]).padStart(2, '0')}`;
}

const fmt = (m: Partial<StepMetrics>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${(v as number).toFixed(3)}`)
    .join(' ');

/** The options in force on --resume; a change is recorded in the history with the step it starts at. */
function resumedOptions(
  ckpt: Checkpoint,
  opts: TrainOptions,
  ctx: RecipeContext,
): { options: TrainingOptions; optionChanges: Checkpoint['optionChanges'] } {
  const kind = ckpt.architecture.kind;
  const options = resolveOptions(kind, opts.options, ctx, ckpt.options);
  const [before, after] = [optionFlags(kind, ckpt.options), optionFlags(kind, options)];
  if (before.join() === after.join()) return { options, optionChanges: ckpt.optionChanges };
  const history = ckpt.optionChanges ?? [{ step: 0, flags: before }];
  return { options, optionChanges: [...history, { step: ckpt.position.step, flags: after }] };
}

/** Everything a run's loop needs, from the command line and the run folder's checkpoint. */
interface Run {
  opts: TrainOptions;
  log: (line: string) => void;
  backend: string;
  data: Dataset;
  /** Image folders: how to read the folder again (resume, eval). */
  source: DatasetInfo['source'];
  trainer: GanTrainer;
  /** The held-out split (the quality estimates' reference). */
  heldOut: Dataset;
  seed: number;
  batch: number;
  /** Generator steps per epoch. */
  nBatches: number;
  /** The epochs the run trains to (a --minutes run's estimate changes until its decay starts). */
  epochs: number;
  recipe: Recipe | undefined;
  pos: RunPosition;
  optionChanges: Checkpoint['optionChanges'];
  history: Record<string, number>[];
  ckptFile: string;
  metricsFile: string;
}

/**
 * The backend, or the cpu backend when it lacks a kernel the architecture's gradients need (wasm has
 * no Conv2DBackpropFilter until backend/wasm-kernels.ts registers one): the run says so and goes on.
 */
async function backendFor(arch: Architecture, backend: BackendInfo, log: (line: string) => void): Promise<BackendInfo> {
  const missing = kernelsNeeded([...arch.generator.layers, ...arch.critic.layers]).filter((k) => !tf.getKernel(k, backend.name));
  if (!missing.length) return backend;
  const cpu = await selectBackend('cpu');
  log(`backend: cpu instead (${backend.name} has no ${missing.join(', ')}, which this architecture's gradients need)`);
  return cpu;
}

/** Check the command line against the run folder, load data and checkpoint, build the trainer. */
async function setUp(opts: TrainOptions, log: (line: string) => void): Promise<Run> {
  let backend = await selectBackend(opts.backend, { threads: opts.threads });
  log(`backend: ${backend.name} (${backend.reason})`);
  const ckptFile = path.join(opts.out, CHECKPOINT_FILE);
  const metricsFile = path.join(opts.out, METRICS_FILE);

  let ckpt: Checkpoint | null = null;
  if (existsSync(ckptFile)) {
    if (!opts.resume) throw new Error(`${opts.out} already holds a run: pass --resume to continue it or choose another --out`);
    ckpt = readCheckpoint(ckptFile);
    if (ckpt.architecture.kind !== opts.model) throw new Error(`${ckptFile} is a ${ckpt.architecture.kind} run, not ${opts.model}`);
  } else if (opts.resume) {
    log(`no checkpoint in ${opts.out}: starting a new run`);
  }
  for (const f of removeStaleTempFiles(opts.out)) log(`removed ${path.join(opts.out, f)}: left by a process that no longer runs`);
  refuseRunInsideData(opts.data, opts.out);
  // Before decoding: what the image size costs, at the least batch the run can have.
  const plan: MemoryPlan = {
    kind: opts.model,
    shape: ckpt?.architecture.imageShape ?? plannedImageShape(opts.dataOptions),
    arch: ckpt?.options.arch ?? (opts.options.arch as Arch | undefined) ?? recipeOptions(opts.recipe, opts.model, { epochs: 1 }).arch,
    batch: opts.batch ?? ckpt?.batch ?? MIN_DEFAULT_BATCH,
  };
  checkTrainingMemory(plan, log, memoryLimitFor(backend.name));
  // Data before the run folder: a bad --data leaves no empty run behind.
  const splits = await loadRunData(opts, ckpt, log);
  const data = opts.limit ? balancedSubset(splits.train, opts.limit, opts.seed) : splits.train;
  if (ckpt && (ckpt.dataset.name !== data.name || ckpt.dataset.count !== data.count)) {
    throw new Error(`${ckptFile} was trained on ${ckpt.dataset.name} (${ckpt.dataset.count} images), not ${data.name} (${data.count})`);
  }
  mkdirSync(opts.out, { recursive: true });

  const seed = ckpt?.seed ?? opts.seed;
  const batch = opts.batch ?? ckpt?.batch ?? defaultBatch(data.count, plan.arch);
  // Again once the channels (auto may find colour) and the batch are known.
  if (data.shape.join() !== plan.shape.join() || batch !== plan.batch)
    checkTrainingMemory({ ...plan, shape: data.shape, batch }, log, memoryLimitFor(backend.name));
  if (ckpt?.position.batchInEpoch && ckpt.batch !== undefined && batch !== ckpt.batch) {
    // The epoch's position counts batches of the size it began with.
    throw new Error(`${ckptFile} stopped partway through an epoch of batch ${ckpt.batch}: resume with --batch ${ckpt.batch} (or none)`);
  }
  // The architecture is fixed for a run; the options may change on --resume.
  const nBatches = Math.ceil(data.count / batch);
  const given = opts.options as Partial<TrainingOptions>;
  const length = (k: 'steps' | 'minutes'): number | null => (given[k] !== undefined ? given[k] : (ckpt?.options[k] ?? null));
  const epochs = plannedEpochs(
    { steps: length('steps'), minutes: length('minutes'), lrDecay: ckpt?.options.lrDecay ?? null },
    nBatches,
    opts.epochs,
  );
  if (length('minutes') !== null && given.lrDecay !== undefined) {
    throw new Error(
      '--lr-decay counts epochs: give --epochs or --steps with it (with --minutes the decay is fitted to the estimated length)',
    );
  }
  const ctx: RecipeContext = { epochs };
  const { options, optionChanges } = ckpt
    ? resumedOptions(ckpt, opts, ctx)
    : { options: resolveOptions(opts.model, opts.options, ctx, opts.recipe), optionChanges: undefined };
  const arch = ckpt?.architecture ?? architecture(opts.model, data.classes.length, data.shape, options.arch);
  backend = await backendFor(arch, backend, log);
  const recipe = ckpt ? ckpt.recipe : opts.recipe;
  if (options.lrDecay && epochs > options.lrDecay.to) {
    // Epochs at rate zero would still move BatchNorm statistics and the EMA: refuse rather than drift.
    throw new Error(
      `the learning rates of ${opts.out} reach zero at epoch ${options.lrDecay.to}: pass --lr-decay again ` +
        `to schedule epochs up to ${epochs}`,
    );
  }
  const rng = new Rng(seed);
  const trainer = new GanTrainer(arch, options, rng);
  const why = trainer.engineNote
    ? ` (the hand-written step runs the MLPs: ${trainer.engineNote}; tfjs's wasm convolutions step conv networks ` +
      `faster than the hand-written ones, bench/conv-engines.ts)`
    : '';
  const engine =
    trainer.engine === 'hand' ? 'hand-written forward and backward, products on onnxruntime' : `tfjs autodiff on ${backend.name}`;
  log(`step: ${engine}${why}`);
  if (ckpt) {
    await restoreCheckpoint(trainer, ckpt, ckptFile);
    rng.setState(ckpt.rngState);
  } else if (options.outputBiasInit === 'mean') {
    initOutputBiasToMean(trainer.generator, meanImage(data));
  }
  trainer.startEma(); // on --resume with a new --ema: the average starts here

  const pos: RunPosition = ckpt?.position ?? { epoch: 0, step: 0, batchInEpoch: 0, epochOrder: null, epochSums: {}, wallTimeMs: 0 };
  if (ckpt && pos.epoch >= epochs) {
    throw new Error(`${opts.out} has done ${pos.epoch} epochs already: pass --epochs above ${pos.epoch} to continue it`);
  }
  if (ckpt)
    log(`resuming ${opts.out} at epoch ${pos.epoch + 1}${pos.batchInEpoch ? `, batch ${pos.batchInEpoch + 1}` : ''} (step ${pos.step})`);
  else {
    // A --minutes run's decay is fitted once the speed is known.
    const shown =
      provisional(epochs) && options.lrDecay
        ? [...optionFlags(opts.model, { ...options, lrDecay: null }), '(learning rates decaying over the second half)']
        : optionFlags(opts.model, options);
    log(`recipe ${recipe}: ${shown.join(' ') || "the chapter's settings"}`);
  }
  const history = reconcileMetrics(metricsFile, pos.epoch);
  const fitted =
    opts.batch === undefined && ckpt?.batch === undefined
      ? ` (fitted to ${data.count.toLocaleString('en-US')} images; --batch sets it)`
      : '';
  const lengthText =
    options.minutes !== null ? `about ${options.minutes} minutes (epochs from the speed, after the first)` : lengthPhrase(epochs, nBatches);
  log(`run: ${lengthText}, batch ${batch}${fitted}`);
  if (options.minutes === null) warnIfShort(log, epochs * nBatches, lengthFlag(opts, options, epochs));
  return {
    opts,
    log,
    backend: backend.name,
    data,
    source: splits.folder?.source,
    trainer,
    heldOut: splits.heldOut,
    seed,
    batch,
    nBatches,
    epochs,
    recipe,
    pos,
    optionChanges,
    history,
    ckptFile,
    metricsFile,
  };
}

/** How the run's length was asked for, for the warning. */
const lengthFlag = (opts: TrainOptions, o: TrainingOptions, epochs: number): string =>
  opts.epochs !== undefined
    ? `--epochs ${opts.epochs}`
    : o.steps !== null
      ? `--steps ${o.steps}`
      : `--epochs ${epochs} (the run's length when none is given)`;

function warnIfShort(log: (line: string) => void, steps: number, how: string): void {
  const warning = tooShortWarning(steps, how);
  if (warning) log(warning);
}

/**
 * A --minutes run after an epoch: the epochs the time left holds at this session's speed, and the
 * fitted decay with them, until the decay starts (then the length is fixed).
 */
function refitMinutes(r: Run, secondsPerStep: number): void {
  const o = r.trainer.options;
  if (o.minutes === null || !lengthOpen(o, r.pos.epoch)) return;
  const first = provisional(r.epochs);
  r.epochs = minutesToEpochs(o.minutes, { epoch: r.pos.epoch, wallSeconds: r.pos.wallTimeMs / 1000 }, secondsPerStep, r.nBatches);
  o.lrDecay = fittedDecay(o, r.epochs);
  if (o.lrDecay) o.lrDecay.from = Math.min(Math.max(o.lrDecay.from, r.pos.epoch), r.epochs - 1); // the rate was 1 so far
  if (first) {
    r.log(`run: --minutes ${o.minutes} is about ${lengthPhrase(r.epochs, r.nBatches)} at ${(1 / secondsPerStep).toFixed(1)} steps/s`);
    warnIfShort(r.log, r.epochs * r.nBatches, `--minutes ${o.minutes}`);
  }
}

/** The checkpoint, and with `best` also best.json (the run's best quality estimate so far). */
async function saveRun(r: Run, best = false): Promise<void> {
  const dataset: DatasetInfo = {
    name: r.data.name,
    classes: r.data.classes,
    count: r.data.count,
    ...(r.source ? { source: r.source } : {}),
  };
  const meta = {
    dataset,
    seed: r.seed,
    batch: r.batch,
    backend: r.backend,
    position: r.pos,
    ...(r.recipe ? { recipe: r.recipe } : {}),
    ...(r.optionChanges ? { optionChanges: r.optionChanges } : {}),
  };
  const ckpt = await captureCheckpoint(r.trainer, meta);
  if (best) saveCheckpoint(path.join(r.opts.out, BEST_FILE), ckpt);
  saveCheckpoint(r.ckptFile, ckpt);
}

/** QUALITY_SAMPLES images from fixed noise (classes in turn when conditional), scored by the probe; its fields for the metrics row. */
async function estimateQuality(r: Run, probe: QualityProbe): Promise<Record<string, number>> {
  const started = performance.now();
  const { trainer } = r;
  const n = QUALITY_SAMPLES;
  const k = r.data.classes.length;
  const labels = trainer.conditional ? Int32Array.from({ length: n }, (_, i) => i % k) : null;
  const noise = generatorNoise(r.seed ^ 0x9a11, n, trainer.arch.noiseDim);
  const v = imageValues(trainer.arch.imageShape);
  const images = new Float32Array(n * v);
  const chunk = 100; // bounds a conv generator's activations
  const restore = trainer.useEmaWeights(); // once: the EMA's BatchNorm statistics cost a pass over 2,000 samples
  try {
    for (let from = 0; from < n; from += chunk) {
      const m = Math.min(chunk, n - from);
      const out = tf.tidy(() => {
        const z = tf.tensor2d(noise.subarray(from * trainer.arch.noiseDim, (from + m) * trainer.arch.noiseDim), [m, trainer.arch.noiseDim]);
        const y = labels ? tf.tensor1d(labels.subarray(from, from + m), 'int32') : undefined;
        return trainer.generate(z, y, false).dataSync() as Float32Array;
      });
      images.set(out, from * v);
    }
  } finally {
    restore();
  }
  const q = await probe.estimate(images, n, labels);
  return { ...q, qualitySeconds: (performance.now() - started) / 1000 };
}

function progressBar(r: Run, totalSteps: number): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar(
    {
      format: '{kind} epoch {epoch}/{epochs} |{bar}| {value}/{total} steps | {speed} steps/s | ETA {remaining} | {losses}',
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 10_000,
      etaBuffer: 30,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalSteps, r.pos.step, {
    kind: r.opts.model,
    epoch: r.pos.epoch + 1,
    epochs: provisional(r.epochs) ? '?' : r.epochs,
    speed: '-',
    remaining: '-',
    losses: '',
  });
  return bar;
}

/**
 * The rest of the current epoch's steps. Returns false when a stop was requested (the position is
 * then mid-epoch); throws NonFiniteLossError when a loss diverges.
 */
async function runEpochSteps(r: Run, nBatches: number, onStep: (m: StepMetrics) => void): Promise<boolean> {
  const { pos, data, trainer, batch } = r;
  if (!pos.epochOrder) {
    pos.epochOrder = Array.from({ length: data.count }, (_, i) => i);
    shuffle(pos.epochOrder, trainer.rng);
    pos.batchInEpoch = 0;
    pos.epochSums = {};
  }
  for (; pos.batchInEpoch < nBatches;) {
    if (r.opts.stop?.requested) return false;
    const from = pos.batchInEpoch * batch;
    const { x, y } = batchTensors(data, pos.epochOrder, from, Math.min(from + batch, data.count));
    trainer.setLearningRateScale(learningRateScale(trainer.options, pos.epoch + pos.batchInEpoch / nBatches));
    let m: StepMetrics;
    try {
      m = trainer.step(x, y);
    } catch (e) {
      // A wasm trap is what a full 4 GiB heap looks like (memory.ts's estimate is a lower bound).
      if (e instanceof WebAssembly.RuntimeError)
        throw new Error(
          `the ${r.backend} backend failed in a step of batch ${batch} (${e.message}): its memory is likely ` +
            `full; use a smaller --batch or --image-size`,
        );
      throw e;
    } finally {
      tf.dispose([x, y]);
    }
    const bad = Object.entries(m).find(([, v]) => !Number.isFinite(v));
    if (bad) {
      throw new NonFiniteLossError(
        `${bad[0]} became ${bad[1]} at epoch ${pos.epoch + 1}, step ${pos.step + 1}: training diverged. ` +
          `The last good checkpoint (epoch ${pos.epoch}) is kept in ${r.ckptFile}.`,
      );
    }
    for (const [k, v] of Object.entries(m)) pos.epochSums[k] = (pos.epochSums[k] ?? 0) + v;
    pos.batchInEpoch++;
    pos.step++;
    onStep(m);
    await new Promise((resolve) => setImmediate(resolve)); // let signal handlers run between steps
  }
  return true;
}

/** After an epoch: its metrics row, the loss curve, a sample grid when due, the checkpoint. */
async function writeEpochOutputs(r: Run, row: Record<string, number>): Promise<void> {
  const { opts, pos } = r;
  const before = bestSoFar(r.history);
  r.history.push(row);
  // Metrics before the checkpoint: a crash in between leaves a row that resume drops.
  appendFileSync(r.metricsFile, JSON.stringify(row) + '\n');
  const curveKeys = opts.model === 'gan' ? ['dLoss', 'gLoss', 'dAcc'] : ['dLoss', 'gLoss', 'wasserstein', 'gp'];
  writeFileSync(path.join(opts.out, 'loss.svg'), lossCurveSvg(r.history, curveKeys, ['fid']));
  if (pos.epoch % opts.sampleEvery === 0 || pos.epoch === r.epochs) {
    const png = sampleGrid(r.trainer, r.seed, r.data.classes);
    mkdirSync(path.join(opts.out, 'samples'), { recursive: true });
    writeFileSync(path.join(opts.out, 'samples', `epoch-${String(pos.epoch).padStart(4, '0')}.png`), png);
    writeFileAtomic(path.join(opts.out, 'samples.png'), png);
  }
  await saveRun(r, Number.isFinite(row.fid) && (!before || row.fid! < before.fid));
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const r = await setUp(opts, log);
  const { pos, trainer } = r;
  const { nBatches } = r;
  let totalSteps = (provisional(r.epochs) ? pos.epoch + 1 : r.epochs) * nBatches; // --minutes: the first epoch until the speed is known
  const bar = progressBar(r, totalSteps);
  const started = performance.now() - pos.wallTimeMs;
  const sessionStart = performance.now();
  let sessionSteps = 0;
  let probe: QualityProbe | null | undefined; // opened when the first estimate is due
  let lastQuality = { at: performance.now(), cost: 0 };
  const onStep = (m: StepMetrics): void => {
    sessionSteps++;
    const speed = sessionSteps / ((performance.now() - sessionStart) / 1000);
    bar.update(pos.step, {
      epoch: pos.epoch + 1,
      epochs: provisional(r.epochs) ? '?' : r.epochs,
      speed: speed.toFixed(2),
      remaining: eta((totalSteps - pos.step) / speed),
      losses: fmt(m),
    });
  };
  try {
    while (pos.epoch < r.epochs) {
      const epochStart = performance.now();
      const epochLrScale = learningRateScale(trainer.options, pos.epoch); // logged: the rate at the epoch's start
      if (!(await runEpochSteps(r, nBatches, onStep))) {
        pos.wallTimeMs = performance.now() - started;
        await saveRun(r);
        bar.stop();
        log(
          `interrupted: checkpoint at epoch ${pos.epoch + 1}, batch ${pos.batchInEpoch}/${nBatches} in ` +
            `${r.ckptFile}; continue with --resume`,
        );
        return { status: 'interrupted', epoch: pos.epoch, step: pos.step, checkpoint: r.ckptFile };
      }
      const avg = Object.fromEntries(Object.entries(pos.epochSums).map(([k, v]) => [k, v / nBatches]));
      Object.assign(pos, {
        epoch: pos.epoch + 1,
        epochOrder: null,
        batchInEpoch: 0,
        epochSums: {},
        wallTimeMs: performance.now() - started,
      });
      refitMinutes(r, (performance.now() - sessionStart) / 1000 / sessionSteps);
      if (r.epochs * nBatches !== totalSteps && r.epochs > pos.epoch) bar.setTotal((totalSteps = r.epochs * nBatches));
      const epochSeconds = (performance.now() - epochStart) / 1000;
      let quality: Record<string, number> = {};
      const due = qualityDue({
        every: opts.qualityEvery,
        epoch: pos.epoch,
        lastEpoch: pos.epoch >= r.epochs,
        secondsSince: (performance.now() - lastQuality.at) / 1000,
        runSeconds: pos.wallTimeMs / 1000,
        lastCost: lastQuality.cost,
      });
      if (due && probe === undefined) probe = await openProbe(r);
      if (probe && due) {
        quality = await estimateQuality(r, probe);
        lastQuality = { at: performance.now(), cost: quality.qualitySeconds! };
      }
      await writeEpochOutputs(r, {
        epoch: pos.epoch,
        step: pos.step,
        ...avg,
        ...(trainer.options.lrDecay ? { lrScale: epochLrScale } : {}),
        epochSeconds,
        wallSeconds: pos.wallTimeMs / 1000,
        numTensors: tf.memory().numTensors,
        ...quality,
      });
    }
    bar.stop();
    const best = bestSoFar(r.history);
    log(
      `done: ${pos.epoch} epochs, ${pos.step} generator steps, ${(pos.wallTimeMs / 1000).toFixed(0)} s; ` +
        `samples ${path.join(opts.out, 'samples.png')}, checkpoint ${r.ckptFile}` +
        (best ? `; best FID estimate ${best.fid.toFixed(2)} at epoch ${best.epoch} (${path.join(opts.out, BEST_FILE)})` : ''),
    );
    return { status: 'done', epoch: pos.epoch, step: pos.step, checkpoint: r.ckptFile };
  } finally {
    bar.stop();
    trainer.dispose();
    await probe?.release();
  }
}

/** The quality estimates' judge, unless --quality-every 0 or none was handed in; a judge that fails to open costs the run nothing. */
async function openProbe(r: Run): Promise<QualityProbe | null> {
  const { opts } = r;
  if (!opts.quality || opts.qualityEvery === 0) return null;
  try {
    const probe = await opts.quality({
      data: opts.data,
      heldOut: r.heldOut,
      shape: r.trainer.arch.imageShape,
      classes: r.data.classes,
      holdout: r.source?.holdout,
      log: r.log,
    });
    if (probe) {
      const when = opts.qualityEvery
        ? opts.qualityEvery === 1
          ? 'every epoch'
          : `every ${opts.qualityEvery} epochs`
        : `at most every ${QUALITY_SECONDS} s and ${QUALITY_SHARE * 100}% of the time`;
      r.log(`quality: FID estimates of ${QUALITY_SAMPLES} samples ${when} by ${probe.what}; the best kept as ${BEST_FILE}`);
    }
    return probe;
  } catch (e) {
    r.log(`quality: no estimates (${(e as Error).message})`);
    return null;
  }
}
