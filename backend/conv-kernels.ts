// Convolution and normalisation kernels on Float32Arrays, with every product on one GEMM
// (onnxruntime's, backend/ort-matmul.ts): im2col / col2im around a single product per pass over the
// whole batch. Used by the hand-written training engine (train/) and by the wasm backend's missing
// kernels (backend/wasm-conv-kernels.ts): one implementation for both.
//
// Layout: NHWC activations and tfjs's filter layouts, on purpose. tfjs keeps conv tensors NHWC and
// kernels [kh, kw, in, out] (Conv2D) / [kh, kw, out, in] (ConvTranspose2D), so these kernels read the
// tfjs variables and write gradients in their layout with no transposes, and the im2col matrix
// [n*oh*ow, kh*kw*c] times the filter viewed as [kh*kw*c, out] is the NHWC output itself: one GEMM
// for the batch. ONNX's NCHW only meets it at the ends (the Reshape of features stored C,H,W and
// the generator's image): `chwToHwc` / `hwcToChw` convert there.
//
// API (all outputs are written, not added; every array is caller-owned unless noted):
//   const k = new ConvKernels(gemm)         scratch (padded copies, im2col matrices) reused per call
//   const g = convGeometry({ n, h, w, c, o, kh, kw, sh, sw, pads: [top, left, bottom, right] })
//     the convolution x [n, h, w, c] -> y [n, oh, ow, o]; g.rows = n*oh*ow, g.k = kh*kw*c
//   k.conv2d(x, F, bias | null, g, y)                  y = conv(x, F) + bias          (F [kh,kw,c,o])
//   k.conv2dInputGrad(dy, F, g, dx)                    dx = d<dy, conv(x, F)>/dx
//   k.conv2dFilterGrad(x, dy, g, dF, dBias | null)     dF = d<dy, conv(x, F)>/dF, dBias = sums of dy
//   ConvTranspose2D of x [n, h, w, in] with F [kh, kw, out, in], stride s, crop pads p is the input
//   gradient of the conv `convTransposeGeometry(...)` returns (its input is the ConvT's output):
//     forward  y = k.conv2dInputGrad(x, F, g, y), then addBias(y, rows, out, bias)
//     backward cols = k.im2col(dy, g); dF = k.conv2dFilterGrad(dy, x, g, dF, dBias, cols);
//              dx = k.conv2d(dy, F, null, g, dx)   (dBias [out] = channelSums of dy)
//   k.im2col(x, g) is a view of the object's scratch, valid until its next call (so: take the
//   filter gradient before anything else runs on `k`).
//   batchNorm2dForward / batchNorm2dBackward   per channel over n*h*w (training mode), NHWC = [rows, c]
//   layerNormForward / layerNormBackward       per sample over its h*w*c values, elementwise gamma/beta
//
// The gradient penalty's double backward (WGAN-GP, R1). The critic's input-gradient pass computes,
// layer by layer from the top, u_in = J^T u_out (J: the layer's Jacobian at its forward input x).
// Given G = dP/du_in of a penalty P, each layer gives three pieces: G_out = J G (passed up the
// chain, the order of the forward pass), dP/dweights, and dP/dx (its second-order term, which then
// flows down through an ordinary backward of the forward pass):
//   Conv2D:          G_out = conv2d(G, F) (no bias), dF = conv2dFilterGrad(G, u_out), dP/dx = 0
//   ConvTranspose2D: G_out = conv2dInputGrad(G, F),   dF = conv2dFilterGrad(u_out, G), dP/dx = 0
//   Dense:           the same with the GEMM alone (train/mlp-net.ts)
//   LeakyReLU/ReLU:  G_out = G * slope, no weights, dP/dx = 0 (piecewise linear: f'' = 0)
//   LayerNorm:       layerNormPenalty(...) gives G_out, dGamma and dP/dx (dBeta = 0)
//   Biases take no part in J, so they get nothing from the penalty.
import type { Gemm } from './ort-matmul.js';

/** A 2-D convolution of x [n, h, w, c] by a filter [kh, kw, c, o] with strides (sh, sw) and zero pads. */
export interface ConvShape {
  n: number;
  h: number;
  w: number;
  c: number;
  o: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  /** Zero padding [top, left, bottom, right] (ONNX's order is [top, left, bottom, right] too). */
  pads: readonly [number, number, number, number];
}

export interface ConvGeometry extends ConvShape {
  oh: number;
  ow: number;
  /** Output pixels of the batch: n * oh * ow (the im2col matrix's rows). */
  rows: number;
  /** kh * kw * c (the im2col matrix's columns, the filter matrix's rows). */
  k: number;
  /** The padded input's height and width. */
  ph: number;
  pw: number;
}

/** The geometry of a convolution, checked: a clear error for sizes that do not fit. */
export function convGeometry(s: ConvShape): ConvGeometry {
  const { n, h, w, c, o, kh, kw, sh, sw, pads } = s;
  const ints = [n, h, w, c, o, kh, kw, sh, sw, ...pads];
  if (ints.some((v) => !Number.isInteger(v) || v < 0) || [n, h, w, c, o, kh, kw, sh, sw].some((v) => v < 1)) {
    throw new Error(`convolution sizes must be positive integers (pads >= 0), got ${JSON.stringify(s)}`);
  }
  const [t, l, b, r] = pads;
  const ph = h + t + b;
  const pw = w + l + r;
  if (ph < kh || pw < kw) throw new Error(`a ${kh}x${kw} filter does not fit a padded ${ph}x${pw} input`);
  const oh = Math.floor((ph - kh) / sh) + 1;
  const ow = Math.floor((pw - kw) / sw) + 1;
  return { ...s, pads: [t, l, b, r], oh, ow, rows: n * oh * ow, k: kh * kw * c, ph, pw };
}

/**
 * ConvTranspose2D of x [n, h, w, inChannels] to [n, oh, ow, outChannels] with oh = s*(h-1) + kh -
 * top - bottom + outputPadding (torch/ONNX ConvTranspose: pads crop the full output, output padding
 * adds rows at the bottom/right): the geometry of the convolution whose input gradient it is. Its
 * filter [kh, kw, out, in] is that convolution's [kh, kw, c, o].
 */
export function convTransposeGeometry(t: {
  n: number;
  h: number;
  w: number;
  inChannels: number;
  outChannels: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pads: readonly [number, number, number, number];
  outputPadding?: readonly [number, number];
}): ConvGeometry {
  const [pt, pl, pb, pr] = t.pads;
  const [oph, opw] = t.outputPadding ?? [0, 0];
  const H = t.sh * (t.h - 1) + t.kh - pt - pb + oph;
  const W = t.sw * (t.w - 1) + t.kw - pl - pr + opw;
  if (H < 1 || W < 1) throw new Error(`ConvTranspose2D pads [${t.pads}] crop all of its output`);
  if (oph >= t.sh || opw >= t.sw) throw new Error(`output padding [${oph}, ${opw}] must be smaller than the stride`);
  // Output padding adds rows at the bottom/right: the conv's bottom/right pad shrinks by it (its
  // output stays h x w); below zero, the rows past the last tap are simply never read (op < stride).
  const g = convGeometry({
    n: t.n,
    h: H,
    w: W,
    c: t.outChannels,
    o: t.inChannels,
    kh: t.kh,
    kw: t.kw,
    sh: t.sh,
    sw: t.sw,
    pads: [pt, pl, pb - oph, pr - opw].map((p) => Math.max(p, 0)) as [number, number, number, number],
  });
  if (g.oh !== t.h || g.ow !== t.w) throw new Error(`ConvTranspose2D geometry mismatch: ${g.oh}x${g.ow} for ${t.h}x${t.w}`);
  return g;
}

/** Grow-only scratch: `n` floats of undefined content, valid until the next call for the same slot. */
class Scratch {
  private buf = new Float32Array(0);
  take(n: number): Float32Array {
    if (this.buf.length < n) this.buf = new Float32Array(Math.max(n, Math.ceil(this.buf.length * 1.5)));
    return this.buf.subarray(0, n);
  }
}

const unpadded = (g: ConvGeometry): boolean => g.pads[0] === 0 && g.pads[1] === 0 && g.pads[2] === 0 && g.pads[3] === 0;
/** A 1x1 stride-1 unpadded convolution's im2col matrix is its input. */
const pointwise = (g: ConvGeometry): boolean => g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && unpadded(g);

export class ConvKernels {
  /**
   * The padded input and the im2col matrix in one buffer, [padded | cols]: each window row is then
   * one copyWithin (a native memmove that makes no view objects): 2x a JavaScript loop's speed on
   * runs of 48 floats and more.
   */
  private work = new Float32Array(0);
  private readonly padded = new Scratch();
  private readonly cols = new Scratch();
  private readonly filter = new Scratch();
  constructor(private readonly gemm: Gemm) {}

  /**
   * The im2col matrix [rows, k] of x: row (n, oy, ox) holds the padded input's window at that output
   * pixel in (ky, kx, c) order. A view of scratch memory, valid until the next call of this object.
   */
  im2col(x: Float32Array, g: ConvGeometry): Float32Array {
    if (pointwise(g)) return x;
    const P = g.n * g.ph * g.pw * g.c;
    const size = P + g.rows * g.k;
    if (this.work.length < size) this.work = new Float32Array(Math.ceil(size * 1.25));
    padInto(x, g, this.work);
    im2colWithin(this.work, g, P);
    return this.work.subarray(P, size);
  }

  /** y [n, oh, ow, o] = conv(x, F) (+ bias per output channel). F is [kh, kw, c, o]. */
  conv2d(x: Float32Array, F: Float32Array, bias: Float32Array | null, g: ConvGeometry, y: Float32Array): Float32Array {
    const cols = this.im2col(x, g);
    this.gemm(cols, [g.rows, g.k], F, [g.k, g.o], false, false, y);
    if (bias) addBias(y, g.rows, g.o, bias);
    return y;
  }

  /** dx [n, h, w, c] = the gradient of <dy, conv(x, F)> with respect to x (dy [n, oh, ow, o]). */
  conv2dInputGrad(dy: Float32Array, F: Float32Array, g: ConvGeometry, dx: Float32Array): Float32Array {
    if (pointwise(g)) {
      this.gemm(dy, [g.rows, g.o], F, [g.k, g.o], false, true, dx);
      return dx;
    }
    const full = fullConvolution(g);
    if (full) return this.conv2d(dy, this.flipped(F, g), null, full, dx);
    const dcols = this.cols.take(g.rows * g.k);
    this.gemm(dy, [g.rows, g.o], F, [g.k, g.o], false, true, dcols);
    if (unpadded(g)) {
      dx.fill(0);
      col2imPadded(dcols, g, dx);
    } else {
      const dp = this.padded.take(g.n * g.ph * g.pw * g.c).fill(0);
      col2imPadded(dcols, g, dp);
      crop(dp, g, dx);
    }
    return dx;
  }

  /** F [kh, kw, c, o] rotated by 180 degrees with its channels swapped: [kh, kw, o, c], in scratch. */
  private flipped(F: Float32Array, g: ConvGeometry): Float32Array {
    const { kh, kw, c, o } = g;
    const out = this.filter.take(F.length);
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const src = ((kh - 1 - ky) * kw + (kw - 1 - kx)) * c * o;
        const dst = (ky * kw + kx) * o * c;
        for (let ci = 0; ci < c; ci++) for (let oc = 0; oc < o; oc++) out[dst + oc * c + ci] = F[src + ci * o + oc]!;
      }
    }
    return out;
  }

  /**
   * dF [kh, kw, c, o] = the gradient of <dy, conv(x, F)> with respect to F; dBias [o] = dy's sums
   * per channel when asked. `cols`: x's im2col matrix when the caller has it (else computed).
   */
  conv2dFilterGrad(
    x: Float32Array,
    dy: Float32Array,
    g: ConvGeometry,
    dF: Float32Array,
    dBias: Float32Array | null,
    cols?: Float32Array,
  ): Float32Array {
    const c = cols ?? this.im2col(x, g);
    this.gemm(c, [g.rows, g.k], dy, [g.rows, g.o], true, false, dF);
    if (dBias) channelSums(dy, g.rows, g.o, dBias);
    return dF;
  }
}

/**
 * A stride-1 convolution's input gradient is the "full" convolution of dy (padded by k-1-pad) with
 * the flipped filter: an im2col of dy, k*o wide, instead of a col2im of a k*c wide matrix, so it
 * wins when o < c (the generator's last conv, 16 -> 1 channels: 4x). Null where it does not apply.
 */
function fullConvolution(g: ConvGeometry): ConvGeometry | null {
  const { kh, kw, pads } = g;
  const [t, l, b, r] = pads;
  if (g.sh !== 1 || g.sw !== 1 || g.o >= g.c || t >= kh || b >= kh || l >= kw || r >= kw) return null;
  const full = convGeometry({
    n: g.n,
    h: g.oh,
    w: g.ow,
    c: g.o,
    o: g.c,
    kh,
    kw,
    sh: 1,
    sw: 1,
    pads: [kh - 1 - t, kw - 1 - l, kh - 1 - b, kw - 1 - r],
  });
  return full.oh === g.h && full.ow === g.w ? full : null;
}

/** x [n, h, w, c] into out's first n*ph*pw*c floats, zero-padded. */
function padInto(x: Float32Array, g: ConvGeometry, out: Float32Array): void {
  if (unpadded(g)) return out.set(x);
  const { n, h, w, c, ph, pw } = g;
  const [t, l] = g.pads;
  out.fill(0, 0, n * ph * pw * c);
  const run = w * c;
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h; y++) {
      const src = (i * h + y) * run;
      const dst = ((i * ph + y + t) * pw + l) * c;
      for (let j = 0; j < run; j++) out[dst + j] = x[src + j]!;
    }
  }
}

// Windows: at output pixel (oy, ox) and filter row ky, the taps kx = 0..kw-1 over all c channels are
// kw*c consecutive floats of the padded NHWC input, so each window row is one straight copy with no
// bounds tests (the padding made every tap valid). `buf` holds the padded input, then from `at` the matrix.
function im2colWithin(buf: Float32Array, g: ConvGeometry, at: number): void {
  const { n, c, kh, kw, sh, sw, oh, ow, ph, pw } = g;
  const run = kw * c;
  const rowStride = pw * c;
  const long = run >= 16; // below, the call costs more than a loop (grey inputs: runs of kw floats)
  let o = at;
  for (let i = 0; i < n; i++) {
    const base = i * ph * rowStride;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const win = base + oy * sh * rowStride + ox * sw * c;
        for (let ky = 0; ky < kh; ky++) {
          const src = win + ky * rowStride;
          if (long) buf.copyWithin(o, src, src + run);
          else for (let j = 0; j < run; j++) buf[o + j] = buf[src + j]!;
          o += run;
        }
      }
    }
  }
}

/** The adjoint of im2colWithin: each window row of cols added into the (zeroed) padded input. */
function col2imPadded(cols: Float32Array, g: ConvGeometry, dp: Float32Array): void {
  const { n, c, kh, kw, sh, sw, oh, ow, ph, pw } = g;
  const run = kw * c;
  const rowStride = pw * c;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const base = i * ph * rowStride;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const at = base + oy * sh * rowStride + ox * sw * c;
        for (let ky = 0; ky < kh; ky++) {
          const dst = at + ky * rowStride;
          for (let j = 0; j < run; j++) dp[dst + j]! += cols[o + j]!;
          o += run;
        }
      }
    }
  }
}

/** The unpadded interior of dp [n, ph, pw, c] into dx [n, h, w, c]. */
function crop(dp: Float32Array, g: ConvGeometry, dx: Float32Array): void {
  const { n, h, w, c, ph, pw } = g;
  const [t, l] = g.pads;
  const run = w * c;
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h; y++) {
      const dst = (i * h + y) * w * c;
      const src = ((i * ph + y + t) * pw + l) * c;
      for (let j = 0; j < run; j++) dx[dst + j] = dp[src + j]!;
    }
  }
}

/** y [rows, d] += bias [d] per row. */
export function addBias(y: Float32Array, rows: number, d: number, bias: Float32Array): void {
  for (let i = 0; i < rows; i++) for (let j = 0, o = i * d; j < d; j++) y[o + j]! += bias[j]!;
}

/** out [d] = column sums of x [rows, d] (the bias gradient of an NHWC tensor), in float64. */
export function channelSums(x: Float32Array, rows: number, d: number, out: Float32Array): Float32Array {
  const acc = f64(0, d).fill(0);
  for (let i = 0; i < rows; i++) for (let j = 0, o = i * d; j < d; j++) acc[j]! += x[o + j]!;
  for (let j = 0; j < d; j++) out[j] = acc[j]!;
  return out;
}

// Float64 accumulators per channel or sample, reused (grow-only) between calls.
const f64Slots: Float64Array[] = [];
function f64(slot: number, n: number): Float64Array {
  const b = f64Slots[slot];
  if (b && b.length >= n) return b.subarray(0, n);
  const fresh = new Float64Array(Math.max(n, 2 * (b?.length ?? 0)));
  f64Slots[slot] = fresh;
  return fresh.subarray(0, n);
}

/** What a normalisation's backward needs of its forward. */
export interface NormTape {
  /** The normalised input, like x. */
  xhat: Float32Array;
  /** 1 / sqrt(variance + epsilon), one per group (channel for BatchNorm, sample for LayerNorm). */
  invStd: Float32Array;
}

/**
 * torch.nn.BatchNorm2d in training mode on x [rows = n*h*w, c] (NHWC; on [n, d] it is BatchNorm1d): per-channel batch mean and
 * biased variance (tf.moments), y = gamma * xhat + beta. `mean`/`variance` [c] receive the batch
 * statistics (the caller updates the running ones; torch uses variance * rows / (rows - 1) there).
 */
export function batchNorm2dForward(
  x: Float32Array,
  rows: number,
  c: number,
  gamma: Float32Array,
  beta: Float32Array,
  epsilon: number,
  y: Float32Array,
  tape: NormTape,
  mean: Float32Array,
  variance: Float32Array,
): void {
  const m = f64(0, c).fill(0);
  const v = f64(1, c).fill(0);
  for (let i = 0; i < rows; i++) for (let j = 0, o = i * c; j < c; j++) m[j]! += x[o + j]!;
  for (let j = 0; j < c; j++) m[j]! /= rows;
  for (let i = 0; i < rows; i++) {
    for (let j = 0, o = i * c; j < c; j++) {
      const d = x[o + j]! - m[j]!;
      v[j]! += d * d;
    }
  }
  const { xhat, invStd } = tape;
  for (let j = 0; j < c; j++) {
    v[j]! /= rows;
    mean[j] = m[j]!;
    variance[j] = v[j]!;
    invStd[j] = 1 / Math.sqrt(v[j]! + epsilon);
  }
  for (let i = 0; i < rows; i++) {
    for (let j = 0, o = i * c; j < c; j++) {
      const h = (x[o + j]! - m[j]!) * invStd[j]!;
      xhat[o + j] = h;
      y[o + j] = h * gamma[j]! + beta[j]!;
    }
  }
}

/** BatchNorm2d's backward: dx = gamma * invStd * (g - mean(g) - xhat * mean(g * xhat)) per channel; dGamma, dBeta [c]. */
export function batchNorm2dBackward(
  g: Float32Array,
  tape: NormTape,
  gamma: Float32Array,
  rows: number,
  c: number,
  dx: Float32Array,
  dGamma: Float32Array,
  dBeta: Float32Array,
): void {
  const { xhat, invStd } = tape;
  const sg = f64(0, c).fill(0);
  const sgx = f64(1, c).fill(0);
  for (let i = 0; i < rows; i++) {
    for (let j = 0, o = i * c; j < c; j++) {
      sg[j]! += g[o + j]!;
      sgx[j]! += g[o + j]! * xhat[o + j]!;
    }
  }
  const scale = f64(2, c);
  for (let j = 0; j < c; j++) {
    dGamma[j] = sgx[j]!;
    dBeta[j] = sg[j]!;
    sg[j]! /= rows;
    sgx[j]! /= rows;
    scale[j] = gamma[j]! * invStd[j]!;
  }
  for (let i = 0; i < rows; i++) {
    for (let j = 0, o = i * c; j < c; j++) dx[o + j] = scale[j]! * (g[o + j]! - sg[j]! - xhat[o + j]! * sgx[j]!);
  }
}

/**
 * torch.nn.LayerNorm([C, H, W]) on x [n, d] (each sample's d = h*w*c values, in any layout, with
 * gamma/beta [d] in the same layout): per-sample mean and biased variance, y = gamma * xhat + beta.
 */
export function layerNormForward(
  x: Float32Array,
  n: number,
  d: number,
  gamma: Float32Array,
  beta: Float32Array,
  epsilon: number,
  y: Float32Array,
  tape: NormTape,
): void {
  const { xhat, invStd } = tape;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += x[o + j]!;
    const m = s / d;
    let v = 0;
    for (let j = 0; j < d; j++) {
      const c = x[o + j]! - m;
      v += c * c;
    }
    const r = 1 / Math.sqrt(v / d + epsilon);
    invStd[i] = r;
    for (let j = 0; j < d; j++) {
      const h = (x[o + j]! - m) * r;
      xhat[o + j] = h;
      y[o + j] = h * gamma[j]! + beta[j]!;
    }
  }
}

/**
 * out [n, d] = S (scale * v) per sample, S = invStd (I - 11'/d - xhat xhat'/d) the Jacobian of xhat
 * (symmetric). LayerNorm's backward is S (gamma * g); its Jacobian-vector product gamma * (S v).
 */
function normJacobian(v: Float32Array, scale: Float32Array | null, tape: NormTape, n: number, d: number, out: Float32Array): void {
  const { xhat, invStd } = tape;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let s = 0;
    let sx = 0;
    for (let j = 0; j < d; j++) {
      const a = scale ? v[o + j]! * scale[j]! : v[o + j]!;
      s += a;
      sx += a * xhat[o + j]!;
    }
    const m = s / d;
    const mx = sx / d;
    const r = invStd[i]!;
    for (let j = 0; j < d; j++) {
      const a = scale ? v[o + j]! * scale[j]! : v[o + j]!;
      out[o + j] = r * (a - m - xhat[o + j]! * mx);
    }
  }
}

/** LayerNorm's backward: dx [n, d]; dGamma = sum over samples of g * xhat, dBeta = sum of g. */
export function layerNormBackward(
  g: Float32Array,
  tape: NormTape,
  gamma: Float32Array,
  n: number,
  d: number,
  dx: Float32Array,
  dGamma: Float32Array,
  dBeta: Float32Array,
): void {
  const { xhat } = tape;
  const sg = f64(0, d).fill(0);
  const sgx = f64(1, d).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0, o = i * d; j < d; j++) {
      sg[j]! += g[o + j]!;
      sgx[j]! += g[o + j]! * xhat[o + j]!;
    }
  }
  for (let j = 0; j < d; j++) {
    dGamma[j] = sgx[j]!;
    dBeta[j] = sg[j]!;
  }
  normJacobian(g, gamma, tape, n, d, dx);
}

/**
 * LayerNorm's pieces of the penalty's double backward. The input-gradient pass computed
 * u_in = S (gamma * u) from u = `u` (the upstream at the layer's output); given G = dP/du_in:
 *   gOut = gamma * (S G)                                  dP/du, passed up the chain
 *   dGamma = sum over samples of u * (S G)
 *   dx = -invStd^2 [xhat (γ - 3αβ) + α (G - m(G)) + β (a - m(a))]   the second-order term, with
 *        a = gamma * u, m the sample mean, α = m(a xhat), β = m(G xhat), γ = m(G a) - m(G) m(a)
 */
export function layerNormPenalty(
  G: Float32Array,
  u: Float32Array,
  tape: NormTape,
  gamma: Float32Array,
  n: number,
  d: number,
  gOut: Float32Array,
  dGamma: Float32Array,
  dx: Float32Array,
): void {
  const { xhat, invStd } = tape;
  normJacobian(G, null, tape, n, d, gOut); // S G, for now
  const dg = f64(0, d).fill(0);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let sG = 0;
    let sA = 0;
    let sAx = 0;
    let sGx = 0;
    let sGA = 0;
    for (let j = 0; j < d; j++) {
      const gj = G[o + j]!;
      const a = gamma[j]! * u[o + j]!;
      const h = xhat[o + j]!;
      sG += gj;
      sA += a;
      sAx += a * h;
      sGx += gj * h;
      sGA += gj * a;
    }
    const mG = sG / d;
    const mA = sA / d;
    const alpha = sAx / d;
    const beta = sGx / d;
    const c = sGA / d - mG * mA - 3 * alpha * beta;
    const r2 = invStd[i]! * invStd[i]!;
    for (let j = 0; j < d; j++) {
      const a = gamma[j]! * u[o + j]!;
      dx[o + j] = -r2 * (xhat[o + j]! * c + alpha * (G[o + j]! - mG) + beta * (a - mA));
      const sg = gOut[o + j]!;
      dg[j]! += u[o + j]! * sg;
      gOut[o + j] = gamma[j]! * sg;
    }
  }
  for (let j = 0; j < d; j++) dGamma[j] = dg[j]!;
}

/** Features stored [n, c, h, w] (ONNX, the Reshape's C,H,W order) -> [n, h, w, c]. */
export function chwToHwc(x: Float32Array, n: number, c: number, h: number, w: number, out: Float32Array): Float32Array {
  const hw = h * w;
  for (let i = 0; i < n; i++) {
    const b = i * c * hw;
    for (let p = 0; p < hw; p++) for (let ch = 0, o = b + p * c; ch < c; ch++) out[o + ch] = x[b + ch * hw + p]!;
  }
  return out;
}

/** [n, h, w, c] -> [n, c, h, w] (the generator's image, ONNX's layout). */
export function hwcToChw(x: Float32Array, n: number, c: number, h: number, w: number, out: Float32Array): Float32Array {
  const hw = h * w;
  for (let i = 0; i < n; i++) {
    const b = i * c * hw;
    for (let p = 0; p < hw; p++) for (let ch = 0, o = b + p * c; ch < c; ch++) out[b + ch * hw + p] = x[o + ch]!;
  }
  return out;
}
