// What both step engines share (trainer.ts's tfjs autodiff, mlp-step.ts's hand-written one): the
// metrics a step returns and what an engine reads of the trainer. The algorithms themselves (draws,
// critic schedule, losses) are algorithms.ts's.
import type { Rng } from '../common/rng.js';
import type { Sequential } from './layers.js';
import type { Architecture } from './models.js';
import type { TrainingOptions } from './options.js';
import type { Adam } from './adam.js';

/**
 * How a step computes its gradients: `hand`, the hand-written MLP step on onnxruntime's GEMM
 * (mlp-step.ts; the default wherever onnxruntime-node loads and every layer has a hand-written
 * kernel), or `tfjs`, tfjs's autodiff on the backend in use (the definition the hand path is tested
 * against; the native tensorflow backend; conv layers).
 */
export type StepEngine = 'hand' | 'tfjs';

export interface StepMetrics {
  /** Discriminator / critic loss (last critic step). */
  dLoss: number;
  gLoss: number;
  /** gan: discriminator accuracy on real+fake; generator "accuracy" (fakes judged real). */
  dAcc?: number;
  gAcc?: number;
  /** wgan-gp/cgan: critic's Wasserstein estimate E[C(real)] - E[C(fake)] and the penalty. */
  wasserstein?: number;
  gp?: number;
}

/** What an engine reads of the trainer. */
export interface StepHost {
  readonly arch: Architecture;
  readonly options: TrainingOptions;
  readonly rng: Rng;
  readonly generator: Sequential;
  readonly critic: Sequential;
  readonly gAdam: Adam;
  readonly dAdam: Adam;
  readonly conditional: boolean;
}
