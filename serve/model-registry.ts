// The set of served models mirrors the *.onnx files of one folder: loaded at start, reloaded when a
// file is added or replaced, dropped when it is removed. A file that fails to load is recorded (with
// its error) instead of being served, and never affects the other models. Nothing here blocks the
// event loop on what the folder holds (serve/model-file.ts), and a model is checked against its own
// metadata before it serves (serve/model-check.ts).
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { openSession } from '../backend/ort-session.js';
import type { Logger } from 'pino';
import { GeneratorRunner } from '../common/generator-runner.js';
import { imageValues, isConditional, type ModelMetadata } from '../common/metadata.js';
import { Batcher } from './batcher.js';
import { SERVE_DEFAULTS } from './defaults.js';
import type { ServeMetrics } from './metrics.js';
import { checkRuns } from './model-check.js';
import { modelEntryExists, readGenerator } from './model-file.js';
import { generateSchemaFor, MODEL_NAME, modelNameSchema, type GenerateSchema } from './schemas.js';

export const isValidModelName = (name: string): boolean => MODEL_NAME.test(name) && !/^\.+$/.test(name);

export interface LoadedModel {
  name: string;
  file: string;
  bytes: Uint8Array; // served to the browser as-is, so it always matches the session
  size: number;
  metadata: ModelMetadata;
  loadedAt: Date;
  schema: GenerateSchema;
  batcher: Batcher;
  /** Builds the noise and labels of a request exactly as the browser demo does. */
  runner: GeneratorRunner<ort.Tensor>;
  session: ort.InferenceSession;
}

export interface FailedModel {
  name: string;
  file: string;
  error: string;
  failedAt: Date;
}

export interface RegistryOptions {
  dir: string;
  maxBatch: number;
  maxWaitMs: number;
  logger: Logger;
  metrics: ServeMetrics;
  /** Quiet period after the last change event before a file is (re)loaded. */
  debounceMs?: number;
}

export class ModelRegistry {
  readonly models = new Map<string, LoadedModel>();
  readonly failed = new Map<string, FailedModel>();
  private pending = new Set<string>();
  private timers = new Map<string, NodeJS.Timeout>();
  /** Serialises loads per name so a quick replace cannot finish before the previous load. */
  private chains = new Map<string, Promise<void>>();
  private watcher: FSWatcher | null = null;
  private closed = false;

  constructor(private readonly opts: RegistryOptions) {}

  /** The servable model of a URL name, or why not: 400 (invalid name), 404 (none), 503 (failed to load). */
  lookup(name: string): LoadedModel | { status: 400 | 404 | 503; message: string } {
    const parsed = modelNameSchema.safeParse(name);
    if (!parsed.success) return { status: 400, message: parsed.error.issues[0]!.message };
    const model = this.models.get(name);
    if (model) return model;
    const failed = this.failed.get(name);
    if (failed) return { status: 503, message: `model "${name}" failed to load: ${failed.error}` };
    return { status: 404, message: `no model "${name}" (loaded: ${[...this.models.keys()].sort().join(', ') || 'none'})` };
  }

  get pendingLoads(): number {
    return this.pending.size + this.timers.size;
  }

  /** Loads every model in the folder, then watches it. */
  async start(): Promise<void> {
    const { dir, logger } = this.opts;
    const stat = await fs.stat(dir).catch(() => null);
    if (!stat?.isDirectory()) throw new Error(`models folder ${dir} does not exist`);
    this.watcher = watch(dir, { persistent: false }, (_event, file) => {
      if (file && file.endsWith('.onnx')) this.scheduleReload(file.toString());
    });
    this.watcher.on('error', (e) => logger.error({ err: e }, 'models folder watcher failed'));
    const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.onnx'));
    await Promise.all(files.map((f) => this.enqueue(f)));
    logger.info({ dir, loaded: [...this.models.keys()], failed: [...this.failed.keys()] }, 'models folder scanned');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.chains.values());
    await Promise.all([...this.models.values()].map((m) => this.retire(m)));
    this.models.clear();
  }

  private scheduleReload(file: string): void {
    if (this.closed) return;
    // Writers emit several events per file (open, write chunks, rename): wait for a quiet period.
    clearTimeout(this.timers.get(file));
    this.timers.set(
      file,
      setTimeout(() => {
        this.timers.delete(file);
        void this.enqueue(file);
      }, this.opts.debounceMs ?? SERVE_DEFAULTS.reloadDebounceMs),
    );
  }

  private enqueue(file: string): Promise<void> {
    const prev = this.chains.get(file) ?? Promise.resolve();
    const next = prev.then(() => this.sync(file));
    this.chains.set(file, next);
    void next.finally(() => {
      if (this.chains.get(file) === next) this.chains.delete(file);
    });
    return next;
  }

  /** Brings one file's entry in line with the disk: load, replace, or remove. */
  private async sync(file: string): Promise<void> {
    if (this.closed) return;
    const { dir, logger, metrics } = this.opts;
    const name = file.slice(0, -'.onnx'.length);
    const full = path.join(dir, file);
    if (!(await modelEntryExists(full))) {
      const old = this.models.get(name);
      this.models.delete(name);
      this.failed.delete(name);
      metrics.modelsLoaded.set(this.models.size);
      if (old) {
        logger.info({ model: name }, 'model file removed: unloaded');
        await this.retire(old);
      }
      return;
    }
    this.pending.add(name);
    try {
      const model = await this.load(name, full);
      const old = this.models.get(name);
      this.models.set(name, model);
      this.failed.delete(name);
      logger.info({ model: name, kind: model.metadata.kind, bytes: model.size, replaced: Boolean(old) }, 'model loaded');
      for (const d of model.metadata.dropped ?? [])
        logger.warn({ model: name, key: d.key, reason: d.reason }, `model ${name}: ${d.key} dropped: ${d.reason}`);
      if (old) await this.retire(old);
    } catch (e) {
      // Report the file by name only: the server's directory layout is none of the clients' business.
      const error = (e as Error).message.replaceAll(full, file);
      // The folder is the truth: a corrupt replacement stops the old version from being served too
      // (the browser would otherwise download a different file than the server runs).
      const old = this.models.get(name);
      this.models.delete(name);
      this.failed.set(name, { name, file, error, failedAt: new Date() });
      metrics.loadErrors.inc({ model: isValidModelName(name) ? name : '(invalid name)' });
      logger.error({ model: name, file: full, error }, 'model failed to load');
      if (old) await this.retire(old);
    } finally {
      this.pending.delete(name);
      metrics.modelsLoaded.set(this.models.size);
    }
  }

  private async load(name: string, file: string): Promise<LoadedModel> {
    if (!isValidModelName(name)) throw new Error(`invalid model name "${name}": file names must match ${MODEL_NAME.source}`);
    const { bytes, meta } = await readGenerator(file);
    const session = await openSession(bytes, 'serve'); // one thread: why in common/ort-profiles.ts
    let runner: GeneratorRunner<ort.Tensor>;
    try {
      runner = new GeneratorRunner(session, ort.Tensor, meta);
      // Runs catch files that parse but cannot execute (unsupported ops, a class its embedding lacks).
      await checkRuns(runner, Math.min(this.opts.maxBatch, 64));
    } catch (e) {
      await session.release();
      throw new Error(`${file}: ${(e as Error).message}`);
    }
    const { metrics } = this.opts;
    const batcher = new Batcher(({ noise, labels }) => runner.run(noise, labels), {
      maxBatch: this.opts.maxBatch,
      maxWaitMs: this.opts.maxWaitMs,
      noiseDim: meta.noiseDim,
      conditional: isConditional(meta),
      valuesPerRow: imageValues(meta.imageShape),
      onBatch: (rows, requests, seconds) => {
        metrics.batchRows.observe({ model: name }, rows);
        metrics.batchRequests.observe({ model: name }, requests);
        metrics.inferenceSeconds.observe({ model: name }, seconds);
      },
      onRetry: (requests) => metrics.batchRetries.inc({ model: name }, requests),
      onFailure: () => metrics.inferenceFailures.inc({ model: name }),
    });
    return {
      name,
      file,
      bytes,
      size: bytes.length,
      metadata: meta,
      loadedAt: new Date(),
      schema: generateSchemaFor(meta),
      batcher,
      runner,
      session,
    };
  }

  /** Lets queued requests finish on the old session before releasing it. */
  private async retire(model: LoadedModel): Promise<void> {
    await model.batcher.drain();
    await model.session.release();
  }
}
