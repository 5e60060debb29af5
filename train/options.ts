// The training options: one table from command-line flag to checkpoint. Each entry's key is the
// option's one name (commander's camelCase of the flag, the checkpoint's field, the trainer's
// field); --help, the model-only check, resume and the model card's option lines derive from it.
// Light on purpose (no tfjs): the CLI reads it to build --help.
import { InvalidArgumentError } from 'commander';
import type { z } from 'zod';
import { fraction, fractionOrZero, int, nonNegative, positive } from '../common/cli-args.js';
import type { ModelKind } from '../common/metadata.js';

/** The network families (models.ts): the chapter's MLPs, or DCGAN-family convolutional networks. */
export const ARCHS = ['mlp', 'dcgan'] as const;
export type Arch = (typeof ARCHS)[number];

/** A run's settings, stored in the checkpoint; all but the `fixed` ones (the architecture, see models.ts) may change on --resume. */
export interface TrainingOptions {
  /** The networks; fixed for a run (the checkpoint's architecture holds them). */
  arch: Arch;
  /** Learning rates (Adam). */
  gLr: number;
  dLr: number;
  /** `mean`: the generator's output bias starts at atanh of the data's mean image (a run's start only). */
  outputBiasInit: 'reference' | 'mean';
  /** gan: R1 gradient penalty weight on real images (Mescheder et al. 2018); 0: off. */
  r1: number;
  /** gan: one-sided label smoothing, the discriminator's real targets become 1 - s/2; 0: off. */
  labelSmoothing: number;
  /**
   * cgan: weight of a matching-aware critic term (Reed et al. 2016), m * E softplus(C(x, y') - C(x, y))
   * over real x with a wrong label y'. Logistic, not Wasserstein: the gradient penalty bounds C in x
   * only, so an unbounded term in y could grow without limit. 0: off.
   */
  mismatch: number;
  /** Both learning rates fall linearly from epoch `from` to zero at epoch `to`; null: constant. */
  lrDecay: { from: number; to: number } | null;
  /**
   * wgan-gp/cgan: the first N generator steps get WARMUP_CRITIC_STEPS critic steps each (the original
   * WGAN code's warm-up), so the generator does not follow a still-random critic.
   */
  criticWarmup: number;
  /** Decay of an exponential moving average of the generator's weights; null: none kept. */
  ema: number | null;
  /** wgan-gp/cgan: critic updates per generator update (the chapter's 5). */
  criticSteps: number;
  /** `diff`: DiffAugment (diff-augment.ts) on every image the critic sees; `none`: the images as they are. */
  augment: 'none' | 'diff';
  /** The run's length in generator steps instead of --epochs (rounded up to whole epochs, run-length.ts); null: not given. */
  steps: number | null;
  /** The run's length in minutes of wall time instead of --epochs (turned into epochs from the speed, run-length.ts); null: not given. */
  minutes: number | null;
}

export type OptionKey = keyof TrainingOptions;

/** What a recipe's values may depend on: the run's --epochs. */
export interface RecipeContext {
  epochs: number;
}

/** What a command line gave: each option's parsed flag value, undefined when not given. */
export type GivenOptions = { [K in OptionKey]?: unknown };

interface OptionDef<T> {
  /** `<rate>`: the flag's argument in --help. */
  arg: string;
  help: string;
  parse: (v: string) => unknown;
  /** The generators it applies to (all when absent). */
  kinds?: readonly ModelKind[];
  /** The chapter's value (--recipe reference). */
  reference: (kind: ModelKind) => T;
  /** The measured best value (--recipe best, the default) where it differs from the chapter's. */
  best?: (kind: ModelKind, ctx: RecipeContext) => T;
  /** The parsed flag value as stored (default: as parsed). */
  store?: (value: never, ctx: RecipeContext) => T;
  /** The stored value as the flag(s) that set it. */
  show: (value: T) => string;
  /** Applied once when a run starts, so only a new run takes it. */
  startOnly?: boolean;
  /** Part of the architecture: a resume refuses another value. */
  fixed?: boolean;
  /** The stored value's schema (checkpoints are validated with it); zod is passed in to keep --help light. */
  schema: (zod: typeof z) => z.ZodType<T>;
}

const choice =
  (values: readonly string[]) =>
  (v: string): string => {
    if (!values.includes(v)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}`);
    return v;
  };

/** The critic steps per generator step during --critic-warmup (WGAN's 100). */
export const WARMUP_CRITIC_STEPS = 100;

/** The table. Its order is the order flags are printed in model cards and the resume history. */
export const TRAINING_OPTIONS: { [K in OptionKey]: OptionDef<TrainingOptions[K]> } = {
  arch: {
    arg: '<name>',
    help: "the networks: mlp (the chapter's) or dcgan (convolutional generator and critic, for any image size); fixed for a run",
    parse: choice(ARCHS),
    // No `best`: the mlp beat the dcgan for every kind at 20 minutes (bench/RESULTS.md, "mlp against dcgan").
    reference: () => 'mlp',
    show: (v) => `--arch ${v}`,
    schema: (z) => z.enum(ARCHS),
    fixed: true,
  },
  gLr: {
    arg: '<rate>',
    help: "generator learning rate (default: the reference's)",
    parse: positive,
    reference: () => 1e-4,
    show: (v) => `--g-lr ${v}`,
    schema: (z) => z.number().positive(),
  },
  dLr: {
    arg: '<rate>',
    help: "discriminator/critic learning rate (default: the reference's)",
    parse: positive,
    reference: (kind) => (kind === 'gan' ? 4e-5 : 1e-4),
    show: (v) => `--d-lr ${v}`,
    schema: (z) => z.number().positive(),
  },
  outputBiasInit: {
    arg: '<how>',
    help: "generator output bias at the start: zero-mean init as the reference, or atanh of the data's mean image (reference|mean)",
    parse: choice(['reference', 'mean']),
    reference: () => 'reference',
    best: () => 'mean',
    show: (v) => `--output-bias-init ${v}`,
    schema: (z) => z.enum(['reference', 'mean']),
    startOnly: true,
  },
  r1: {
    arg: '<gamma>',
    help: "add the R1 gradient penalty gamma/2 E|dD/dx|^2 on real images to the discriminator's loss (0: off)",
    parse: nonNegative,
    kinds: ['gan'],
    reference: () => 0,
    best: (kind) => (kind === 'gan' ? 10 : 0),
    show: (v) => `--r1 ${v}`,
    schema: (z) => z.number().min(0),
  },
  labelSmoothing: {
    arg: '<s>',
    help: 'train the discriminator on real targets 1 - s/2 (one-sided label smoothing; 0: off)',
    parse: fractionOrZero,
    kinds: ['gan'],
    reference: () => 0,
    show: (v) => `--label-smoothing ${v}`,
    schema: (z) => z.number().min(0).lt(1),
  },
  mismatch: {
    arg: '<weight>',
    help: 'also train the critic to score real images with a wrong label below the right one (matching-aware critic; 0: off)',
    parse: nonNegative,
    kinds: ['cgan'],
    reference: () => 0,
    best: (kind) => (kind === 'cgan' ? 1 : 0),
    show: (v) => `--mismatch ${v}`,
    schema: (z) => z.number().min(0),
  },
  lrDecay: {
    arg: '<epoch>',
    help: 'decay both learning rates linearly from this epoch to zero at --epochs',
    parse: int(0),
    reference: () => null,
    best: (kind, { epochs }) => (kind === 'gan' ? null : { from: Math.floor(epochs / 2), to: epochs }),
    store: (from: number, { epochs }) => {
      if (from >= epochs) throw new Error(`--lr-decay ${from} must be below --epochs ${epochs}`);
      return { from, to: epochs };
    },
    show: (v) => (v ? `--lr-decay ${v.from} --epochs ${v.to}` : ''),
    schema: (z) => z.object({ from: z.int().min(0), to: z.int().min(1) }).nullable(),
  },
  criticWarmup: {
    arg: '<steps>',
    help: `give the first <steps> generator steps ${WARMUP_CRITIC_STEPS} critic steps each (WGAN's warm-up)`,
    parse: int(0),
    kinds: ['wgan-gp', 'cgan'],
    reference: () => 0,
    show: (v) => `--critic-warmup ${v}`,
    schema: (z) => z.int().min(0),
  },
  ema: {
    arg: '<decay>',
    help: 'also keep an exponential moving average of the generator weights (e.g. 0.999); export uses it',
    parse: fraction,
    reference: () => null,
    best: () => 0.999,
    show: (v) => (v === null ? '' : `--ema ${v}`),
    schema: (z) => z.number().gt(0).lt(1).nullable(),
  },
  criticSteps: {
    arg: '<n>',
    help: 'critic updates per generator update',
    parse: int(1),
    kinds: ['wgan-gp', 'cgan'],
    reference: (kind) => (kind === 'gan' ? 1 : 5),
    show: (v) => `--critic-steps ${v}`,
    schema: (z) => z.int().min(1),
  },
  augment: {
    arg: '<how>',
    help:
      'augment every image the critic sees with random colour, translation and cutout, differentiably (DiffAugment): ' +
      'none|diff (default none: on the digits and Fashion-MNIST it raised class accuracy but worsened FID, bench/RESULTS.md)',
    parse: choice(['none', 'diff']),
    reference: () => 'none',
    // No `best`: on 300 and 1,000 Fashion-MNIST images it lifted class accuracy but made FID 1.6-1.8x worse (bench/RESULTS.md).
    show: (v) => (v === 'none' ? '' : `--augment ${v}`),
    schema: (z) => z.enum(['none', 'diff']),
  },
  steps: {
    arg: '<n>',
    help: 'train for n generator steps instead of --epochs (rounded up to whole epochs; the learning-rate decay fits it)',
    parse: int(1),
    reference: () => null,
    show: (v) => (v === null ? '' : `--steps ${v}`),
    schema: (z) => z.int().min(1).nullable(),
  },
  minutes: {
    arg: '<m>',
    help: 'train for about m minutes instead of --epochs (epochs from the measured speed, fixed once the learning-rate decay starts)',
    parse: positive,
    reference: () => null,
    show: (v) => (v === null ? '' : `--minutes ${v}`),
    schema: (z) => z.number().positive().nullable(),
  },
};

export const OPTION_KEYS = Object.keys(TRAINING_OPTIONS) as OptionKey[];
const KEYS = OPTION_KEYS;

/**
 * Where a new run's options start: `best`, the options the shipped models were trained with (each
 * measured in bench/RESULTS.md: the mean-image output bias keeps CGAN classes from coming out
 * inverted, the matching-aware critic lifts class accuracy, R1 keeps the GAN from collapsing, EMA
 * and a decay over the second half of the run lower FID; DiffAugment, measured on small data sets,
 * is not in it), or `reference`, the chapter's settings.
 */
export const RECIPES = ['best', 'reference'] as const;
export type Recipe = (typeof RECIPES)[number];

/** `gLr` -> `--g-lr`: commander maps the flag back to the same name. */
export const flagOf = (key: OptionKey): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** The option's --help text, with the generators it applies to. */
export function helpOf(key: OptionKey): string {
  const d = TRAINING_OPTIONS[key];
  return d.kinds ? `${d.kinds.join('/')}: ${d.help}` : d.help;
}

export function referenceOptions(kind: ModelKind): TrainingOptions {
  return Object.fromEntries(KEYS.map((k) => [k, TRAINING_OPTIONS[k].reference(kind)])) as unknown as TrainingOptions;
}

/** A recipe's options for a new run of `ctx.epochs` epochs. */
export function recipeOptions(recipe: Recipe, kind: ModelKind, ctx: RecipeContext): TrainingOptions {
  if (recipe === 'reference') return referenceOptions(kind);
  return Object.fromEntries(
    KEYS.map((k) => [k, (TRAINING_OPTIONS[k].best ?? TRAINING_OPTIONS[k].reference)(kind, ctx)]),
  ) as unknown as TrainingOptions;
}

/**
 * The options in force after a command line: `base` (a resumed run's stored options, or the
 * recipe's for a new run) with the given ones replacing theirs. A lever given for a generator it
 * does not apply to is an error; a start-only option given on resume is ignored.
 */
export function resolveOptions(kind: ModelKind, given: GivenOptions, ctx: RecipeContext, base: TrainingOptions | Recipe): TrainingOptions {
  const resuming = typeof base !== 'string';
  const out = { ...(resuming ? base : recipeOptions(base, kind, ctx)) } as Record<OptionKey, unknown>;
  for (const key of KEYS) {
    const value = given[key];
    if (value === undefined) continue;
    const d = TRAINING_OPTIONS[key];
    if (d.kinds && !d.kinds.includes(kind)) throw new Error(`${flagOf(key)} applies to ${d.kinds.join(' and ')} only, not ${kind}`);
    if (d.fixed && resuming && JSON.stringify(value) !== JSON.stringify(out[key])) {
      throw new Error(`${flagOf(key)} is fixed for a run: this one is ${(d.show as (v: unknown) => string)(out[key])}`);
    }
    if (d.startOnly && resuming) continue;
    out[key] = d.store ? d.store(value as never, ctx) : value;
  }
  return out as unknown as TrainingOptions;
}

/** The options that differ from the chapter's, as the flags that set them (model cards, resume history). */
export function optionFlags(kind: ModelKind, o: TrainingOptions): string[] {
  const ref = referenceOptions(kind);
  return KEYS.filter((k) => JSON.stringify(o[k]) !== JSON.stringify(ref[k]))
    .map((k) => (TRAINING_OPTIONS[k].show as (v: unknown) => string)(o[k]))
    .filter(Boolean);
}

/** Multiplier of the learning rates at (fractional) epoch t under the options' schedule. */
export function learningRateScale(o: TrainingOptions, t: number): number {
  if (!o.lrDecay) return 1;
  const { from, to } = o.lrDecay;
  return Math.min(1, Math.max(0, (to - t) / (to - from)));
}
