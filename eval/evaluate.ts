// evaluate(): score a generator (.onnx) or a samples file (.npy) with the judge, next to the ceiling of
// real training images scored the same way.
import { selectBackend, type BackendChoice } from '../backend/select.js';
import { balancedSubset, type DataSplits } from '../data/dataset.js';
import { loadData } from '../data/sources.js';
import { imageValues } from '../common/metadata.js';
import { defaultJudgePath, Judge, judgeName, readJudgeFile, trainJudge, type JudgeInfo } from './judge.js';
import { accuracy, computeMetrics, gaussianStats, predictedClasses, type Metrics } from './metrics.js';
import { generateOnnxSamples, readNpySamples, SampleError, type Samples } from './samples.js';
import { readModelInfo } from '../export/onnx-read.js';
import { ensureFolderJudge, folderEvalData } from './folder-judge.js';

export const DEFAULT_N = 5000;

export interface EvalOptions {
  /** An exported generator (.onnx) or a samples file (.npy). */
  input: string;
  /** Samples to generate (.onnx) or at most to read (.npy). Default 5000. */
  n?: number;
  /** Data set of the judge and the real images: mnist, fashion or an IDX folder. Default: the generator's, else mnist. */
  data?: string;
  /** Seed of the generator noise and of the ceiling's choice of training images. Default 0. */
  seed?: number;
  /** Judge file (default models/judge-<data>.json in the package). */
  judgeFile?: string;
  /** Also score real training images (the ceiling). Default true. */
  ceiling?: boolean;
  backend?: BackendChoice;
}

export interface EvalReport {
  input: string;
  source: string;
  kind: string | null;
  data: string;
  seed: number;
  judge: {
    file: string;
    architecture: string;
    classes: string[];
    /** Measured now on the held-out split (the FID reference set). */
    heldOutAccuracy: number;
    heldOutCount: number;
  };
  generator: Metrics;
  /** Remarks for the user (sample ranges, data set guesses); also printed under the table. */
  notes: string[];
  /** Real training images vs the held-out images: the best a generator can hope for at this n. */
  ceiling: Metrics | null;
}

let backendReady: Promise<unknown> | null = null;
/** Set up tfjs once per process. */
export function ensureBackend(choice: BackendChoice = 'auto'): Promise<unknown> {
  backendReady ??= selectBackend(choice);
  return backendReady;
}

const dataCache = new Map<string, DataSplits>();
function cachedData(data: string): DataSplits {
  let d = dataCache.get(data);
  if (!d) {
    d = loadData(data);
    dataCache.set(data, d);
  }
  return d;
}

/** The data set to judge against: explicit --data, else the generator's own (mnist/fashion), else mnist. */
function chooseData(input: string, explicit: string | undefined, notes: string[]): string {
  if (/\.onnx$/i.test(input) && explicit) {
    try {
      const ds = readModelInfo(input).metadata.dataset;
      if (ds !== judgeName(explicit)) notes.push(`the generator was trained on "${ds}" but is judged against ${explicit}`);
    } catch {
      // reported by the sample source
    }
  }
  if (explicit) return explicit;
  if (/\.onnx$/i.test(input)) {
    try {
      const ds = readModelInfo(input).metadata.dataset;
      if (ds === 'mnist' || ds === 'fashion') return ds;
      notes.push(`the generator was trained on "${ds}"; judged against mnist (pass --data to choose)`);
    } catch {
      // the sample source reports bad files with their own message
    }
  }
  return 'mnist';
}

async function loadSamples(input: string, n: number, seed: number, numClasses: number): Promise<Samples> {
  if (/\.npy$/i.test(input)) return readNpySamples(input, n, numClasses);
  if (/\.onnx$/i.test(input)) return generateOnnxSamples(input, { n, seed });
  throw new SampleError(`${input}: expected an .onnx generator or an .npy samples file`);
}

export async function evaluate(o: EvalOptions): Promise<EvalReport> {
  const n = o.n ?? DEFAULT_N;
  const seed = o.seed ?? 0;
  if (!Number.isInteger(n) || n < 2) throw new Error(`n must be an integer >= 2, got ${n}`);
  const notes: string[] = [];
  // A generator trained on an image folder: that folder, and a judge trained for it on first use.
  const folder = await folderEvalData(o.input, o.data, notes, (l) => console.error(l));
  const data = folder?.data ?? chooseData(o.input, o.data, notes);
  const judgeFile = o.judgeFile ?? folder?.judgeFile ?? defaultJudgePath(data);
  if (folder && !o.judgeFile) {
    await ensureBackend(o.backend);
    await ensureFolderJudge(folder, (l) => console.error(l));
  }
  // Cheap checks first: the judge file and the samples, before tfjs starts.
  const judgeData = readJudgeFile(judgeFile, data);
  const k = judgeData.info.classes.length;
  const samples = await loadSamples(o.input, n, seed, k);
  await ensureBackend(o.backend);
  const judge = new Judge(judgeData.info, judgeData.values);
  try {
    if (samples.classes && samples.classes.length !== k) {
      throw new Error(`${o.input} has ${samples.classes.length} classes but the ${judge.info.data} judge has ${k}: pass the matching --data`);
    }
    const splits = folder?.splits ?? cachedData(data);
    if (splits.train.classes.length !== k) throw new Error(`${judgeFile} has ${k} classes but data ${data} has ${splits.train.classes.length}`);

    const held = await judge.predict(splits.heldOut.images, splits.heldOut.count);
    const reference = gaussianStats(held.features, held.count, held.features.length / held.count);
    const heldOutAccuracy = accuracy(predictedClasses(held.probs, held.count, k), splits.heldOut.labels);

    const out = await judge.predict(samples.images, samples.count);
    const generator = computeMetrics({ ...out, labels: samples.labels }, reference, k);

    let ceiling: Metrics | null = null;
    if (o.ceiling ?? true) {
      const real = balancedSubset(splits.train, samples.count, seed);
      const r = await judge.predict(real.images.subarray(0, real.count * imageValues(real.shape)), real.count);
      ceiling = computeMetrics({ ...r, labels: real.labels }, reference, k);
    }
    return {
      input: o.input,
      source: samples.source,
      kind: samples.kind,
      data,
      seed,
      judge: {
        file: judgeFile,
        architecture: judge.info.architecture,
        classes: judge.info.classes,
        heldOutAccuracy,
        heldOutCount: splits.heldOut.count,
      },
      generator,
      ceiling,
      notes: [...notes, ...samples.notes],
    };
  } finally {
    judge.dispose();
  }
}

/** Default judge training length: 8 epochs of the 9,000 mnist digits, 4 of Fashion-MNIST's 60,000. */
export const defaultJudgeEpochs = (trainCount: number): number => Math.min(8, Math.max(4, Math.round(240_000 / trainCount)));

/** Train the judge for a data set and write it atomically; returns its info. */
export async function retrainJudge(o: {
  data: string;
  file?: string;
  epochs?: number;
  seed?: number;
  backend?: BackendChoice;
  log?: (line: string) => void;
}): Promise<{ file: string; info: JudgeInfo }> {
  await ensureBackend(o.backend);
  const { train, heldOut } = cachedData(o.data);
  const file = o.file ?? defaultJudgePath(o.data);
  const epochs = o.epochs ?? defaultJudgeEpochs(train.count);
  o.log?.(`training the ${judgeName(o.data)} judge on ${train.count} images for ${epochs} epochs (held-out: ${heldOut.count} images)`);
  const judge: Judge = await trainJudge({ data: o.data, train, heldOut, epochs, seed: o.seed ?? 0, log: o.log });
  try {
    judge.save(file);
    return { file, info: { ...judge.info } };
  } finally {
    judge.dispose();
  }
}
