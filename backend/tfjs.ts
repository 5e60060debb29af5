// @tensorflow/tfjs loaded with require(), not import. Why: Node lexes a CommonJS package that ESM
// imports for its named exports, and this one re-exports six bundles (~7 MB of source): 0.45 s of
// CPU per process, a quarter of a whole `onnxgan convert` (bench/RESULTS.md). Types come from
// `import type * as tf from '@tensorflow/tfjs'` (erased at build). tfjs-core is the same module
// instance either way (one backend registry).
import { createRequire } from 'node:module';
import type * as Tfjs from '@tensorflow/tfjs';

export const requireCjs = createRequire(import.meta.url);
export const tfjs: typeof Tfjs = requireCjs('@tensorflow/tfjs');
