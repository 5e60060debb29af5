// Dynamic batching: concurrent requests for one model are concatenated into one onnxruntime run and
// the output rows are split back in order. The generator is row-independent (inference-mode
// normalisation, no cross-row ops), and onnxruntime gives bit-identical rows whatever the batch size,
// so a request's images do not depend on what it was batched with. When a merged run fails, each of
// its requests runs once more on its own: one request whose rows break the model (or a model that
// fails for some inputs) must not fail the requests that happened to share its run.

export interface BatchInput {
  /** Row-major [rows, noiseDim]. */
  noise: Float32Array;
  /** One class index per row (conditional models), else null. */
  labels: Int32Array | null;
  rows: number;
}

/** Runs one merged batch; returns row-major [rows, valuesPerRow] images. */
export type RunBatch = (input: BatchInput) => Promise<Float32Array>;

export interface BatcherOptions {
  /** Upper bound on rows per run; a single request larger than this still runs alone. */
  maxBatch: number;
  /** How long the first request of an idle model waits for company (only while traffic is
   *  concurrent, see lastBatchRequests). 0 = never wait: batches then form only from requests
   *  that arrive while a run is in progress. */
  maxWaitMs: number;
  noiseDim: number;
  conditional: boolean;
  /** Output values per row: the values of one image (imageValues(meta.imageShape)). */
  valuesPerRow: number;
  /** Called after each successful run with its row and request counts and duration (metrics). */
  onBatch?: (rows: number, requests: number, seconds: number) => void;
  /** Called when a merged run of `requests` requests failed and each is retried alone (metrics). */
  onRetry?: (requests: number) => void;
  /** Called for each request that failed in a run of its own (metrics). */
  onFailure?: () => void;
}

interface Pending extends BatchInput {
  resolve: (images: Float32Array) => void;
  reject: (e: unknown) => void;
}

export class Batcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private timer: NodeJS.Timeout | null = null;
  /** One run in flight per model: on 2 cores a second concurrent run only competes for the same
   *  threads, while requests arriving meanwhile queue up and form the next, larger batch. */
  private running: Promise<void> | null = null;
  private closed = false;
  /** Requests in the previous run. After a lone request the next one runs at once: waiting only
   *  pays off under concurrent load (a lone client would lose maxWaitMs on every request).
   *  Starts at 2: assume company until a run shows otherwise. */
  private lastBatchRequests = 2;

  constructor(
    private readonly run: RunBatch,
    private readonly opts: BatcherOptions,
  ) {}

  submit(input: BatchInput): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new Error('model unloaded'));
    return new Promise((resolve, reject) => {
      this.queue.push({ ...input, resolve, reject });
      this.queuedRows += input.rows;
      this.schedule();
    });
  }

  /** Waits until everything queued or running has finished; later submits are refused. */
  async drain(): Promise<void> {
    this.closed = true;
    while (this.running || this.queue.length) {
      if (!this.running) this.flush();
      await this.running;
    }
  }

  private schedule(): void {
    if (this.running) return; // the current run's completion flushes the queue
    if (this.queuedRows >= this.opts.maxBatch || this.opts.maxWaitMs <= 0 || this.lastBatchRequests < 2) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.opts.maxWaitMs);
    }
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.running || this.queue.length === 0) return;
    // Take whole requests up to maxBatch rows (at least one, so oversized requests still run).
    let rows = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || rows + this.queue[n]!.rows <= this.opts.maxBatch)) rows += this.queue[n++]!.rows;
    const batch = this.queue.splice(0, n);
    this.lastBatchRequests = batch.length;
    this.queuedRows -= rows;
    this.running = this.execute(batch, rows).finally(() => {
      this.running = null;
      // Requests that arrived during the run have already waited: run them now.
      if (this.queue.length) this.flush();
    });
  }

  private async execute(batch: Pending[], rows: number): Promise<void> {
    if (batch.length === 1) {
      const p = batch[0]!;
      await this.runAlone(p).then(p.resolve, p.reject);
      return;
    }
    let images: Float32Array;
    try {
      images = await this.runRows(this.merge(batch, rows), batch.length);
    } catch {
      // Bounded: each request runs once more, alone, one after the other (one run in flight per
      // model, as always); only the ones that fail on their own get the error.
      this.opts.onRetry?.(batch.length);
      for (const p of batch) await this.runAlone(p).then(p.resolve, p.reject);
      return;
    }
    const width = this.opts.valuesPerRow;
    let row = 0;
    for (const p of batch) {
      // slice (a copy): the request must not keep the whole batch buffer alive.
      p.resolve(images.slice(row * width, (row + p.rows) * width));
      row += p.rows;
    }
  }

  private async runAlone(p: Pending): Promise<Float32Array> {
    try {
      return await this.runRows(p, 1);
    } catch (e) {
      this.opts.onFailure?.();
      throw e;
    }
  }

  /** One onnxruntime run, its output size checked. */
  private async runRows(input: BatchInput, requests: number): Promise<Float32Array> {
    const started = performance.now();
    const images = await this.run(input);
    if (images.length !== input.rows * this.opts.valuesPerRow)
      throw new Error(`model returned ${images.length} values for ${input.rows} rows`);
    this.opts.onBatch?.(input.rows, requests, (performance.now() - started) / 1000);
    return images;
  }

  /** The requests' rows concatenated in order. */
  private merge(batch: Pending[], rows: number): BatchInput {
    const { noiseDim, conditional } = this.opts;
    const noise = new Float32Array(rows * noiseDim);
    const labels = conditional ? new Int32Array(rows) : null;
    let row = 0;
    for (const p of batch) {
      noise.set(p.noise, row * noiseDim);
      if (labels && p.labels) labels.set(p.labels, row);
      row += p.rows;
    }
    return { noise, labels, rows };
  }
}
