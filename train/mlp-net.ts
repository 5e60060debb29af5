// Forward, backward and the input-gradient penalty's double backward of a Sequential MLP, by hand,
// on Float32Arrays with the matrix products on onnxruntime's GEMM. Used by train/mlp-step.ts.
// Why by hand: tfjs runs a cgan step as ~3,000 kernels at ~20 us of bookkeeping each, and its
// gradient of a gradient computes products nobody reads (the input gradient of the first layer's
// embedding columns, the penalty's zero columns); here a step is ~150 native products and array loops.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../common/rng.js';
import type { Gemm } from '../backend/ort-matmul.js';
import type { Sequential } from './layers.js';
import { kindOf } from './layers/registry.js';
import { Dense } from './layers/dense.js';
import { LeakyReLU, ReLU, Sigmoid, Tanh } from './layers/activations.js';
import { Dropout, dropoutMask } from './layers/dropout.js';
import { BatchNorm } from './layers/batch-norm.js';
import { LabelEmbedding } from './layers/label-embedding.js';

/**
 * Scratch memory for one phase of a step (a critic update, a generator update), handed out as views
 * of one buffer and reused after `reset()`: fresh large typed arrays cost page faults and GC, which
 * measured more than the loops that fill them.
 */
export class Arena {
  private buf = new Float32Array(1 << 22);
  private used = 0;
  /** `n` floats of undefined content. */
  take(n: number): Float32Array {
    if (this.used + n > this.buf.length) {
      // Views handed out keep the old buffer alive until the phase ends.
      this.buf = new Float32Array(Math.max(2 * this.buf.length, 2 * n));
      this.used = 0;
    }
    const v = this.buf.subarray(this.used, this.used + n);
    this.used += n;
    return v;
  }
  zeros(n: number): Float32Array {
    return this.take(n).fill(0);
  }
  /** Every view handed out since the last reset may now be overwritten. */
  reset(): void {
    this.used = 0;
  }
}

/**
 * A network's gradients, one per trainable variable (indexed like `net.trainable`). A kernel's first
 * product is written straight into it; only later contributions go through a scratch array and an
 * add, and only what is accumulated element by element (biases, BatchNorm, tables) starts zeroed.
 */
export class Grads {
  private readonly values: Float32Array[];
  private readonly fresh: boolean[];
  constructor(
    vars: tf.Variable[],
    private readonly arena: Arena,
  ) {
    this.values = vars.map((v) => arena.take(v.size));
    this.fresh = vars.map((v) => v.rank === 2);
    this.values.forEach((x, i) => this.fresh[i] || x.fill(0));
  }
  /** Gradient k's values [from, to) += what `fill` writes into its argument. */
  add(k: number, from: number, to: number, fill: (out: Float32Array) => void): void {
    const all = this.values[k]!;
    if (this.fresh[k]) {
      this.fresh[k] = false;
      if (from === 0 && to === all.length) return fill(all);
      all.fill(0);
    }
    const t = this.arena.take(to - from);
    fill(t);
    addInto(all.subarray(from, to), t);
  }
  /** Gradient k, to accumulate into. */
  get(k: number): Float32Array {
    if (this.fresh[k]) {
      this.fresh[k] = false;
      this.values[k]!.fill(0);
    }
    return this.values[k]!;
  }
  /** Every gradient (one never written is zero). */
  all(): Float32Array[] {
    return this.values.map((_, k) => this.get(k));
  }
}

export interface MlpContext {
  /** Class labels [n] for a LabelEmbedding. */
  labels?: Int32Array;
  /** Dropout masks are drawn from it, in layer order, as Dropout.apply draws them. */
  rng: Rng;
  /** BatchNorm running statistics are updated from this batch. */
  updateStats: boolean;
}

/** What backward needs of each layer's forward. */
type TapeEntry =
  /**
   * A Dense of input [n, din]; after a LabelEmbedding its kernel has `embed.dim` more rows, for the
   * label's embedding, whose product is taken per class (table x those rows) instead of per row.
   */
  | { kind: 'dense'; input: RowBlocks; W: Float32Array; din: number; dout: number; kernelGrad: number; biasGrad: number; embed?: Embedded }
  /** out = tanh(in), kept: the derivative is 1 - out^2. */
  | { kind: 'tanh'; y: Float32Array }
  /** out = f(in) elementwise; slope = f'(in); `piecewiseLinear`: f'' = 0, so the penalty's double backward may treat it as constant. */
  | { kind: 'slope'; slope: Float32Array; piecewiseLinear: boolean }
  | { kind: 'bn'; xhat: Float32Array; invStd: Float32Array; gamma: Float32Array; gammaGrad: number; betaGrad: number };

/**
 * A matrix as consecutive blocks of rows: the critic's input is [real, fake] or [real, fake, real]
 * without copying them into one; the same array twice is multiplied once.
 */
type RowBlocks = Float32Array[];

interface Embedded {
  labels: Int32Array;
  table: Float32Array;
  classes: number;
  dim: number;
  tableGrad: number;
}

export interface Forward {
  out: Float32Array;
  n: number;
  tape: TapeEntry[];
}

/**
 * Why this module cannot run `net` (null: it can), from each kind's `hand` in the registry; `critic`:
 * the penalty's double backward too. A LabelEmbedding is taken by the Dense after it, so it comes first.
 */
export function notByHand(net: Sequential, critic: boolean): string | null {
  for (const [i, c] of net.config.layers.entries()) {
    const hand = kindOf(c).hand;
    if (!hand) return `no hand-written ${c.type}`;
    if (hand === 'generator' && critic) return `no hand-written ${c.type} in a critic (the penalty's double backward)`;
    if (c.type === 'LabelEmbedding' && !(i === 0 && net.config.layers[1]?.type === 'Dense'))
      return 'a LabelEmbedding runs by hand only first, before a Dense';
  }
  return null;
}

const read = (v: tf.Variable): Float32Array => v.dataSync() as Float32Array;

/**
 * Copy a float32 tensor's values into `out`: straight from the wasm heap where the backend has one
 * (dataSync would allocate a new array per read: megabytes per step, and a scavenge every few steps).
 */
export function readInto(t: tf.TensorInfo, out: Float32Array): Float32Array {
  const heap = (tf.backend() as { typedArrayFromHeap?: (t: tf.TensorInfo) => Float32Array }).typedArrayFromHeap;
  out.set(heap ? heap.call(tf.backend(), t) : (tf.engine().readSync(t.dataId) as Float32Array));
  return out;
}

export class MlpNet {
  /** Each trainable variable's index in `net.trainable` (gradients are indexed the same way). */
  private readonly gradIndex: Map<tf.Variable, number>;
  /** The trainable weights as read by `load()`, indexed like `net.trainable` (overwritten by each load). */
  private values: Float32Array[] = [];

  constructor(
    readonly net: Sequential,
    private readonly gemm: Gemm,
    private readonly arena: Arena,
  ) {
    this.gradIndex = new Map(net.trainable.map((v, i) => [v, i]));
  }

  /** Read the current weights (after every optimiser update of this network). */
  load(): void {
    const vars = this.net.trainable;
    if (this.values.length !== vars.length) this.values = vars.map((v) => new Float32Array(v.size));
    vars.forEach((v, i) => readInto(v, this.values[i]!));
  }

  /** The values `load()` read, indexed like `net.trainable`. */
  get weights(): Float32Array[] {
    return this.values;
  }

  /** Empty gradients for this network. */
  grads(): Grads {
    return new Grads(this.net.trainable, this.arena);
  }

  private value(v: tf.Variable): Float32Array {
    return this.values[this.gradIndex.get(v)!]!;
  }

  /**
   * The training-mode forward pass of `x` [n, inputDim] (one array, or blocks of rows). `output:
   * false` skips the last layer's product (the penalties need its weights, not its values).
   */
  forward(x: Float32Array | RowBlocks, n: number, ctx: MlpContext, output = true): Forward {
    const tape: TapeEntry[] = [];
    const A = this.arena;
    const first = this.net.layers.findIndex((l) => !(l instanceof LabelEmbedding));
    let blocks = Array.isArray(x) ? x : [x];
    if (blocks.length > 1 && !(this.net.layers[first] instanceof Dense)) blocks = [concatRows(blocks, A)];
    let h = blocks[0]!;
    let width = this.net.config.inputDim;
    const layers = this.net.layers;
    for (let l = 0, len = layers.length; l < len; l++) {
      const layer = layers[l]!;
      if (layer instanceof LabelEmbedding) continue; // taken by the Dense after it
      if (layer instanceof Dense) {
        const { units } = layer.config;
        const W = this.value(layer.kernel);
        const din = width;
        const prev = layers[l - 1];
        let embed: Embedded | undefined;
        if (prev instanceof LabelEmbedding) {
          if (!ctx.labels) throw new Error(`${prev.name}: a conditional layer needs labels`);
          embed = {
            labels: ctx.labels,
            table: this.value(prev.table),
            classes: prev.config.numClasses,
            dim: prev.config.dim,
            tableGrad: this.gradIndex.get(prev.table)!,
          };
        }
        const input = l === first ? blocks : [h];
        tape.push({
          kind: 'dense',
          input,
          W,
          din,
          dout: units,
          kernelGrad: this.gradIndex.get(layer.kernel)!,
          biasGrad: this.gradIndex.get(layer.bias)!,
          embed,
        });
        width = units;
        if (!output && l === layers.length - 1) return { out: h, n, tape };
        const z = A.take(n * units);
        this.blocksTimes(input, din, W.subarray(0, din * units), units, z);
        // The embedding's part: one row of table x kernel rows per class, added per label.
        let perClass: Float32Array | null = null;
        if (embed) {
          perClass = A.take(embed.classes * units);
          this.gemm(embed.table, [embed.classes, embed.dim], W.subarray(din * units), [embed.dim, units], false, false, perClass);
        }
        const act = layers[l + 1];
        if (act instanceof Tanh) {
          biasTanhInPlace(z, n, units, this.value(layer.bias));
          tape.push({ kind: 'tanh', y: z });
          l += 1;
          h = z;
          continue;
        }
        // A following LeakyReLU/ReLU and Dropout are applied in the same pass.
        const alpha = act instanceof LeakyReLU ? act.config.alpha : act instanceof ReLU ? 0 : null;
        const drop = alpha !== null && layers[l + 2] instanceof Dropout ? (layers[l + 2] as Dropout).config.rate : 0;
        const slope = alpha === null ? null : A.take(n * units);
        const mask = drop > 0 ? this.maskBits(ctx.rng, n * units) : null;
        addBias(z, n, units, this.value(layer.bias));
        if (perClass) addPerClass(z, n, units, perClass, embed!.labels);
        if (slope && mask) leakyReluDropoutInPlace(z, alpha!, mask, Math.round((1 - drop) * 65536), Math.fround(1 / (1 - drop)), slope);
        else if (slope) leakyReluInPlace(z, alpha!, slope);
        if (slope) tape.push({ kind: 'slope', slope, piecewiseLinear: true });
        l += alpha === null ? 0 : layers[l + 2] instanceof Dropout ? 2 : 1;
        h = z;
      } else if (layer instanceof BatchNorm) {
        h = this.batchNorm(layer, h, n, width, ctx, tape);
      } else {
        if (layer instanceof Dropout && layer.config.rate === 0) continue;
        const out = A.take(h.length);
        const slope = A.take(h.length);
        let piecewiseLinear = true;
        if (layer instanceof LeakyReLU) leakyRelu(h, layer.config.alpha, out, slope);
        else if (layer instanceof ReLU) leakyRelu(h, 0, out, slope);
        else if (layer instanceof Dropout) dropout(h, dropoutMask(ctx.rng, h.length, layer.config.rate), out, slope);
        else if (layer instanceof Tanh) ((piecewiseLinear = false), tanh(h, out, slope));
        else if (layer instanceof Sigmoid) ((piecewiseLinear = false), sigmoid(h, out, slope));
        else throw new Error(`${layer.name}: no hand-written forward for ${layer.config.type}`);
        tape.push({ kind: 'slope', slope, piecewiseLinear });
        h = out;
      }
    }
    return { out: h, n, tape };
  }

  /** out [n, cols] = blocks x W, each distinct block multiplied once. */
  private blocksTimes(blocks: RowBlocks, din: number, W: Float32Array, cols: number, out: Float32Array): void {
    let row = 0;
    const done = new Map<Float32Array, number>();
    for (const b of blocks) {
      const rows = b.length / din;
      const at = done.get(b);
      if (at !== undefined) out.copyWithin(row * cols, at * cols, (at + rows) * cols);
      else this.gemm(b, [rows, din], W, [din, cols], false, false, out.subarray(row * cols, (row + rows) * cols));
      done.set(b, row);
      row += rows;
    }
  }

  /**
   * Gradient k's first din x dout values += sum over blocks of block^T g_block; a block that appears twice is taken
   * once, with its g rows summed.
   */
  private addBlocksGradient(blocks: RowBlocks, din: number, g: Float32Array, dout: number, grads: Grads, k: number): void {
    const sums = new Map<Float32Array, Float32Array>();
    const summed = new Set<Float32Array>(); // g rows copied out of g, safe to add into
    let row = 0;
    for (const b of blocks) {
      const rows = b.length / din;
      const gb = g.subarray(row * dout, (row + rows) * dout);
      let sum = sums.get(b);
      if (!sum) sum = gb;
      else {
        if (!summed.has(b)) {
          const copy = this.arena.take(sum.length);
          copy.set(sum);
          sum = copy;
          summed.add(b);
        }
        addInto(sum, gb);
      }
      sums.set(b, sum);
      row += rows;
    }
    for (const [b, gb] of sums)
      grads.add(k, 0, din * dout, (out) => this.gemm(b, [b.length / din, din], gb, [gb.length / dout, dout], true, false, out));
  }

  private bits = new Uint32Array(0);
  /** The random words dropoutMask() would draw for `size` values (two 16-bit draws per word). */
  private maskBits(rng: Rng, size: number): Uint32Array {
    const words = Math.ceil(size / 2);
    if (this.bits.length < words) this.bits = new Uint32Array(words);
    return rng.fillUint32(this.bits.subarray(0, words));
  }

  /** torch.nn.BatchNorm1d in training: batch statistics (biased variance), running ones updated. */
  private batchNorm(layer: BatchNorm, x: Float32Array, n: number, d: number, ctx: MlpContext, tape: TapeEntry[]): Float32Array {
    const { epsilon, momentum } = layer.config;
    const { mean, variance } = columnMoments(x, n, d);
    const invStd = new Float32Array(d).map((_, j) => 1 / Math.sqrt(variance[j]! + epsilon));
    const gamma = this.value(layer.gamma);
    const xhat = this.arena.take(n * d);
    const out = this.arena.take(n * d);
    normalise(x, mean, invStd, gamma, this.value(layer.beta), n, d, xhat, out);
    if (ctx.updateStats) {
      const unbiased = n / Math.max(n - 1, 1);
      const mm = read(layer.movingMean).map((m, j) => m * (1 - momentum) + mean[j]! * momentum);
      const mv = read(layer.movingVariance).map((v, j) => v * (1 - momentum) + variance[j]! * unbiased * momentum);
      assign(layer.movingMean, mm);
      assign(layer.movingVariance, mv);
    }
    tape.push({ kind: 'bn', xhat, invStd, gamma, gammaGrad: this.gradIndex.get(layer.gamma)!, betaGrad: this.gradIndex.get(layer.beta)! });
    return out;
  }

  /**
   * Backpropagate dOut through the tape: adds each weight's gradient into `grads` (when given) and
   * returns the gradient of the input (when `wantInput`; without the embedding's columns).
   */
  backward(f: Forward, dOut: Float32Array, grads: Grads | null, wantInput: boolean): Float32Array | null {
    const { n, tape } = f;
    const A = this.arena;
    let g = dOut;
    let biasDone = false; // the bias gradient was summed in the pass that made g
    for (let t = tape.length - 1; t >= 0; t--) {
      const e = tape[t]!;
      if (e.kind === 'dense') {
        const { din, dout, embed } = e;
        if (grads) {
          this.addBlocksGradient(e.input, din, g, dout, grads, e.kernelGrad);
          if (!biasDone) addColumnSums(grads.get(e.biasGrad), g, n, dout);
          if (embed) this.embeddingBackward(embed, e.W.subarray(din * dout), g, n, dout, grads, e.kernelGrad, din * dout);
        }
        biasDone = false;
        if (t === 0 && !wantInput) return null;
        const dIn = A.take(n * din);
        this.gemm(g, [n, dout], e.W.subarray(0, din * dout), [din, dout], false, true, dIn);
        g = dIn;
      } else if (e.kind === 'slope' || e.kind === 'tanh') {
        // The Dense below needs g's column sums (its bias gradient): taken in the same pass.
        const below = tape[t - 1];
        const sums = grads && below?.kind === 'dense' ? grads.get(below.biasGrad) : null;
        g = e.kind === 'slope' ? multiply(g, e.slope, A.take(g.length), sums, n) : tanhBackward(g, e.y, A.take(g.length), sums, n);
        biasDone = sums !== null;
      } else {
        g = batchNormBackward(e, g, n, grads, A.take(g.length));
      }
    }
    return wantInput ? g : null;
  }

  /**
   * The embedding's share of a Dense's gradients, per class: with S[c] the sum of g over the rows
   * labelled c, dKernelRows += table^T S and dTable += S kernelRows^T.
   */
  private embeddingBackward(
    e: Embedded,
    rows: Float32Array,
    g: Float32Array,
    n: number,
    dout: number,
    grads: Grads,
    kernel: number,
    from: number,
  ): void {
    const S = this.arena.zeros(e.classes * dout);
    for (let i = 0; i < n; i++) {
      const c = e.labels[i]! * dout;
      for (let j = 0, o = i * dout; j < dout; j++) S[c + j]! += g[o + j]!;
    }
    grads.add(kernel, from, from + e.dim * dout, (out) => this.gemm(e.table, [e.classes, e.dim], S, [e.classes, dout], true, false, out));
    grads.add(e.tableGrad, 0, e.classes * e.dim, (out) => this.gemm(S, [e.classes, dout], rows, [e.dim, dout], false, true, out));
  }

  /**
   * The gradient of sum_i <c, out_i> with respect to the input rows, for the penalties: `c` weighs
   * the output columns (ones for WGAN-GP, [-1, 1] for the R1 logit difference). Keeps what
   * `penaltyBackward` needs.
   */
  inputGradient(f: Forward, c: number[]): { gx: Float32Array; upstream: Float32Array[] } {
    const { n, tape } = f;
    const A = this.arena;
    const upstream: Float32Array[] = [];
    let u = A.take(n * c.length);
    for (let i = 0, len = u.length; i < len; i++) u[i] = c[i % c.length]!;
    for (let t = tape.length - 1; t >= 0; t--) {
      const e = tape[t]!;
      if (e.kind === 'dense') {
        upstream[t] = u;
        // Only the input's columns: the penalty is on the image's gradient, not the embedding's.
        const uIn = A.take(n * e.din);
        this.gemm(u, [n, e.dout], e.W.subarray(0, e.din * e.dout), [e.din, e.dout], false, true, uIn);
        u = uIn;
      } else if (e.kind === 'slope') {
        if (!e.piecewiseLinear) throw new Error('the penalty needs piecewise-linear activations');
        u = multiply(u, e.slope, A.take(u.length));
      } else {
        throw new Error(`the penalty needs a network without ${e.kind === 'bn' ? 'BatchNorm' : 'tanh'}`);
      }
    }
    return { gx: u, upstream };
  }

  /**
   * Given dP/dgx of a penalty P(gx), add dP/dweights into `grads`. The gradient gx is linear in
   * each kernel along the chain, with slopes and masks that do not change under small weight changes,
   * so the double backward walks the chain forward: at a Dense, dW += G^T u_out and G <- G W.
   * The embedding's rows take no part in gx, so they get no gradient from it.
   */
  penaltyBackward(f: Forward, input: { upstream: Float32Array[] }, dGx: Float32Array, grads: Grads): void {
    const { n, tape } = f;
    const A = this.arena;
    let G = dGx;
    for (let t = 0, len = tape.length; t < len; t++) {
      const e = tape[t]!;
      if (e.kind === 'slope') {
        G = multiply(G, e.slope, A.take(G.length));
      } else if (e.kind === 'dense') {
        const { din, dout } = e;
        const u = input.upstream[t]!;
        const Gt = G;
        grads.add(e.kernelGrad, 0, din * dout, (out) => this.gemm(Gt, [n, din], u, [n, dout], true, false, out));
        if (t === tape.length - 1) break;
        const next = A.take(n * dout);
        this.gemm(G, [n, din], e.W.subarray(0, din * dout), [din, dout], false, false, next);
        G = next;
      }
    }
  }
}

/** Per-column mean and biased variance (tf.moments), in float64. */
function columnMoments(x: Float32Array, n: number, d: number): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(d);
  const variance = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0, o = i * d; j < d; j++) mean[j]! += x[o + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0, o = i * d; j < d; j++) {
      const c = x[o + j]! - mean[j]!;
      variance[j]! += c * c;
    }
  }
  for (let j = 0; j < d; j++) variance[j]! /= n;
  return { mean, variance };
}

function normalise(
  x: Float32Array,
  mean: Float64Array,
  invStd: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  n: number,
  d: number,
  xhat: Float32Array,
  out: Float32Array,
): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0, o = i * d; j < d; j++) {
      const v = (x[o + j]! - mean[j]!) * invStd[j]!;
      xhat[o + j] = v;
      out[o + j] = v * gamma[j]! + beta[j]!;
    }
  }
}

function batchNormBackward(
  e: Extract<TapeEntry, { kind: 'bn' }>,
  g: Float32Array,
  n: number,
  grads: Grads | null,
  dx: Float32Array,
): Float32Array {
  const d = e.gamma.length;
  const sumG = new Float64Array(d);
  const sumGx = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0, o = i * d; j < d; j++) {
      sumG[j]! += g[o + j]!;
      sumGx[j]! += g[o + j]! * e.xhat[o + j]!;
    }
  }
  if (grads) {
    const dGamma = grads.get(e.gammaGrad);
    const dBeta = grads.get(e.betaGrad);
    for (let j = 0; j < d; j++) {
      dGamma[j]! += sumGx[j]!;
      dBeta[j]! += sumG[j]!;
    }
  }
  // dx = gamma * invStd * (g - mean(g) - xhat * mean(g * xhat)), per column.
  const scale = new Float64Array(d).map((_, j) => e.gamma[j]! * e.invStd[j]!);
  for (let j = 0; j < d; j++) {
    sumG[j]! /= n;
    sumGx[j]! /= n;
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0, o = i * d; j < d; j++) dx[o + j] = scale[j]! * (g[o + j]! - sumG[j]! - e.xhat[o + j]! * sumGx[j]!);
  }
  return dx;
}

// Each loop in its own small function: V8 optimises them apart from the layer walk.
function addColumnSums(acc: Float32Array, x: Float32Array, n: number, d: number): void {
  for (let i = 0; i < n; i++) for (let j = 0, o = i * d; j < d; j++) acc[j]! += x[o + j]!;
}

// Small loops, each monomorphic: V8 compiles a loop with null-or-array operands far slower.
function addBias(z: Float32Array, n: number, d: number, bias: Float32Array): void {
  for (let i = 0; i < n; i++) for (let j = 0, o = i * d; j < d; j++) z[o + j]! += bias[j]!;
}

/** z[i] += perClass[labels[i]] (the embedding's part of a Dense). */
function addPerClass(z: Float32Array, n: number, d: number, perClass: Float32Array, labels: Int32Array): void {
  for (let i = 0; i < n; i++) for (let j = 0, o = i * d, r = labels[i]! * d; j < d; j++) z[o + j]! += perClass[r + j]!;
}

// Branch-free: the signs and the mask bits are random, and a mispredicted branch per value cost 4x
// the loop. A value's sign bit (from an Int32Array view of the same memory) and its keep bit index
// a table of slopes. (+0 counts as positive: its output is 0 either way.)
const signBits = (z: Float32Array): Int32Array => new Int32Array(z.buffer, z.byteOffset, z.length);
const slopes = new Float64Array(4);

/** In place LeakyReLU (alpha 0: ReLU); slope <- its derivative. */
function leakyReluInPlace(z: Float32Array, alpha: number, slope: Float32Array): void {
  const zi = signBits(z);
  slopes[0] = 1;
  slopes[1] = alpha;
  for (let i = 0, len = z.length; i < len; i++) {
    const s = slopes[zi[i]! >>> 31]!;
    slope[i] = s;
    z[i]! *= s;
  }
}

/**
 * In place LeakyReLU then inverted dropout, slope <- the derivative of both. The mask is
 * dropoutMask()'s: element e is kept when 16-bit draw e (the low, then the high half of word e/2)
 * is below `threshold`, and is then scaled by `scale`.
 */
function leakyReluDropoutInPlace(
  z: Float32Array,
  alpha: number,
  bits: Uint32Array,
  threshold: number,
  scale: number,
  slope: Float32Array,
): void {
  const zi = signBits(z);
  // Index (kept << 1) | positive.
  slopes[0] = 0;
  slopes[1] = 0;
  slopes[2] = alpha * scale;
  slopes[3] = scale;
  const at = (e: number, draw: number): number => {
    const s = slopes[(((draw - threshold) >>> 31) << 1) | (1 - (zi[e]! >>> 31))]!;
    slope[e] = s;
    return s;
  };
  const pairs = z.length >> 1;
  for (let w = 0; w < pairs; w++) {
    const word = bits[w]!;
    const e = 2 * w;
    z[e]! *= at(e, word & 0xffff);
    z[e + 1]! *= at(e + 1, word >>> 16);
  }
  if (z.length & 1) z[z.length - 1]! *= at(z.length - 1, bits[pairs]! & 0xffff);
}

function leakyRelu(x: Float32Array, a: number, out: Float32Array, slope: Float32Array): void {
  for (let i = 0, len = x.length; i < len; i++) {
    const z = x[i]!;
    const s = z > 0 ? 1 : a;
    slope[i] = s;
    out[i] = z * s;
  }
}

function dropout(x: Float32Array, mask: Float32Array, out: Float32Array, slope: Float32Array): void {
  for (let i = 0, len = x.length; i < len; i++) out[i] = x[i]! * mask[i]!;
  slope.set(mask);
}

/**
 * tanh as Eigen's float rational approximation (generic_fast_tanh_float): within 2.4e-7 of
 * Math.tanh everywhere (float32 rounding; 1e-7 relative below 1) and 6x faster, which matters
 * at 235k values per generator pass.
 */
function fastTanh(v: number): number {
  const x = v > 7.90531110763549805 ? 7.90531110763549805 : v < -7.90531110763549805 ? -7.90531110763549805 : v;
  const x2 = x * x;
  const p =
    x *
    (4.89352455891786e-3 +
      x2 *
        (6.37261928875436e-4 +
          x2 *
            (1.48572235717979e-5 +
              x2 * (5.12229709037114e-8 + x2 * (-8.60467152213735e-11 + x2 * (2.00018790482477e-13 + x2 * -2.76076847742355e-16))))));
  const q = 4.89352518554385e-3 + x2 * (2.268434632439e-3 + x2 * (1.18534705686654e-4 + x2 * 1.19825839466702e-6));
  return p / q;
}

function biasTanhInPlace(z: Float32Array, n: number, d: number, bias: Float32Array): void {
  for (let i = 0; i < n; i++) for (let j = 0, o = i * d; j < d; j++) z[o + j] = fastTanh(z[o + j]! + bias[j]!);
}

/** out = g * (1 - y^2); with `sums`, its column sums added into sums ([n rows] of sums.length). */
function tanhBackward(g: Float32Array, y: Float32Array, out: Float32Array, sums: Float32Array | null, n: number): Float32Array {
  for (let i = 0, len = g.length; i < len; i++) out[i] = g[i]! * (1 - y[i]! * y[i]!);
  if (sums) addColumnSums(sums, out, n, sums.length);
  return out;
}

function concatRows(parts: Float32Array[], arena: Arena): Float32Array {
  const out = arena.take(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function tanh(x: Float32Array, out: Float32Array, slope: Float32Array): void {
  for (let i = 0, len = x.length; i < len; i++) {
    const y = fastTanh(x[i]!);
    out[i] = y;
    slope[i] = 1 - y * y;
  }
}

function sigmoid(x: Float32Array, out: Float32Array, slope: Float32Array): void {
  for (let i = 0, len = x.length; i < len; i++) {
    const y = 1 / (1 + Math.exp(-x[i]!));
    out[i] = y;
    slope[i] = y * (1 - y);
  }
}

/** out = x * s; with `sums`, out's column sums added into sums ([n rows] of sums.length columns), in the same pass. */
function multiply(x: Float32Array, s: Float32Array, out: Float32Array, sums: Float32Array | null = null, n = 0): Float32Array {
  if (!sums) {
    for (let i = 0, len = x.length; i < len; i++) out[i] = x[i]! * s[i]!;
    return out;
  }
  const d = sums.length;
  for (let i = 0; i < n; i++) {
    for (let j = 0, o = i * d; j < d; j++) {
      const v = x[o + j]! * s[o + j]!;
      out[o + j] = v;
      sums[j]! += v;
    }
  }
  return out;
}

function addInto(acc: Float32Array, x: Float32Array): void {
  for (let i = 0, len = acc.length; i < len; i++) acc[i]! += x[i]!;
}

function assign(v: tf.Variable, values: Float32Array): void {
  tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
}
