// The networks of each generator kind: the reference chapter's MLPs (`--arch mlp`, ../shared/reference)
// and DCGAN-family convolutional ones (`--arch dcgan`) for any image size.
import type { LayerConfig, NetworkConfig } from './layers.js';
import { DIGIT_SHAPE, imageValues, NOISE_DIM, type ImageShape, type ModelKind } from '../common/metadata.js';
import type { Arch } from './options.js';

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

/** The networks of `arch` for images of `imageShape`. */
export function architecture(kind: ModelKind, numClasses = 10, imageShape: ImageShape = DIGIT_SHAPE, arch: Arch = 'mlp'): Architecture {
  return arch === 'dcgan' ? dcganArchitecture(kind, numClasses, imageShape) : mlpArchitecture(kind, numClasses, imageShape);
}

/** The reference's networks for images of `imageShape` (the hidden sizes do not depend on it). */
function mlpArchitecture(kind: ModelKind, numClasses: number, imageShape: ImageShape): Architecture {
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
        ...mlpArchitecture('wgan-gp', numClasses, imageShape),
        kind,
        generator: generator(NOISE_DIM, [128, 128, 128], pixels, embed),
        critic: critic(1, pixels, embed),
      };
    }
  }
}

/** DCGAN's BatchNorm (torch's defaults). */
const bn2d = (channels: number): LayerConfig => ({ type: 'BatchNorm', units: channels, momentum: 0.1, epsilon: 1e-5 });
/** The cgan generator's label embedding in dcgan: 32 wide keeps the 28x28 generator under 2 MB fp32. */
const DCGAN_EMBED = 32;
/** Channels at the generator's base resolution, halved by each upsampling (to at least 16). */
const DCGAN_BASE_CHANNELS = 64;

/** The critic's first convolution's channels, doubled by each downsampling (to at most 256). */
const DCGAN_CRITIC_CHANNELS = 32;

/** Upsampling stages: two for up to 32 px (28 -> 7x7 base), one more per doubling (64 -> 8x8). */
const stagesFor = (size: number): number => Math.max(2, Math.ceil(Math.log2(size / 8)));

/** Each stage's size, smallest first: size_k = ceil(size_k+1 / 2), so any size works (28: 7, 14, 28; 30: 8, 15, 30). */
function stageSizes(size: number, stages: number): number[] {
  const sizes = [size];
  for (let k = 0; k < stages; k++) sizes.unshift(Math.ceil(sizes[0]! / 2));
  return sizes;
}

/**
 * noise (+ label embedding) -> Dense -> Reshape [ch, H/2^s, W/2^s] -> BN, ReLU -> s x (ConvTranspose
 * 4x4 stride 2 -> BN -> ReLU) -> Conv 3x3 -> Tanh: DCGAN's generator (Radford et al. 2016). A stage
 * whose target is odd crops one more row or column (ConvTranspose's bottom/right pad).
 */
function dcganGenerator(noiseDim: number, [c, h, w]: ImageShape, numClasses: number, conditional: boolean): NetworkConfig {
  const stages = stagesFor(Math.max(h, w));
  const [hs, ws] = [stageSizes(h, stages), stageSizes(w, stages)];
  const ch = (k: number): number => Math.max(16, DCGAN_BASE_CHANNELS >> k);
  const layers: LayerConfig[] = conditional ? [{ type: 'LabelEmbedding', numClasses, dim: DCGAN_EMBED }] : [];
  const d = noiseDim + (conditional ? DCGAN_EMBED : 0);
  layers.push(
    { type: 'Dense', inputDim: d, units: ch(0) * hs[0]! * ws[0]! },
    { type: 'Reshape', shape: [ch(0), hs[0]!, ws[0]!] },
    bn2d(ch(0)),
    { type: 'ReLU' },
  );
  for (let k = 1; k <= stages; k++) {
    const pads: [number, number, number, number] = [1, 1, 1 + 2 * hs[k - 1]! - hs[k]!, 1 + 2 * ws[k - 1]! - ws[k]!];
    layers.push({ type: 'ConvTranspose2D', inChannels: ch(k - 1), outChannels: ch(k), kernel: 4, stride: 2, pads }, bn2d(ch(k)), {
      type: 'ReLU',
    });
  }
  layers.push(
    { type: 'Conv2D', inChannels: ch(stages), outChannels: c, kernel: 3, stride: 1, pads: [1, 1, 1, 1] },
    { type: 'Tanh' },
    { type: 'Flatten' },
  );
  return { inputDim: noiseDim, layers };
}

/**
 * Reshape -> s x (Conv 4x4 stride 2 -> LeakyReLU(0.2)) -> Flatten -> Dense: DCGAN's discriminator
 * without its BatchNorm (the gradient penalty is per sample; batch statistics would couple them, as
 * Gulrajani et al. 2017 note). Conditional: a projection output (layers/label-projection.ts says why).
 */
function dcganCritic([c, h, w]: ImageShape, outputs: number, numClasses: number, conditional: boolean): NetworkConfig {
  const stages = stagesFor(Math.max(h, w));
  const layers: LayerConfig[] = [{ type: 'Reshape', shape: [c, h, w] }];
  let [ci, hi, wi] = [c, h, w];
  for (let k = 0; k < stages; k++) {
    // 32, 64, ... (not DCGAN's 64, 128): the critic runs ~8 passes a WGAN step, so its width sets the
    // step time; 64 -> 32 halved the 28x28 cgan step (2.7 -> 1.2 s at batch 64, tfjs wasm, 2026-12-07).
    const co = Math.min(256, DCGAN_CRITIC_CHANNELS << k);
    layers.push(
      { type: 'Conv2D', inChannels: ci, outChannels: co, kernel: 4, stride: 2, pads: [1, 1, 1, 1] },
      { type: 'LeakyReLU', alpha: 0.2 },
    );
    [ci, hi, wi] = [co, Math.floor(hi / 2), Math.floor(wi / 2)];
  }
  const features = ci * hi * wi;
  layers.push(
    { type: 'Flatten' },
    conditional ? { type: 'LabelProjection', inputDim: features, numClasses } : { type: 'Dense', inputDim: features, units: outputs },
  );
  return { inputDim: c * h * w, layers };
}

/**
 * `--arch dcgan`: each kind's algorithm as the chapter's (losses, penalty, betas of WGAN-GP), DCGAN's networks; the GAN
 * takes DCGAN's beta1 0.5.
 */
function dcganArchitecture(kind: ModelKind, numClasses: number, imageShape: ImageShape): Architecture {
  const conditional = kind === 'cgan';
  const adam: AdamBetas = kind === 'gan' ? { beta1: 0.5, beta2: 0.999 } : wganAdam;
  return {
    kind,
    noiseDim: NOISE_DIM,
    numClasses,
    generator: dcganGenerator(NOISE_DIM, imageShape, numClasses, conditional),
    critic: dcganCritic(imageShape, kind === 'gan' ? 2 : 1, numClasses, conditional),
    generatorAdam: adam,
    criticAdam: adam,
    gpLambda: kind === 'gan' ? 0 : 10,
    imageShape,
  };
}
