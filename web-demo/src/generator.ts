// The one inference module: loads an exported onnxgan generator with onnxruntime-web and turns
// (seed, label, count) into images. Used by both the demo page and the <onnx-gan> element.
import type * as Ort from 'onnxruntime-web';
import { generatorNoise } from '../../common/rng.js';
import { IMAGE_PIXELS, IO, isConditional, metadataFromProps, type ModelMetadata } from '../../common/metadata.js';
import { readOnnxMetadataProps } from './onnx-metadata.js';
import { loadOrt } from './ort-runtime.js';

export interface Generated {
  /** Row-major [count, 28*28] floats in [-1, 1] (the model's raw output). */
  images: Float32Array;
  count: number;
  /** Label of each image (conditional models), else null. */
  labels: number[] | null;
  /** Wall time of session.run in milliseconds. */
  ms: number;
}

export interface GenerateOptions {
  seed: number;
  count: number;
  /** Class index for every image; omitted on a conditional model: image i gets class i % classes. */
  label?: number | null;
}

export class ModelLoadError extends Error {}

export class Generator {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly url: string,
    readonly metadata: ModelMetadata,
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    readonly bytes: number,
  ) {}

  /** Downloads, checks and opens the model at `url`; errors say which step failed and why. */
  static async load(url: string, ortBase?: string): Promise<Generator> {
    const ort = await loadOrt(ortBase);
    let response: Response;
    try {
      response = await fetch(url);
    } catch (e) {
      throw new ModelLoadError(`could not download model ${url}: ${(e as Error).message}`);
    }
    if (!response.ok) throw new ModelLoadError(`could not download model ${url}: HTTP ${response.status} ${response.statusText}`.trim());
    const bytes = new Uint8Array(await response.arrayBuffer());
    let metadata: ModelMetadata;
    try {
      metadata = metadataFromProps(readOnnxMetadataProps(bytes));
    } catch (e) {
      throw new ModelLoadError(`${url} is not an onnxgan generator: ${(e as Error).message}`);
    }
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    } catch (e) {
      throw new ModelLoadError(`onnxruntime could not open ${url}: ${(e as Error).message}`);
    }
    if (!session.outputNames.includes(IO.image)) throw new ModelLoadError(`${url} has no "${IO.image}" output`);
    return new Generator(url, metadata, ort, session, bytes.length);
  }

  get conditional(): boolean {
    return isConditional(this.metadata);
  }

  get classes(): string[] {
    return this.metadata.classes ?? [];
  }

  /** The noise rows the server uses for the same seed: U(-1, 1), [count, noise_dim]. */
  noise(seed: number, count: number): Float32Array {
    return generatorNoise(seed, count, this.metadata.noiseDim);
  }

  /** Labels for `count` images: all `label`, or cycling through the classes when none is given. */
  labelsFor(count: number, label?: number | null): number[] | null {
    if (!this.conditional) return null;
    if (label != null && !(Number.isInteger(label) && label >= 0 && label < this.classes.length)) {
      throw new RangeError(`label must be an integer in [0, ${this.classes.length - 1}], got ${label}`);
    }
    return Array.from({ length: count }, (_, i) => label ?? i % this.classes.length);
  }

  generate({ seed, count, label }: GenerateOptions): Promise<Generated> {
    return this.run(this.noise(seed, count), this.labelsFor(count, label));
  }

  /** Runs the model on explicit noise rows (e.g. a latent walk) and labels; runs are queued. */
  run(noise: Float32Array, labels: number[] | null): Promise<Generated> {
    const count = noise.length / this.metadata.noiseDim;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`noise length ${noise.length} is not a multiple of ${this.metadata.noiseDim}`);
    if (this.conditional && labels?.length !== count) throw new RangeError(`need ${count} labels for a conditional model`);
    const task = this.queue.then(async (): Promise<Generated> => {
      const feeds: Record<string, Ort.Tensor> = { [IO.noise]: new this.ort.Tensor('float32', noise, [count, this.metadata.noiseDim]) };
      if (this.conditional) feeds[IO.label] = new this.ort.Tensor('int64', BigInt64Array.from(labels!, (l) => BigInt(l)), [count]);
      const start = performance.now();
      const out = await this.session.run(feeds);
      const ms = performance.now() - start;
      const image = out[IO.image]!;
      const images = new Float32Array(image.data as Float32Array); // copy: ORT may reuse its buffer
      image.dispose();
      if (images.length !== count * IMAGE_PIXELS) throw new Error(`model returned ${images.length} values for ${count} images`);
      return { images, count, labels: this.conditional ? labels : null, ms };
    });
    this.queue = task.catch(() => undefined);
    return task;
  }
}

const cache = new Map<string, Promise<Generator>>();

/** One Generator per model URL and page (several elements on a page share a session). */
export function loadGenerator(url: string, ortBase?: string): Promise<Generator> {
  const key = new URL(url, document.baseURI).href;
  let g = cache.get(key);
  if (!g) {
    g = Generator.load(key, ortBase);
    g.catch(() => cache.delete(key)); // retry on the next request
    cache.set(key, g);
  }
  return g;
}
