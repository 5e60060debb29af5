// Which judge scores: `--judge report` (default: the numbers users see), `--judge select` (the
// judge development decisions were made with) or a judge file. Every judge is a spec
// (eval/judge-spec.ts) with weights in one file format; all run through onnxruntime when scoring
// (eval/judge-session.ts) and train with tfjs (eval/judge-train.ts).
import { existsSync } from 'node:fs';
import type { ImageShape } from '../common/metadata.js';
import type { DataSplits } from '../data/dataset.js';
import { JudgeError, judgeName, judgePath, readJudgeJson, retrainCommand } from './judge.js';
import { readJudgeModel, saveJudge, specOf } from './judge-file.js';
import { judgeOnnx } from './judge-onnx.js';
import { JudgeSession, type JudgeOutputs, type Progress } from './judge-session.js';
import { defaultEpochs, featureDim, REPORT_SPEC, selectSpec, trainingText, type JudgeRole, type JudgeSpec } from './judge-spec.js';

export type { JudgeRole } from './judge-spec.js';

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
 * The judge file `--judge` names: report, select or a path (parsed here once and handed on as
 * `json`, its spec says its role; a new path, to train into with `mayBeNew`, holds a report judge).
 */
export function judgeFile(which: string, data: string, o: { mayBeNew?: boolean } = {}): { role: JudgeRole; file: string; json?: unknown } {
  if (which === 'report' || which === 'select') return { role: which, file: judgePath(which, data) };
  if (!existsSync(which)) {
    if (o.mayBeNew) return { role: 'report', file: which };
    throw new JudgeError(`judge file ${which} not found (--judge takes report, select or a judge file)`);
  }
  const json = readJudgeJson(which, retrainCommand('report', data));
  const spec = specOf(json as Record<string, unknown>); // not a judge: readJudgeModel says why
  return { role: typeof spec === 'string' ? 'report' : spec.role, file: which, json };
}

/** Read a judge file (cheap: no runtime yet). */
export function readJudge(which: string, data: string): { facts: JudgeFacts; onnx: () => Uint8Array; heldOutAccuracy: number } {
  const { role, file, json } = judgeFile(which, data);
  const j = readJudgeModel(file, retrainCommand(role, data), json);
  return {
    facts: {
      role: j.spec.role,
      file,
      data: j.info.data,
      architecture: j.info.architecture,
      classes: j.info.classes,
      imageShape: j.info.imageShape,
      dim: featureDim(j.spec),
      seed: j.spec.seed,
      training: trainingText(j.spec, j.info.epochs),
    },
    onnx: () => judgeOnnx(j),
    heldOutAccuracy: j.info.heldOutAccuracy,
  };
}

/** Load a judge ready to score. */
export async function loadJudge(which: string, data: string): Promise<LoadedJudge> {
  const { facts, onnx } = readJudge(which, data);
  const session = await JudgeSession.create(onnx(), facts.imageShape, facts.dim, facts.classes.length);
  return { ...facts, predict: (images, count, onProgress) => session.predict(images, count, onProgress), release: () => session.release() };
}

/** The spec a role trains with for a data set. */
export const roleSpec = (role: JudgeRole, data: string): JudgeSpec =>
  role === 'report' ? REPORT_SPEC : selectSpec(judgeName(data) === 'mnist' ? 2 : 1);

/** Train a judge of a spec for a data set (tfjs backend already set up) and write it atomically. */
export async function trainAndSaveJudge(o: {
  spec: JudgeSpec;
  data: string;
  splits: DataSplits;
  file: string;
  epochs?: number;
  log?: (line: string) => void;
  onStep?: (step: number, totalSteps: number) => void;
}): Promise<{ file: string; heldOutAccuracy: number; heldOutCount: number }> {
  const { train, heldOut } = o.splits;
  const epochs = o.epochs ?? defaultEpochs(o.spec, train.count);
  const log = o.log ?? (() => {});
  log(
    `training the ${o.spec.role} judge for ${judgeName(o.data)} on ${train.count} images ` +
      `for ${epochs} epochs (held-out: ${heldOut.count} images)`,
  );
  const { trainJudge } = await import('./judge-train.js'); // tfjs: only when training
  const judge = await trainJudge({ spec: o.spec, data: o.data, train, heldOut, epochs, log, onStep: o.onStep });
  saveJudge(o.file, judge);
  return { file: o.file, heldOutAccuracy: judge.info.heldOutAccuracy, heldOutCount: heldOut.count };
}
