// Every layer kind, one line each (registry.ts derives the rest from this list).
export { dense } from './dense.js';
export { leakyRelu, relu, tanh, sigmoid } from './activations.js';
export { dropout } from './dropout.js';
export { batchNorm } from './batch-norm.js';
export { labelEmbedding } from './label-embedding.js';
export { labelProjection } from './label-projection.js';
export { reshape } from './reshape.js';
export { flatten } from './flatten.js';
export { conv2d } from './conv2d.js';
export { convTranspose2d } from './conv-transpose2d.js';
