// The reference chapter's three generators and their adversaries (../shared/reference).
import type { LayerConfig, NetworkConfig } from './layers.js';
import { DIGIT_SHAPE, imageValues, NOISE_DIM, type ImageShape, type ModelKind } from '../common/metadata.js';

/** Adam's betas: part of the architecture (the learning rates are training options). */
export interface AdamBetas {
  beta1: number;
  beta2: number;
}

/**
 * What is fixed for a run (a resume takes it from the checkpoint): the networks and the algorithm.
 * What may change on --resume is in TrainingOptions (options.ts), as nanoGPT keeps model_args apart
 * from its config.
 */
export interface Architecture {
  kind: ModelKind;
  noiseDim: number;
  numClasses: number;
  generator: NetworkConfig;
  critic: NetworkConfig;
  generatorAdam: AdamBetas;
  criticAdam: AdamBetas;
  /** Gradient-penalty coefficient (WGAN-GP); 0 for the cross-entropy GAN. */
  gpLambda: number;
  /** [C, H, W] of the images: the generator outputs and the critic takes C*H*W values. */
  imageShape: ImageShape;
}

const dense = (inputDim: number, units: number): LayerConfig => ({ type: 'Dense', inputDim, units });
const leaky: LayerConfig = { type: 'LeakyReLU', alpha: 0.3 };
const dropout: LayerConfig = { type: 'Dropout', rate: 0.5 };
// torch.nn.BatchNorm1d defaults.
const bn = (units: number): LayerConfig => ({ type: 'BatchNorm', units, momentum: 0.1, epsilon: 1e-5 });

/** Linear -> LeakyReLU(0.3) -> BatchNorm blocks, then Linear -> Tanh (reference generators). */
function generator(inputDim: number, hidden: number[], pixels: number, embed?: LayerConfig): NetworkConfig {
  const layers: LayerConfig[] = embed ? [embed] : [];
  let d = inputDim + (embed?.type === 'LabelEmbedding' ? embed.dim : 0);
  for (const h of hidden) {
    layers.push(dense(d, h), leaky, bn(h));
    d = h;
  }
  layers.push(dense(d, pixels), { type: 'Tanh' });
  return { inputDim, layers };
}

/** Linear -> LeakyReLU(0.3) -> Dropout(0.5) blocks, then Linear (reference critics). */
function critic(outputs: number, pixels: number, embed?: LayerConfig): NetworkConfig {
  const layers: LayerConfig[] = embed ? [embed] : [];
  let d = pixels + (embed?.type === 'LabelEmbedding' ? embed.dim : 0);
  for (const h of [128, 128, 128]) {
    layers.push(dense(d, h), leaky, dropout);
    d = h;
  }
  layers.push(dense(d, outputs));
  return { inputDim: pixels, layers };
}

const wganAdam: AdamBetas = { beta1: 0, beta2: 0.9 };

/** The reference's networks for images of `imageShape` (the hidden sizes do not depend on it). */
export function architecture(kind: ModelKind, numClasses = 10, imageShape: ImageShape = DIGIT_SHAPE): Architecture {
  const pixels = imageValues(imageShape);
  switch (kind) {
    case 'gan':
      return {
        kind,
        noiseDim: NOISE_DIM,
        numClasses,
        generator: generator(NOISE_DIM, [256, 256], pixels),
        critic: critic(2, pixels), // two logits, cross-entropy against real=1 / fake=0
        generatorAdam: { beta1: 0.9, beta2: 0.999 },
        criticAdam: { beta1: 0.9, beta2: 0.999 },
        gpLambda: 0,
        imageShape,
      };
    case 'wgan-gp':
      return {
        kind,
        noiseDim: NOISE_DIM,
        numClasses,
        generator: generator(NOISE_DIM, [128, 128, 128], pixels),
        critic: critic(1, pixels),
        generatorAdam: wganAdam,
        criticAdam: wganAdam,
        gpLambda: 10,
        imageShape,
      };
    case 'cgan': {
      const embed: LayerConfig = { type: 'LabelEmbedding', numClasses, dim: 64 };
      return {
        ...architecture('wgan-gp', numClasses, imageShape),
        kind,
        generator: generator(NOISE_DIM, [128, 128, 128], pixels, embed),
        critic: critic(1, pixels, embed),
      };
    }
  }
}
