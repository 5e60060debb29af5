// evaluate(): score a set of images (a generator's samples, an .npy file or a data set) against a
// reference set (the judge's held-out real images, or --ref) with a judge, next to the ceiling of real
// training images scored the same way.
import type { BackendChoice } from '../backend/choices.js';
import { balancedSubset, type Dataset, type DataSplits } from '../data/dataset.js';
import { isImageFolderSource, openData } from '../data/sources.js';
import { DIGIT_SHAPE, imageValues, type ImageShape } from '../common/metadata.js';
import { existsSync } from 'node:fs';
import { JudgeError, judgeName, judgePath, retrainCommand } from './judge.js';
import { loadJudge, readJudge, roleSpec, trainAndSaveJudge, type JudgeFacts, type JudgeRole, type LoadedJudge } from './judges.js';
import { matrixProducts } from '../backend/ort-matmul.js';
import { accuracy, predictedClasses } from './metrics.js';
import { silentProgress, type ProgressSink } from './progress.js';
import { generateOnnxSamples, readGeneratorFile, readNpySamples, SampleError, type GeneratorFile, type Samples } from './samples.js';
import { prepareReference, scoreSet, type Metrics, type ScoredSet } from './score.js';
import { ensureFolderJudge, folderEvalData } from './folder-judge.js';

export const DEFAULT_N = 5000;
/** Bootstrap resamples behind each spread. */
export const DEFAULT_BOOTSTRAP = 30;
/** A --ref set larger than this is scored on a class-balanced subset of this size. */
export const MAX_REFERENCE = 10_000;

export interface EvalOptions {
  /** The images to score: a generator (.onnx), samples (.npy), or a data set (mnist, fashion, a folder). */
  input?: string;
  /** --ref: the reference set (one), or, without input, the scored set and the reference (two). */
  refs?: string[];
  /** Samples to generate (.onnx) or at most to read. Default 5000. */
  n?: number;
  /** Data set of the judge (and of the default reference and ceiling). Default: the generator's, else mnist. */
  data?: string;
  /** Seed of the generator noise, of the subsets and of the bootstrap. Default 0. */
  seed?: number;
  /** report (default), select, or a judge file. */
  judge?: string;
  /** Also score real training images (the ceiling; only against the default reference). Default true. */
  ceiling?: boolean;
  /** Bootstrap resamples for the spreads (0: none). Default 30. */
  bootstrap?: number;
  backend?: BackendChoice;
  progress?: ProgressSink;
}

export interface EvalReport {
  /** What was scored. */
  input: string;
  source: string;
  kind: string | null;
  data: string;
  seed: number;
  judge: JudgeFacts & {
    /** Measured now on the data set's held-out split. */
    heldOutAccuracy: number;
    heldOutCount: number;
  };
  reference: { source: string; count: number };
  generator: Metrics;
  /** Remarks for the user (sample ranges, data set guesses, fallbacks); also printed under the table. */
  notes: string[];
  /** Real training images vs the reference: the best a generator can hope for at this n. */
  ceiling: Metrics | null;
}

const dataCache = new Map<string, Promise<DataSplits>>();
/** A data set's splits, read once per process; a folder of images is read at the judge's input shape. */
function cachedData(data: string, [c, h, w]: ImageShape): Promise<DataSplits> {
  const folder = isImageFolderSource(data);
  const key = folder ? `${data}\0${c}x${h}x${w}` : data;
  let d = dataCache.get(key);
  if (!d) {
    d = openData(data, folder ? { size: [w, h], channels: c === 1 ? 1 : 3 } : {});
    dataCache.set(key, d);
    d.catch(() => dataCache.delete(key));
  }
  return d;
}

const isFile = (s: string, ext: string): boolean => s.toLowerCase().endsWith(ext);

/** The data set to judge against: explicit --data, else the generator's own (mnist/fashion), else a named --ref, else mnist. */
function chooseData(model: GeneratorFile | null, refs: string[], explicit: string | undefined, notes: string[]): string {
  const ds = model?.info.metadata.dataset ?? null;
  if (explicit) {
    if (ds && ds !== judgeName(explicit)) notes.push(`the generator was trained on "${ds}" but is judged against ${explicit}`);
    return explicit;
  }
  if (ds === 'mnist' || ds === 'fashion') return ds;
  if (ds) notes.push(`the generator was trained on "${ds}"; judged against mnist (pass --data to choose)`);
  return refs.find((r) => r === 'mnist' || r === 'fashion') ?? 'mnist';
}

/**
 * The judge --judge names. The report judge is the default; a data set without one (a folder) is
 * judged by its select judge, and the report says so.
 */
function chooseJudge(spec: string | undefined, data: string, notes: string[]): { spec: string; facts: JudgeFacts } {
  try {
    return { spec: spec ?? 'report', facts: readJudge(spec ?? 'report', data).facts };
  } catch (e) {
    // A report judge that is missing (not one that is broken) falls back to the select judge, said in the report.
    if (spec !== undefined || !(e instanceof JudgeError) || existsSync(judgePath('report', data))) throw e;
    notes.push(`no report judge for ${data} (build one with \`${retrainCommand('report', data)}\`): these numbers are the select judge's`);
    return { spec: 'select', facts: readJudge('select', data).facts };
  }
}

/** The images of a data set (both splits), as samples, at most `limit` (class-balanced), labelled when its classes are the judge's. */
async function datasetSamples(source: string, limit: number, seed: number, judge: JudgeFacts, notes: string[]): Promise<Samples> {
  const judgeClasses = judge.classes;
  const { train, heldOut } = await cachedData(source, judge.imageShape);
  const all: Dataset = {
    ...train,
    images: concat(train.images, heldOut.images),
    labels: Int32Array.from([...train.labels, ...heldOut.labels]),
    count: train.count + heldOut.count,
  };
  const picked = balancedSubset(all, limit, seed);
  if (picked.count < all.count) notes.push(`${source}: scored a class-balanced subset of ${picked.count} of its ${all.count} images`);
  const sameClasses = train.classes.length === judgeClasses.length && train.classes.every((c, i) => c === judgeClasses[i]);
  if (!sameClasses) notes.push(`${source}: its classes are not the judge's, so its labels are not used`);
  return {
    images: picked.images,
    count: picked.count,
    labels: sameClasses ? picked.labels : null,
    source: `data set ${source} (${picked.count} images${sameClasses ? ', labelled' : ''})`,
    kind: null,
    classes: train.classes,
    dataset: judgeName(source),
    notes: [],
  };
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function loadSamples(
  input: string,
  n: number,
  seed: number,
  judge: JudgeFacts,
  notes: string[],
  progress: ProgressSink,
  model: GeneratorFile | null = null,
): Promise<Samples> {
  if (isFile(input, '.npy')) return readNpySamples(input, n, judge.classes.length);
  if (isFile(input, '.onnx')) {
    const stage = progress.stage(`sampling ${n} images from ${input}`, n);
    const s = await generateOnnxSamples(input, { n, seed, model, onProgress: (done) => stage.update(done) });
    stage.done();
    return s;
  }
  try {
    return await datasetSamples(input, n, seed, judge, notes);
  } catch (e) {
    throw new SampleError(
      `${input}: expected an .onnx generator, an .npy samples file or a data set (mnist, fashion, a folder): ${(e as Error).message}`,
    );
  }
}

function checkShape(s: Samples, shape: ImageShape, what: string, judge: JudgeFacts): void {
  const per = imageValues(shape);
  if (s.images.length !== s.count * per) {
    throw new SampleError(
      `${what}: its images are not ${shape.join('x')}, the ${judge.role} judge's input (${judge.file}); pass the matching --data`,
    );
  }
}

async function judged(
  judge: LoadedJudge,
  images: Float32Array,
  count: number,
  labels: Int32Array | null,
  what: string,
  progress: ProgressSink,
): Promise<ScoredSet> {
  const stage = progress.stage(`scoring ${what} with the ${judge.role} judge`, count);
  const out = await judge.predict(images, count, (done) => stage.update(done));
  stage.done();
  return { ...out, labels };
}

export async function evaluate(o: EvalOptions): Promise<EvalReport> {
  const n = o.n ?? DEFAULT_N;
  const seed = o.seed ?? 0;
  const bootstrap = o.bootstrap ?? DEFAULT_BOOTSTRAP;
  const progress = o.progress ?? silentProgress;
  const refs = o.refs ?? [];
  if (!Number.isInteger(n) || n < 1) throw new Error(`n must be an integer >= 1, got ${n}`);
  if (refs.length > 2) throw new Error(`--ref is given ${refs.length} times: give one reference, or two sets to compare`);
  if (o.input && refs.length > 1) throw new Error('give the images to score or two --ref sets, not both');
  if (!o.input && refs.length < 2)
    throw new Error('give a generator (.onnx), samples (.npy) or a data set to evaluate, or two --ref sets to compare');
  const input = o.input ?? refs[0]!;
  const refSource = o.input ? refs[0] : refs[1];

  const notes: string[] = [];
  // A generator trained on an image folder: that folder, and a judge trained for it on first use.
  // The generator (if one is scored) is read and decoded once, here.
  const model = o.input ? readGeneratorFile(o.input) : null;
  const folder = await folderEvalData(input, model?.info ?? null, o.data, notes, (l) => console.error(l));
  const data = folder?.data ?? chooseData(model, refs, o.data, notes);
  if (folder && !o.judge) {
    await ensureFolderJudge(folder, (l) => console.error(l), o.backend);
    notes.push(
      `image folders have no shipped judge: scored by the judge trained for this folder on its first eval ` +
        `(the report judge's architecture and augmentation, ${folder.judgeFile}); numbers are comparable between models of ` +
        `this folder only`,
    );
  }
  const { spec, facts } = chooseJudge(o.judge ?? folder?.judgeFile, data, notes);
  const k = facts.classes.length;
  // Cheap checks first (the judge file above, the data, the reference), before sampling.
  const splits = folder?.splits ?? (await cachedData(data, facts.imageShape));
  if (splits.train.classes.length !== k)
    throw new Error(`${facts.file} has ${k} classes but data ${data} has ${splits.train.classes.length}`);
  const reference: Samples | null = refSource ? await loadSamples(refSource, MAX_REFERENCE, seed, facts, notes, progress) : null;
  if (reference) checkShape(reference, facts.imageShape, refSource!, facts);
  const samples = await loadSamples(input, n, seed, facts, notes, progress, model);
  checkShape(samples, facts.imageShape, input, facts);
  if (samples.classes && samples.classes.length !== k) {
    throw new Error(`${input} has ${samples.classes.length} classes but the ${facts.data} judge has ${k}: pass the matching --data`);
  }
  if (reference && (o.ceiling ?? true))
    notes.push('no ceiling with --ref (the ceiling is real training images against the held-out split)');

  // Scoring runs on onnxruntime; only training a judge needs tfjs.
  const judge = await loadJudge(spec, data);
  const gemm = matrixProducts();
  try {
    const held = await judged(
      judge,
      splits.heldOut.images,
      splits.heldOut.count,
      splits.heldOut.labels,
      `the ${splits.heldOut.count} held-out images`,
      progress,
    );
    const heldOutAccuracy = accuracy(predictedClasses(held.probs, held.count, k), splits.heldOut.labels);
    const refSet = reference
      ? await judged(judge, reference.images, reference.count, reference.labels, `the ${reference.count} reference images`, progress)
      : held;
    const prepared = await prepareReference(gemm, refSet, k);

    const scored = await judged(judge, samples.images, samples.count, samples.labels, `${samples.count} images of ${input}`, progress);
    const generator = await scoreSet(gemm, scored, prepared, k, { bootstrap, seed, progress, label: 'samples' });

    let ceiling: Metrics | null = null;
    if ((o.ceiling ?? true) && !reference) {
      const real = balancedSubset(splits.train, samples.count, seed);
      const r = await judged(
        judge,
        real.images.subarray(0, real.count * imageValues(facts.imageShape)),
        real.count,
        real.labels,
        `${real.count} real training images (ceiling)`,
        progress,
      );
      ceiling = await scoreSet(gemm, r, prepared, k, { bootstrap, seed, progress, label: 'real images' });
    }
    return {
      input,
      source: samples.source,
      kind: samples.kind,
      data,
      seed,
      judge: { ...facts, heldOutAccuracy, heldOutCount: splits.heldOut.count },
      reference: reference
        ? { source: `${refSource}: ${reference.source}`, count: reference.count }
        : { source: `${judgeName(data)} held-out split`, count: splits.heldOut.count },
      generator,
      ceiling,
      notes: [...notes, ...samples.notes, ...(reference?.notes ?? [])],
    };
  } finally {
    await judge.release();
  }
}

/** Train a judge for a data set and write it atomically (the tfjs backend is set up here). */
export async function retrainJudge(o: {
  role: JudgeRole;
  data: string;
  file?: string;
  epochs?: number;
  seed?: number;
  backend?: BackendChoice;
  log?: (line: string) => void;
}): Promise<{ file: string; heldOutAccuracy: number; heldOutCount: number }> {
  const { selectBackend } = await import('../backend/select.js');
  await selectBackend(o.backend ?? 'auto');
  const splits = await cachedData(o.data, DIGIT_SHAPE); // IDX data sets: the shape reads only image folders
  const spec = roleSpec(o.role, o.data);
  return trainAndSaveJudge({
    spec: o.seed === undefined ? spec : { ...spec, seed: o.seed },
    data: o.data,
    splits,
    file: o.file ?? judgePath(o.role, o.data),
    epochs: o.epochs,
    log: o.log,
  });
}
