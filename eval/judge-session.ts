// A judge network run by onnxruntime: images in, penultimate features and class probabilities out.
// Scoring 11,000 images (samples, ceiling, references) this way takes seconds where tfjs-wasm's
// im2col convolutions take tens of seconds.
import * as ort from 'onnxruntime-node';
import { openSession } from '../backend/ort-session.js';
import { imageValues, type ImageShape } from '../common/metadata.js';

export interface JudgeOutputs {
  /** Row-major [count, dim]. */
  features: Float32Array;
  /** Row-major [count, K]. */
  probs: Float32Array;
  count: number;
  dim: number;
}

/** Called after each batch with the images scored so far. */
export type Progress = (done: number) => void;

export class JudgeSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly imageShape: ImageShape,
    readonly dim: number,
    readonly classes: number,
  ) {}

  /** A session for an ONNX judge graph with input `image` [N, C, H, W] and outputs `features`, `probs`. */
  static async create(model: Uint8Array, imageShape: ImageShape, dim: number, classes: number): Promise<JudgeSession> {
    const session = await openSession(model, 'judge');
    return new JudgeSession(session, imageShape, dim, classes);
  }

  async predict(images: Float32Array, count: number, onProgress?: Progress, batch = 500): Promise<JudgeOutputs> {
    const per = imageValues(this.imageShape);
    if (images.length !== count * per)
      throw new Error(`expected ${count} images of ${this.imageShape.join('x')} (${count * per} values), got ${images.length} values`);
    const features = new Float32Array(count * this.dim);
    const probs = new Float32Array(count * this.classes);
    for (let start = 0; start < count; start += batch) {
      const b = Math.min(batch, count - start);
      const image = new ort.Tensor('float32', images.subarray(start * per, (start + b) * per), [b, ...this.imageShape]);
      const out = await this.session.run({ image });
      features.set(out.features!.data as Float32Array, start * this.dim);
      probs.set(out.probs!.data as Float32Array, start * this.classes);
      onProgress?.(start + b);
    }
    return { features, probs, count, dim: this.dim };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
