// Loads an exported onnxgan generator with onnxruntime-web and turns (seed, label, count) into
// images, queueing runs. Used by both the demo page and the <onnx-gan> element; the inputs and output
// checks are common/generator-runner.ts, the same code the server runs.
import type * as Ort from 'onnxruntime-web';
import { GeneratorRunner } from '../../common/generator-runner.js';
import { imageValues, isConditional, metadataFromProps, type ImageShape, type ModelMetadata } from '../../common/metadata.js';
import { readOnnxInterface } from '../../common/onnx-interface.js';
import { download } from './download.js';
import { loadRuntime, openSession } from './ort-runtime.js';
import { measured } from './timing.js';

export interface Generated {
  /** Row-major [count, C*H*W] floats in [-1, 1] (the model's raw output, each image planar C x H x W). */
  images: Float32Array;
  count: number;
  /** Label of each image (conditional models), else null. */
  labels: number[] | null;
  /** Wall time of the run (session.run and the output check) in milliseconds. */
  ms: number;
}

export interface GenerateOptions {
  seed: number;
  count: number;
  /** Class index for every image; omitted on a conditional model: image i gets class i % classes. */
  label?: number | null;
}

export interface LoadOptions {
  /** Folder of onnxruntime-web's files (see setRuntimeLocation in ort-runtime.ts); default: next to the bundle. */
  runtime?: string | null;
  /** Bytes received so far (model and runtime), for a progress display. */
  onProgress?: (bytes: number) => void;
}

export class ModelLoadError extends Error {}

export class Generator {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly url: string,
    private readonly runner: GeneratorRunner<Ort.Tensor>,
    readonly bytes: number,
  ) {}

  get metadata(): ModelMetadata {
    return this.runner.metadata;
  }

  /**
   * Downloads, checks and opens the model at `url`, with onnxruntime-web loading meanwhile; errors say
   * which step failed and why, and come within seconds (see load-failures.ts), never not at all.
   */
  static async load(url: string, options: LoadOptions = {}): Promise<Generator> {
    let received = 0;
    const onBytes = options.onProgress && ((n: number): void => options.onProgress!((received += n)));
    const runtime = loadRuntime(options.runtime, onBytes);
    runtime.catch(() => undefined); // awaited below, after the model's own checks
    let bytes: Uint8Array;
    try {
      bytes = await measured('model', download(url, onBytes));
    } catch (e) {
      throw new ModelLoadError(`could not download model ${url}: ${(e as Error).message}`);
    }
    let metadata: ModelMetadata;
    try {
      metadata = metadataFromProps(readOnnxInterface(bytes).props);
    } catch (e) {
      throw new ModelLoadError(`${url} is not an onnxgan generator: ${(e as Error).message}`);
    }
    const rt = await runtime;
    let session: Ort.InferenceSession;
    try {
      session = await openSession(rt, bytes);
    } catch (e) {
      throw new ModelLoadError(`onnxruntime could not open ${url}: ${(e as Error).message}`);
    }
    let runner: GeneratorRunner<Ort.Tensor>;
    try {
      runner = new GeneratorRunner(session, rt.ort.Tensor, metadata);
    } catch (e) {
      void session.release();
      throw new ModelLoadError(`${url} does not fit its metadata: ${(e as Error).message}`);
    }
    return new Generator(url, runner, bytes.length);
  }

  get conditional(): boolean {
    return isConditional(this.metadata);
  }

  get classes(): string[] {
    return this.metadata.classes ?? [];
  }

  /** [C, H, W] of one image. */
  get shape(): ImageShape {
    return this.metadata.imageShape;
  }

  /** The noise rows the server uses for the same seed: U(-1, 1), [count, noise_dim]. */
  noise(seed: number, count: number): Float32Array {
    return this.runner.noise(seed, count);
  }

  /** Labels for `count` images: all `label`, or cycling through the classes when none is given. */
  labelsFor(count: number, label?: number | null): Int32Array | null {
    return this.runner.labels(count, label);
  }

  generate({ seed, count, label }: GenerateOptions): Promise<Generated> {
    return this.run(this.noise(seed, count), this.labelsFor(count, label));
  }

  /** Runs the model on explicit noise rows (e.g. a latent walk) and labels; runs are queued. */
  run(noise: Float32Array, labels: ArrayLike<number> | null): Promise<Generated> {
    const task = this.queue.then(async (): Promise<Generated> => {
      const start = performance.now();
      const images = await measured('run', this.runner.run(noise, labels));
      const ms = performance.now() - start;
      const count = images.length / imageValues(this.shape);
      return { images, count, labels: this.conditional && labels ? Array.from(labels) : null, ms };
    });
    this.queue = task.catch(() => undefined);
    return task;
  }
}

const cache = new Map<string, Promise<Generator>>();

/** One Generator per model URL and page (several elements on a page share a session). */
export function loadGenerator(url: string, options: LoadOptions = {}): Promise<Generator> {
  const key = new URL(url, document.baseURI).href;
  let g = cache.get(key);
  if (!g) {
    g = Generator.load(key, options);
    g.catch(() => cache.delete(key)); // retry on the next request
    cache.set(key, g);
  }
  return g;
}
