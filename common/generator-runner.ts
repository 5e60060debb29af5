// The one way to run an exported generator: (seed, labels, count) -> feeds -> session.run -> checked
// images. Export's parity check, eval, the server and the browser demo all go through here, which is
// what makes "same seed, same image on the server and in the browser" hold.
// Browser-safe: it only knows the interface onnxruntime-node and onnxruntime-web share, and the
// caller passes in its runtime's session and Tensor class.
import { classIndex } from './class-label.js';
import { IO, imageValues, isConditional, type ImageShape, type ModelMetadata } from './metadata.js';
import { generatorNoise } from './rng.js';

/** The part of an onnxruntime tensor the runner reads. */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
  dispose(): void;
}

/** The part of an onnxruntime InferenceSession the runner uses (node and web both fit). */
export interface OrtSessionLike<T extends OrtTensorLike> {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, T>): Promise<Record<string, T>>;
}

/** onnxruntime's Tensor class, for the two input types a generator takes. */
export interface OrtTensorClass<T extends OrtTensorLike> {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): T;
  new (type: 'int64', data: BigInt64Array, dims: readonly number[]): T;
}

/** A model that does not fit the generator contract, or a run that broke it. */
export class GeneratorRunError extends Error {}

/** Graph inputs of a generator with this metadata: noise, plus label when conditional. */
export const expectedInputs = (meta: ModelMetadata): string[] => (isConditional(meta) ? [IO.noise, IO.label] : [IO.noise]);

/** Throws unless the session's inputs are exactly the metadata's and it has an image output. */
export function checkInterface(session: Pick<OrtSessionLike<OrtTensorLike>, 'inputNames' | 'outputNames'>, meta: ModelMetadata): void {
  const expected = expectedInputs(meta);
  if ([...session.inputNames].sort().join() !== [...expected].sort().join()) {
    const what = isConditional(meta) ? `a conditional ${meta.kind} generator` : `an unconditional ${meta.kind} generator`;
    throw new GeneratorRunError(`inputs [${session.inputNames.join(', ')}] do not match ${what} ([${expected.join(', ')}])`);
  }
  if (!session.outputNames.includes(IO.image))
    throw new GeneratorRunError(`no "${IO.image}" output (outputs: ${session.outputNames.join(', ')})`);
}

/** Throws unless `label` is a class index of this conditional model. */
export function checkLabel(meta: ModelMetadata & { classes: string[] }, label: number): void {
  classIndex(meta.classes, label);
}

/**
 * Labels for `count` images: `label` for all of them, or class i % K for image i when none is given.
 * Null for an unconditional model, which takes no labels (a given label is then ignored).
 */
export function generatorLabels(meta: ModelMetadata, count: number, label?: number | null): Int32Array | null {
  if (!isConditional(meta)) return null;
  if (label != null) {
    checkLabel(meta, label);
    return new Int32Array(count).fill(label);
  }
  return Int32Array.from({ length: count }, (_, i) => i % meta.classes.length);
}

/** An open generator session with its metadata; construction checks the session's interface. */
export class GeneratorRunner<T extends OrtTensorLike> {
  readonly conditional: boolean;

  constructor(
    readonly session: OrtSessionLike<T>,
    private readonly Tensor: OrtTensorClass<T>,
    readonly metadata: ModelMetadata,
  ) {
    checkInterface(session, metadata);
    this.conditional = isConditional(metadata);
  }

  /** The noise rows for a seed: U(-1, 1), row-major [count, noiseDim]; the same bits on every engine. */
  noise(seed: number, count: number): Float32Array {
    return generatorNoise(seed, count, this.metadata.noiseDim);
  }

  /** See generatorLabels. */
  labels(count: number, label?: number | null): Int32Array | null {
    return generatorLabels(this.metadata, count, label);
  }

  /** Inputs for one run: noise float32 [N, noiseDim] and, when conditional, label int64 [N]. */
  feeds(noise: Float32Array, labels: ArrayLike<number> | null): Record<string, T> {
    const { noiseDim } = this.metadata;
    const count = noise.length / noiseDim;
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`noise length ${noise.length} is not a positive multiple of noise_dim ${noiseDim}`);
    const feeds: Record<string, T> = { [IO.noise]: new this.Tensor('float32', noise, [count, noiseDim]) };
    if (isConditional(this.metadata)) {
      if (labels?.length !== count)
        throw new RangeError(`need ${count} labels for ${count} noise rows of a conditional model, got ${labels?.length ?? 'none'}`);
      const meta = this.metadata;
      const int64 = BigInt64Array.from(labels, (l) => {
        checkLabel(meta, l);
        return BigInt(l);
      });
      feeds[IO.label] = new this.Tensor('int64', int64, [count]);
    }
    return feeds;
  }

  /** Runs the generator on explicit noise rows and labels; returns checked images, [N, 784] row-major. */
  async run(noise: Float32Array, labels: ArrayLike<number> | null): Promise<Float32Array> {
    const feeds = this.feeds(noise, labels);
    const count = noise.length / this.metadata.noiseDim;
    let outputs: Record<string, T>;
    try {
      outputs = await this.session.run(feeds);
    } catch (e) {
      throw new GeneratorRunError(`running the generator failed (${(e as Error).message})`);
    }
    try {
      return checkedImages(outputs[IO.image], count, this.metadata.imageShape);
    } finally {
      for (const t of Object.values(outputs)) t.dispose();
    }
  }
}

/** A copy of the image output (onnxruntime-web may reuse its buffer) after checking it fits the contract. */
function checkedImages(out: OrtTensorLike | undefined, count: number, imageShape: ImageShape): Float32Array {
  if (!out) throw new GeneratorRunError(`the run returned no "${IO.image}" output`);
  const shape = [count, ...imageShape];
  if (out.type !== 'float32' || out.dims.join() !== shape.join()) {
    throw new GeneratorRunError(`output "${IO.image}" is ${out.type} [${out.dims.join(', ')}]; expected float32 [${shape.join(', ')}]`);
  }
  const images = new Float32Array(out.data as Float32Array);
  for (let i = 0; i < images.length; i++) {
    if (!Number.isFinite(images[i]!))
      throw new GeneratorRunError(
        `output "${IO.image}" holds a non-finite value (${images[i]}) in image ${Math.floor(i / imageValues(imageShape))}`,
      );
  }
  return images;
}
