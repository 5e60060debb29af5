// The reference chapter's three generators and their adversaries (../shared/reference).
import type { LayerConfig, NetworkConfig } from './layers.js';
import { IMAGE_PIXELS, NOISE_DIM, type ModelKind } from '../common/metadata.js';

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
}

export interface ModelSpec {
  kind: ModelKind;
  noiseDim: number;
  numClasses: number;
  generator: NetworkConfig;
  critic: NetworkConfig;
  generatorOptimizer: AdamConfig;
  criticOptimizer: AdamConfig;
  /** Critic (discriminator) updates per generator update. */
  criticSteps: number;
  /** Gradient-penalty coefficient (WGAN-GP); 0 for the cross-entropy GAN. */
  gpLambda: number;
  /**
   * Critic warm-up (opt-in, WGAN-GP/CGAN): the first `generatorSteps` generator updates get
   * `criticSteps` critic updates each, as in the original WGAN code (100 for the first 25), so the
   * generator does not follow a still-random critic; seen here: without it one class of the CGAN
   * can be pushed into tanh saturation (an inverted image) early and never recover.
   */
  criticWarmup?: { generatorSteps: number; criticSteps: number };
  /** gan (opt-in): the discriminator's real targets become 1 - s/2 (one-sided label smoothing). */
  labelSmoothing?: number;
  /** How the generator's output bias started (record only; applied once at the start of a run). */
  outputBiasInit?: 'reference' | 'mean';
  /** gan (opt-in): R1 gradient penalty weight on real images (Mescheder et al. 2018). */
  r1Gamma?: number;
  /**
   * Opt-in: both learning rates fall linearly from their value at epoch `fromEpoch` to zero at
   * `toEpoch` (the WGAN-GP paper's schedule, there over the whole run).
   */
  lrDecay?: { fromEpoch: number; toEpoch: number };
  /**
   * cgan (opt-in): weight of a matching-aware critic term (Reed et al. 2016), m * E softplus(C(x, y') -
   * C(x, y)) over real x with a wrong label y'. A logistic ranking, not a Wasserstein term: the
   * gradient penalty constrains C in x only, so an unbounded term in y could grow without limit.
   */
  mismatch?: number;
  /** Decay of the exponential moving average of the generator's weights (--ema), if one is kept. */
  ema?: number;
  /** Option history once a --resume changed them: the flags in force from each generator step on (first at 0). */
  optionChanges?: { step: number; flags: string[] }[];
}

/** The spec's opt-in levers as the command-line flags that set them (model cards, resume history). */
export function optionFlags(spec: ModelSpec): string[] {
  const ref = modelSpec(spec.kind, spec.numClasses);
  const flags: string[] = [];
  if (spec.generatorOptimizer.lr !== ref.generatorOptimizer.lr) flags.push(`--g-lr ${spec.generatorOptimizer.lr}`);
  if (spec.criticOptimizer.lr !== ref.criticOptimizer.lr) flags.push(`--d-lr ${spec.criticOptimizer.lr}`);
  if (spec.outputBiasInit === 'mean') flags.push('--output-bias-init mean');
  if (spec.r1Gamma) flags.push(`--r1 ${spec.r1Gamma}`);
  if (spec.labelSmoothing) flags.push(`--label-smoothing ${spec.labelSmoothing}`);
  if (spec.mismatch) flags.push(`--mismatch ${spec.mismatch}`);
  if (spec.lrDecay) flags.push(`--lr-decay ${spec.lrDecay.fromEpoch} --epochs ${spec.lrDecay.toEpoch}`);
  if (spec.criticWarmup?.generatorSteps) flags.push(`--critic-warmup ${spec.criticWarmup.generatorSteps}`);
  if (spec.ema) flags.push(`--ema ${spec.ema}`);
  return flags;
}

/** The training options that apply to some generators only (checked by train, named in --help). */
export const MODEL_ONLY_OPTIONS = {
  '--r1': ['gan'],
  '--label-smoothing': ['gan'],
  '--mismatch': ['cgan'],
  '--critic-warmup': ['wgan-gp', 'cgan'],
} as const satisfies Record<string, readonly ModelKind[]>;

/** Multiplier of the learning rates at (fractional) epoch t under the spec's schedule. */
export function learningRateScale(spec: ModelSpec, t: number): number {
  if (!spec.lrDecay) return 1;
  const { fromEpoch, toEpoch } = spec.lrDecay;
  return Math.min(1, Math.max(0, (toEpoch - t) / (toEpoch - fromEpoch)));
}

const dense = (inputDim: number, units: number): LayerConfig => ({ type: 'Dense', inputDim, units });
const leaky: LayerConfig = { type: 'LeakyReLU', alpha: 0.3 };
const dropout: LayerConfig = { type: 'Dropout', rate: 0.5 };
// torch.nn.BatchNorm1d defaults.
const bn = (units: number): LayerConfig => ({ type: 'BatchNorm', units, momentum: 0.1, epsilon: 1e-5 });

/** Linear -> LeakyReLU(0.3) -> BatchNorm blocks, then Linear -> Tanh (reference generators). */
function generator(inputDim: number, hidden: number[], embed?: LayerConfig): NetworkConfig {
  const layers: LayerConfig[] = embed ? [embed] : [];
  let d = inputDim + (embed?.type === 'LabelEmbedding' ? embed.dim : 0);
  for (const h of hidden) {
    layers.push(dense(d, h), leaky, bn(h));
    d = h;
  }
  layers.push(dense(d, IMAGE_PIXELS), { type: 'Tanh' });
  return { inputDim, layers };
}

/** Linear -> LeakyReLU(0.3) -> Dropout(0.5) blocks, then Linear (reference critics). */
function critic(outputs: number, embed?: LayerConfig): NetworkConfig {
  const layers: LayerConfig[] = embed ? [embed] : [];
  let d = IMAGE_PIXELS + (embed?.type === 'LabelEmbedding' ? embed.dim : 0);
  for (const h of [128, 128, 128]) {
    layers.push(dense(d, h), leaky, dropout);
    d = h;
  }
  layers.push(dense(d, outputs));
  return { inputDim: IMAGE_PIXELS, layers };
}

const wganAdam: AdamConfig = { lr: 1e-4, beta1: 0, beta2: 0.9 };

export function modelSpec(kind: ModelKind, numClasses = 10): ModelSpec {
  switch (kind) {
    case 'gan':
      return {
        kind,
        noiseDim: NOISE_DIM,
        numClasses,
        generator: generator(NOISE_DIM, [256, 256]),
        critic: critic(2), // two logits, cross-entropy against real=1 / fake=0
        generatorOptimizer: { lr: 1e-4, beta1: 0.9, beta2: 0.999 },
        criticOptimizer: { lr: 4e-5, beta1: 0.9, beta2: 0.999 },
        criticSteps: 1,
        gpLambda: 0,
      };
    case 'wgan-gp':
      return {
        kind,
        noiseDim: NOISE_DIM,
        numClasses,
        generator: generator(NOISE_DIM, [128, 128, 128]),
        critic: critic(1),
        generatorOptimizer: wganAdam,
        criticOptimizer: wganAdam,
        criticSteps: 5,
        gpLambda: 10,
      };
    case 'cgan': {
      const embed: LayerConfig = { type: 'LabelEmbedding', numClasses, dim: 64 };
      return {
        ...modelSpec('wgan-gp', numClasses),
        kind,
        generator: generator(NOISE_DIM, [128, 128, 128], embed),
        critic: critic(1, embed),
      };
    }
  }
}
