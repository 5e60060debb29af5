// Which judge scores: `--judge report` (default: the numbers users see), `--judge select` (the
// judge development decisions were made with) or a judge file of either kind. Both run through
// onnxruntime when scoring (eval/judge-session.ts); both train with tfjs.
import { existsSync } from 'node:fs';
import { DIGIT_SHAPE, type ImageShape } from '../common/metadata.js';
import type { DataSplits } from '../data/dataset.js';
import { defaultJudgePath, FEATURE_DIM, Judge, JudgeError, judgeName, readJudgeFile, readJudgeJson, retrainCommand, trainJudge } from './judge.js';
import { selectJudgeOnnx } from './judge-onnx.js';
import { JudgeSession, type JudgeOutputs, type Progress } from './judge-session.js';
import { readReportJudge, REPORT_FEATURES, REPORT_JUDGE_FORMAT, reportJudgeOnnx, reportJudgePath, retrainReportCommand, saveReportJudge, trainReportJudge } from './report-judge.js';

export type JudgeRole = 'report' | 'select';

export interface JudgeFacts {
  role: JudgeRole;
  file: string;
  data: string;
  architecture: string;
  classes: string[];
  imageShape: ImageShape;
  /** Feature dimension (FID, KID, precision/recall live in this space). */
  dim: number;
  seed: number;
  /** The augmentation it was trained with, in words. */
  training: string;
}

export interface LoadedJudge extends JudgeFacts {
  predict(images: Float32Array, count: number, onProgress?: Progress): Promise<JudgeOutputs>;
  release(): Promise<void>;
}

/**
 * The judge file `--judge` names: report, select or a path (of either kind, told apart by its
 * `format`, parsed here once and handed on as `json`; a new path, to train into with `mayBeNew`,
 * holds a report judge).
 */
export function judgeFile(spec: string, data: string, o: { mayBeNew?: boolean } = {}): { role: JudgeRole; file: string; json?: unknown } {
  if (spec === 'report') return { role: 'report', file: reportJudgePath(data) };
  if (spec === 'select') return { role: 'select', file: defaultJudgePath(data) };
  if (!existsSync(spec)) {
    if (o.mayBeNew) return { role: 'report', file: spec };
    throw new JudgeError(`judge file ${spec} not found (--judge takes report, select or a judge file)`);
  }
  const json = readJudgeJson(spec, retrainReportCommand(data));
  return { role: json.format === REPORT_JUDGE_FORMAT ? 'report' : 'select', file: spec, json };
}

/** Read a judge file of either kind (cheap: no runtime yet). */
export function readJudge(spec: string, data: string): { facts: JudgeFacts; onnx: () => Uint8Array; heldOutAccuracy: number } {
  const { role, file, json } = judgeFile(spec, data);
  if (role === 'report') {
    const j = readReportJudge(file, data, json);
    const a = j.info.augmentation;
    return {
      facts: {
        role,
        file,
        data: j.info.data,
        architecture: j.info.architecture,
        classes: j.info.classes,
        imageShape: j.info.imageShape,
        dim: REPORT_FEATURES,
        seed: j.info.seed,
        training: `${j.info.epochs} epochs, shifts up to ${a.shift * 100}% of the side, rotations up to ${a.rotate} ` +
`degrees, scaling up to ${a.scale * 100}%, speckle on ${a.speckle * 100}% of the images`,
      },
      onnx: () => reportJudgeOnnx(j),
      heldOutAccuracy: j.info.heldOutAccuracy,
    };
  }
  const j = readJudgeFile(file, data, json);
  const imageShape = j.info.imageShape ?? DIGIT_SHAPE; // older digit judges carry no shape
  return {
    facts: {
      role,
      file,
      data: j.info.data,
      architecture: j.info.architecture,
      classes: j.info.classes,
      imageShape,
      dim: FEATURE_DIM,
      seed: j.info.seed,
      training: `${j.info.epochs} epochs, shifts up to ${j.info.maxShift} px`,
    },
    onnx: () => selectJudgeOnnx(j.values, imageShape),
    heldOutAccuracy: j.info.heldOutAccuracy,
  };
}

/** Load a judge ready to score. */
export async function loadJudge(spec: string, data: string): Promise<LoadedJudge> {
  const { facts, onnx } = readJudge(spec, data);
  const session = await JudgeSession.create(onnx(), facts.imageShape, facts.dim, facts.classes.length);
  return { ...facts, predict: (images, count, onProgress) => session.predict(images, count, onProgress), release: () => session.release() };
}

/** Default judge training length (select: 8 epochs of 9,000 digits, 4 of 60,000; report: 8 and 6). */
export const defaultJudgeEpochs = (role: JudgeRole, trainCount: number): number =>
  role === 'select' ? Math.min(8, Math.max(4, Math.round(240_000 / trainCount))) : Math.min(8, Math.max(6, Math.round(72_000 / trainCount)));

/** Train a judge for a data set (tfjs backend already set up) and write it atomically. */
export async function trainAndSaveJudge(o: {
  role: JudgeRole;
  data: string;
  splits: DataSplits;
  imageShape: ImageShape;
  file?: string;
  epochs?: number;
  seed?: number;
  log?: (line: string) => void;
}): Promise<{ file: string; heldOutAccuracy: number; heldOutCount: number }> {
  const { train, heldOut } = o.splits;
  const epochs = o.epochs ?? defaultJudgeEpochs(o.role, train.count);
  const log = o.log ?? (() => {});
  log(`training the ${o.role} judge for ${judgeName(o.data)} on ${train.count} images for ${epochs} epochs ` +
`(held-out: ${heldOut.count} images)`);
  if (o.role === 'select') {
    const file = o.file ?? defaultJudgePath(o.data);
    const judge: Judge = await trainJudge({ data: o.data, train, heldOut, epochs, seed: o.seed ?? 0, log });
    try {
      judge.save(file);
      return { file, heldOutAccuracy: judge.info.heldOutAccuracy, heldOutCount: heldOut.count };
    } finally {
      judge.dispose();
    }
  }
  const file = o.file ?? reportJudgePath(o.data);
  const judge = await trainReportJudge({
    data: o.data,
    train,
    heldOut,
    imageShape: o.imageShape,
    epochs,
    seed: o.seed,
    log,
    // Measured the way eval runs it: through onnxruntime.
    measure: async (j) => {
      const s = await JudgeSession.create(reportJudgeOnnx(j), j.info.imageShape, REPORT_FEATURES, j.info.classes.length);
      try {
        const { probs } = await s.predict(heldOut.images, heldOut.count);
        const k = j.info.classes.length;
        let hit = 0;
        for (let i = 0; i < heldOut.count; i++) {
          let best = 0;
          for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
          if (best === heldOut.labels[i]) hit++;
        }
        return hit / heldOut.count;
      } finally {
        await s.release();
      }
    },
  });
  saveReportJudge(file, judge);
  return { file, heldOutAccuracy: judge.info.heldOutAccuracy, heldOutCount: heldOut.count };
}

/** The command that builds a judge, for messages. */
export const buildCommand = (role: JudgeRole, data: string): string => (role === 'report' ? retrainReportCommand(data) : retrainCommand(data));
