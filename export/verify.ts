// The check every file onnxgan writes passes (export, export --format tfjs, convert): a module of
// its own so that convert loads none of the trainer's modules.
import { packageInfo } from '../common/package-info.js';

export type Precision = 'fp32' | 'fp16';
/** Largest accepted |tfjs - onnxruntime| over the verification samples. */
export const TOLERANCE: Record<Precision, number> = { fp32: 1e-4, fp16: 2e-2 };
export const VERIFY_SAMPLES = 256;

export const PRODUCER = { name: 'onnxgan', version: packageInfo().version };

export class ParityError extends Error {}
