// Quality while training: a cheap FID/KID estimate of the generator after some epochs, so a user
// sees when more epochs stop helping, and the run keeps the checkpoint of the best one (best.json).
// The judge lives in eval/, a later stage: cli.ts hands train an opener (eval/training-quality.ts).
import type { ImageShape } from '../common/metadata.js';
import type { Dataset } from '../data/dataset.js';

/** Samples per estimate: enough to rank epochs, a tenth of eval's default (its FID is biased up at this n). */
export const QUALITY_SAMPLES = 500;
/** With no --quality-every: at most one estimate per this many seconds of training... */
export const QUALITY_SECONDS = 60;
/** ...and estimates cost at most this share of the training time. */
export const QUALITY_SHARE = 0.05;

export interface QualityEstimate {
  fid: number;
  kid: number;
  /** Conditional generators: the share of samples the judge puts in the class asked for. */
  classAccuracy?: number;
}

export interface QualityProbe {
  /** The judge, in words (the run's log). */
  what: string;
  /** Score `count` generated images ([count, C*H*W] in [-1, 1]), labelled with the classes asked for when conditional. */
  estimate(images: Float32Array, count: number, labels: Int32Array | null): Promise<QualityEstimate>;
  release(): Promise<void>;
}

/** Opens a probe for a run's data (its held-out split is the reference); null, with a line in the log, when there is no judge for it. */
export type OpenQualityProbe = (o: {
  data: string;
  heldOut: Dataset;
  shape: ImageShape;
  classes: string[];
  /** Image folders: the held-out share the run was read with (a folder's judge is kept per split). */
  holdout?: number;
  log: (line: string) => void;
}) => Promise<QualityProbe | null>;

/**
 * Whether an estimate is due after `epoch`: every `every` epochs when given (0: never), else when
 * QUALITY_SECONDS have passed since the last one and the last one's cost is at most QUALITY_SHARE
 * of the training time since. The run's last epoch gets one too when `every` is given, or when the
 * run trained QUALITY_SECONDS in all (a run of seconds, as in tests, opens no judge).
 */
export function qualityDue(o: {
  every: number | undefined;
  epoch: number;
  lastEpoch: boolean;
  /** Training seconds since the last estimate (or since the run started, before the first). */
  secondsSince: number;
  /** Training seconds of the whole run so far. */
  runSeconds: number;
  lastCost: number;
}): boolean {
  if (o.every === 0) return false;
  if (o.every !== undefined) return o.lastEpoch || o.epoch % o.every === 0;
  if (o.lastEpoch && o.runSeconds >= QUALITY_SECONDS) return true;
  return o.secondsSince >= QUALITY_SECONDS && o.lastCost <= QUALITY_SHARE * o.secondsSince;
}

/** The best (lowest) FID estimate in a run's metrics rows, with its epoch; null before the first. */
export function bestSoFar(rows: Record<string, number>[]): { fid: number; epoch: number } | null {
  let best: { fid: number; epoch: number } | null = null;
  for (const r of rows) if (Number.isFinite(r.fid) && (!best || r.fid! < best.fid)) best = { fid: r.fid!, epoch: r.epoch! };
  return best;
}
