// Evaluating a generator trained on a folder of images: the folder is found through the model's
// metadata (onnxgan.data_source: path and data options), read again the same way, and the images
// are scored by a judge trained for that data set on first use and cached by its fingerprint.
import { existsSync } from 'node:fs';
import type { BackendChoice } from '../backend/choices.js';
import path from 'node:path';
import { imageValues } from '../common/metadata.js';
import type { DataSplits } from '../data/dataset.js';
import { cacheDir, dataSourceFromProps } from '../data/image-options.js';
import { progressBar } from '../data/progress.js';
import { openData } from '../data/sources.js';
import type { ModelFileInfo } from '../export/onnx-read.js';
import { retrainCommand } from './judge.js';
import { readJudgeModel } from './judge-file.js';
import { defaultEpochs, folderSpec, sameSpec } from './judge-spec.js';
import { trainAndSaveJudge } from './judges.js';

export interface FolderEval {
  /** The folder, as eval's data source. */
  data: string;
  splits: DataSplits;
  /** The judge for this data set (and held-out split), in cacheDir('judges'). */
  judgeFile: string;
}

/**
 * The data set of a generator trained on an image folder, read again with its data options (from
 * `explicitData` when given, else from where it was trained); null for other inputs. Throws, saying
 * what it needs, when the folder is gone or has no classes for a judge.
 */
export async function folderEvalData(
  input: string,
  model: ModelFileInfo | null,
  explicitData: string | undefined,
  notes: string[],
  log: (line: string) => void,
): Promise<FolderEval | null> {
  if (!model || explicitData === 'mnist' || explicitData === 'fashion') return null; // no readable generator: the sample source says why
  const { props, metadata: meta } = model;
  const source = dataSourceFromProps(props);
  if (!source) return null;
  const [c, h, w] = meta.imageShape;
  const what = `${meta.dataset} (${c}x${h}x${w}${meta.classes ? `, classes ${meta.classes.join(', ')}` : ''})`;
  const dir = explicitData ?? source.path;
  if (!existsSync(dir)) {
    throw new Error(
      `${input} was trained on ${what}, read from ${source.path}, which is not there any more: ` +
        `eval needs those images to train its judge and as the real images to compare with; ` +
        `put them back there or pass --data DIR with the same class folders`,
    );
  }
  const options = {
    size: [w, h] as [number, number],
    channels: source.channels === 'auto' ? undefined : source.channels,
    fit: source.fit,
    holdout: source.holdout,
  };
  const splits = await openData(dir, options, { log });
  const ds = splits.train;
  if (ds.shape.join() !== meta.imageShape.join()) {
    throw new Error(
      `${dir} now reads as ${ds.shape.join('x')} images, but ` +
        `${input} makes ${meta.imageShape.join('x')}: pass --data with the images it was trained on`,
    );
  }
  if (splits.folder?.layout === 'flat' || ds.classes.length < 2) {
    throw new Error(
      `eval scores generators with a judge, a classifier of the data set's classes, and ` +
        `${dir} has ${splits.folder?.layout === 'flat' ? 'no classes (a flat folder)' : 'a single class'}` +
        `: pass --data with a folder of at least 2 class folders`,
    );
  }
  // NAME@FINGERPRINT: the fingerprint is the images' content, the name only the folder's.
  const fingerprint = ds.name.slice(ds.name.lastIndexOf('@') + 1);
  const trainedOn = meta.dataset ?? '(unknown)';
  if (fingerprint !== trainedOn.slice(trainedOn.lastIndexOf('@') + 1)) {
    notes.push(
      `${dir} now holds ${ds.name}; ` +
        `${input} was trained on ${trainedOn}: the images changed since, and it is scored against the current ones`,
    );
  }
  // Keyed by content, so the same images in a moved or renamed folder reuse the judge.
  return { data: dir, splits, judgeFile: folderJudgeFile(ds.name, source.holdout) };
}

/** Where the judge of a folder's images (data set name NAME@FINGERPRINT) and held-out share is cached. */
export function folderJudgeFile(datasetName: string, holdout: number): string {
  const fingerprint = datasetName.slice(datasetName.lastIndexOf('@') + 1);
  return path.join(cacheDir('judges'), `judge-${fingerprint}-holdout${holdout}.json`);
}

/** Trains and caches the folder's judge unless a readable one of today's spec is cached; reports its held-out accuracy. */
export async function ensureFolderJudge(f: FolderEval, log: (line: string) => void, backend: BackendChoice = 'auto'): Promise<void> {
  const spec = folderSpec(f.splits.train.shape);
  try {
    const cached = readJudgeModel(f.judgeFile, retrainCommand('report', f.data));
    if (sameSpec(cached.spec, spec)) return;
    log(`the judge cached for these images (${f.judgeFile}) is of an earlier kind: training today's`);
  } catch {
    // none yet, or unreadable: (re)train it
  }
  // Scoring runs on onnxruntime; training the judge is the one step that needs tfjs.
  const { selectBackend } = await import('../backend/select.js');
  await selectBackend(backend);
  const { train, heldOut } = f.splits;
  const epochs = defaultEpochs(spec, train.count);
  log(
    `training the judge for ${train.name} (first eval of this data set): ` +
      `${train.count} images x ${epochs} epochs, ${train.shape.join('x')}; cached as ${f.judgeFile}`,
  );
  const { stepsPerEpoch } = await import('./judge-train.js');
  const bar = progressBar('judge', epochs * stepsPerEpoch(spec, train.count), 'steps');
  const r = await trainAndSaveJudge({
    spec,
    data: f.data,
    splits: f.splits,
    file: f.judgeFile,
    epochs,
    onStep: (step) => bar.update(step),
  }).finally(() => bar.stop());
  log(
    `judge for ${train.name}: ` +
      `held-out accuracy ${r.heldOutAccuracy.toFixed(4)} on ${heldOut.count} images (${imageValues(train.shape)} values each)`,
  );
}
