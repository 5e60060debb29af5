// How long a run trains and on what batch, fitted to the data: the batch when --batch is not given,
// the run's epochs from --epochs, --steps or --minutes, and the warning for a run too short to learn.
// A run always ends on an epoch's end (every image seen as often), so --steps rounds up to whole
// epochs and --minutes is turned into epochs from the measured speed.
import type { Arch, TrainingOptions } from './options.js';

/** The reference's batch size. */
export const DEFAULT_BATCH = 300;
/** DCGAN's batch size (Radford et al.): a conv step costs ~20x an MLP one per image, so more, smaller steps. */
export const DEFAULT_CONV_BATCH = 64;
/** The smallest batch the default picks (smaller ones make noisy critic estimates). */
export const MIN_DEFAULT_BATCH = 16;
/** Epochs of a new run given no length. */
export const DEFAULT_EPOCHS = 20;
/**
 * Below this many generator steps samples are still noise. Measured on the README's 322 icons (cgan,
 * 24x24, batch 40): 180 steps drew coloured static, ~450 the first shapes, ~900-1,500 recognisable
 * folders and pages; a batch of 300 there gives 2 steps an epoch.
 */
export const MIN_STEPS = 500;

/**
 * The batch for n training images without --batch: the reference's 300 (dcgan: 64), or about an eighth of a smaller set
 * (>= 16, a multiple of 8), so an epoch has about 8 steps.
 */
export function defaultBatch(n: number, arch: Arch): number {
  const most = arch === 'dcgan' ? DEFAULT_CONV_BATCH : DEFAULT_BATCH;
  return Math.min(most, Math.max(MIN_DEFAULT_BATCH, Math.round(n / 8 / 8) * 8));
}

/** The length flags: each one given replaces the others (on --resume too). */
export type LengthGiven = { epochs?: number; steps?: number; minutes?: number };

/** The stored options' length entries after a command line: the one given, the others cleared (null). */
export function lengthOptions(given: LengthGiven): Pick<Partial<TrainingOptions>, 'steps' | 'minutes'> {
  const flags = (['epochs', 'steps', 'minutes'] as const).filter((k) => given[k] !== undefined);
  if (flags.length > 1) throw new Error(`give the run's length once: ${flags.map((k) => `--${k}`).join(' and ')} were both given`);
  if (!flags.length) return {};
  return { steps: given.steps ?? null, minutes: given.minutes ?? null };
}

/** A --minutes run's provisional epochs until the speed is known (its fitted decay cannot start before then). */
const UNKNOWN = 1_000_000;
export const provisional = (epochs: number): boolean => epochs >= UNKNOWN;

/**
 * The epochs a run trains: --epochs as given, --steps rounded up to whole epochs, --minutes from the
 * speed (see `minutesToEpochs`; provisional before the first epoch), else a resumed run's schedule
 * end or DEFAULT_EPOCHS.
 */
export function plannedEpochs(
  o: Pick<TrainingOptions, 'steps' | 'minutes' | 'lrDecay'>,
  stepsPerEpoch: number,
  givenEpochs: number | undefined,
): number {
  if (givenEpochs !== undefined) return givenEpochs;
  if (o.steps !== null) return Math.ceil(o.steps / stepsPerEpoch);
  if (o.minutes !== null) return o.lrDecay && o.lrDecay.to < UNKNOWN ? o.lrDecay.to : UNKNOWN;
  return o.lrDecay?.to ?? DEFAULT_EPOCHS;
}

/** Whether a --minutes run's length is still an estimate: until its fitted decay starts (then it is fixed). */
export const lengthOpen = (o: TrainingOptions, epoch: number): boolean =>
  o.minutes !== null && !(o.lrDecay && o.lrDecay.to < UNKNOWN && epoch >= o.lrDecay.from);

/**
 * --minutes as epochs: the epochs done plus those the time left holds at this session's speed (at
 * least the one under way). `wallSeconds` is the whole run's time so far.
 */
export function minutesToEpochs(
  minutes: number,
  done: { epoch: number; wallSeconds: number },
  secondsPerStep: number,
  stepsPerEpoch: number,
): number {
  const left = Math.max(0, minutes * 60 - done.wallSeconds);
  return Math.max(1, done.epoch + Math.round(left / secondsPerStep / stepsPerEpoch));
}

/** The decay fitted to a length: the best recipe's second half (only when the options decay at all). */
export const fittedDecay = (o: TrainingOptions, epochs: number): TrainingOptions['lrDecay'] =>
  o.lrDecay ? { from: Math.floor(epochs / 2), to: epochs } : null;

/** The run's length as a phrase: "167 epochs of 9 steps (1,503 steps)". */
export const lengthPhrase = (epochs: number, stepsPerEpoch: number): string =>
  `${plural(epochs, 'epoch')} of ${plural(stepsPerEpoch, 'step')} (${plural(epochs * stepsPerEpoch, 'step')})`;

const plural = (n: number, word: string): string => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** The warning for a run too short to learn anything, or null. */
export function tooShortWarning(steps: number, how: string): string | null {
  if (steps >= MIN_STEPS) return null;
  return (
    `warning: ${how} is ${steps.toLocaleString('en-US')} generator steps, too few to learn anything: ` +
    `samples are still noise below ~${MIN_STEPS} steps (give e.g. --steps 1500 or --minutes 3)`
  );
}
