// backend/conv-kernels.ts against tfjs's autodiff on the cpu backend (forward, backward, and the
// gradient penalty's double backward as tf.grad of tf.grad), and the wasm kernels registered on them
// (backend/wasm-conv-kernels.ts) against the cpu backend, up to a conv GAN step with a penalty.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backend/select.js';
import { ortGemm } from '../backend/ort-matmul.js';
import { Rng } from '../common/rng.js';
import {
  ConvKernels,
  batchNorm2dBackward,
  batchNorm2dForward,
  channelSums,
  chwToHwc,
  convGeometry,
  convTransposeGeometry,
  hwcToChw,
  layerNormBackward,
  layerNormForward,
  layerNormPenalty,
  type ConvGeometry,
  type NormTape,
} from '../backend/conv-kernels.js';

let k: ConvKernels;
beforeAll(async () => {
  await selectBackend('wasm'); // registers the wasm kernels; references switch to cpu
  await selectBackend('cpu');
  const opened = ortGemm();
  if ('why' in opened) throw new Error(opened.why);
  k = new ConvKernels(opened.gemm);
});

const rng = new Rng(7);
const randn = (size: number): Float32Array => Float32Array.from({ length: size }, () => rng.normal());
const data = (t: tf.Tensor): Float32Array => t.dataSync() as Float32Array;

/** max |got - want| / max |want|: ~1e-7 * sqrt(terms) for float32 sums in another order. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i]! - want[i]!));
    m = Math.max(m, Math.abs(want[i]!));
  }
  return d / Math.max(m, 1e-30);
}
const close = (got: ArrayLike<number>, want: ArrayLike<number> | tf.Tensor, tol = 1e-5): void => {
  expect(relErr(got, want instanceof tf.Tensor ? data(want) : want)).toBeLessThan(tol);
};

type Pads = [number, number, number, number];
const tfPads = ([t, l, b, r]: Pads): [[number, number], [number, number], [number, number], [number, number]] => [
  [0, 0],
  [t, b],
  [l, r],
  [0, 0],
];

/** The tfjs definition of our conv (NHWC, filter [kh, kw, c, o]). */
const tfConv = (x: tf.Tensor, F: tf.Tensor, g: ConvGeometry): tf.Tensor4D =>
  tf.conv2d(x as tf.Tensor4D, F as tf.Tensor4D, [g.sh, g.sw], tfPads(g.pads as Pads));

/** ConvTranspose2D as h-train's layer writes it: the full transposed conv, zero rows for output padding, then the crop. */
function tfConvT(x: tf.Tensor, F: tf.Tensor, s: number, pads: Pads, op: [number, number]): tf.Tensor {
  const [n, h, w] = x.shape as number[];
  const [kh, kw, out] = F.shape as number[];
  const [fh, fw] = [s * (h! - 1) + kh!, s * (w! - 1) + kw!];
  const full = tf.pad(tf.conv2dTranspose(x as tf.Tensor4D, F as tf.Tensor4D, [n!, fh, fw, out!], s, 'valid'), [
    [0, 0],
    [0, op[0]],
    [0, op[1]],
    [0, 0],
  ]);
  const [t, l, b, r] = pads;
  return tf.slice(full, [0, t, l, 0], [n!, fh + op[0] - t - b, fw + op[1] - l - r, out!]);
}

const convCases: { name: string; n: number; h: number; w: number; c: number; o: number; k: number; s: number; pads: Pads }[] = [
  { name: '28 -> 14, k4 s2 p1, RGB', n: 3, h: 28, w: 28, c: 3, o: 5, k: 4, s: 2, pads: [1, 1, 1, 1] },
  { name: '14 -> 7, k4 s2 p1, grey', n: 3, h: 14, w: 14, c: 1, o: 4, k: 4, s: 2, pads: [1, 1, 1, 1] },
  { name: '7x7 k3 s1 p1', n: 3, h: 7, w: 7, c: 3, o: 2, k: 3, s: 1, pads: [1, 1, 1, 1] },
  { name: 'odd 9x7, k3 s2, asymmetric pads', n: 3, h: 9, w: 7, c: 3, o: 3, k: 3, s: 2, pads: [0, 1, 2, 0] },
  {
    name: 'stride 1, fewer outputs than inputs (the full-convolution input gradient), asymmetric pads',
    n: 3,
    h: 9,
    w: 7,
    c: 3,
    o: 1,
    k: 3,
    s: 1,
    pads: [0, 1, 2, 2],
  },
  { name: 'unpadded k2', n: 3, h: 5, w: 5, c: 1, o: 2, k: 2, s: 1, pads: [0, 0, 0, 0] },
  { name: 'pointwise 1x1', n: 3, h: 4, w: 6, c: 3, o: 2, k: 1, s: 1, pads: [0, 0, 0, 0] },
];
const geom = (c: (typeof convCases)[number]): ConvGeometry =>
  convGeometry({ n: c.n, h: c.h, w: c.w, c: c.c, o: c.o, kh: c.k, kw: c.k, sh: c.s, sw: c.s, pads: c.pads });

describe('conv2d on the GEMM', () => {
  for (const c of convCases) {
    it(`forward, input, filter and bias gradients match tfjs: ${c.name}`, () => {
      const g = geom(c);
      const x = randn(c.n * c.h * c.w * c.c);
      const F = randn(g.k * c.o);
      const bias = randn(c.o);
      const dy = randn(g.rows * c.o);
      const y = k.conv2d(x, F, bias, g, new Float32Array(g.rows * c.o));
      const dx = k.conv2dInputGrad(dy, F, g, new Float32Array(x.length));
      const dF = k.conv2dFilterGrad(x, dy, g, new Float32Array(F.length), null);
      const dB = channelSums(dy, g.rows, c.o, new Float32Array(c.o));
      tf.tidy(() => {
        const [xt, Ft, bt, dyt] = [
          tf.tensor4d(x, [c.n, c.h, c.w, c.c]),
          tf.tensor4d(F, [c.k, c.k, c.c, c.o]),
          tf.tensor1d(bias),
          tf.tensor4d(dy, [c.n, g.oh, g.ow, c.o]),
        ];
        const f = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.add(tfConv(a, b, g), d);
        expect([g.oh, g.ow]).toEqual(tfConv(xt, Ft, g).shape.slice(1, 3));
        close(y, f(xt, Ft, bt));
        const [gx, gF, gB] = tf.grads((a, b, d) => tf.sum(tf.mul(f(a!, b!, d!), dyt)))([xt, Ft, bt]);
        close(dx, gx!);
        close(dF, gF!);
        close(dB, gB!);
      });
    });
  }

  it('refuses sizes that do not fit, with the sizes in the message', () => {
    expect(() => convGeometry({ n: 1, h: 2, w: 2, c: 1, o: 1, kh: 4, kw: 4, sh: 1, sw: 1, pads: [0, 0, 0, 0] })).toThrow(
      /4x4 filter does not fit a padded 2x2/,
    );
    expect(() => convGeometry({ n: 1, h: 2.5, w: 2, c: 1, o: 1, kh: 1, kw: 1, sh: 1, sw: 1, pads: [0, 0, 0, 0] })).toThrow(
      /positive integers/,
    );
  });
});

const convTCases: {
  name: string;
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  s: number;
  pads: Pads;
  op: [number, number];
}[] = [
  { name: '7 -> 14, k4 s2 crop 1', n: 3, h: 7, w: 7, cin: 4, cout: 3, k: 4, s: 2, pads: [1, 1, 1, 1], op: [0, 0] },
  { name: '14 -> 28, k4 s2 crop 1, to grey', n: 3, h: 14, w: 14, cin: 3, cout: 1, k: 4, s: 2, pads: [1, 1, 1, 1], op: [0, 0] },
  { name: '4 -> 8, k3 s2 crop 1, output padding 1', n: 3, h: 4, w: 4, cin: 3, cout: 2, k: 3, s: 2, pads: [1, 1, 1, 1], op: [1, 1] },
  {
    name: 'odd 5x3, k3 s2, uncropped, output padding beyond the pads',
    n: 3,
    h: 5,
    w: 3,
    cin: 1,
    cout: 3,
    k: 3,
    s: 2,
    pads: [0, 0, 0, 0],
    op: [1, 1],
  },
];

describe('ConvTranspose2D as the conv input gradient', () => {
  for (const c of convTCases) {
    it(`forward and its gradients match tfjs: ${c.name}`, () => {
      const g = convTransposeGeometry({
        n: c.n,
        h: c.h,
        w: c.w,
        inChannels: c.cin,
        outChannels: c.cout,
        kh: c.k,
        kw: c.k,
        sh: c.s,
        sw: c.s,
        pads: c.pads,
        outputPadding: c.op,
      });
      const x = randn(c.n * c.h * c.w * c.cin);
      const F = randn(c.k * c.k * c.cout * c.cin); // [kh, kw, out, in]
      const bias = randn(c.cout);
      const outSize = c.n * g.h * g.w * c.cout;
      const dy = randn(outSize);
      const y = k.conv2dInputGrad(x, F, g, new Float32Array(outSize));
      for (let i = 0; i < outSize; i++) y[i]! += bias[i % c.cout]!;
      const dx = k.conv2d(dy, F, null, g, new Float32Array(x.length));
      const dF = k.conv2dFilterGrad(dy, x, g, new Float32Array(F.length), null);
      const dB = channelSums(dy, c.n * g.h * g.w, c.cout, new Float32Array(c.cout));
      tf.tidy(() => {
        const [xt, Ft, bt] = [tf.tensor4d(x, [c.n, c.h, c.w, c.cin]), tf.tensor4d(F, [c.k, c.k, c.cout, c.cin]), tf.tensor1d(bias)];
        const f = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.add(tfConvT(a, b, c.s, c.pads, c.op), d);
        const want = f(xt, Ft, bt);
        expect(want.shape).toEqual([c.n, g.h, g.w, c.cout]);
        close(y, want);
        const dyt = tf.tensor(dy, want.shape);
        const [gx, gF, gB] = tf.grads((a, b, d) => tf.sum(tf.mul(f(a!, b!, d!), dyt)))([xt, Ft, bt]);
        close(dx, gx!);
        close(dF, gF!);
        close(dB, gB!);
      });
    });
  }
});

describe('normalisation', () => {
  it('BatchNorm2d (training mode, per channel) forward and backward match tfjs', () => {
    const [n, h, w, c, eps] = [3, 7, 5, 3, 1e-5];
    const rows = n * h * w;
    const x = randn(rows * c).map((v, i) => 2 * v + (i % c)); // channels with different means
    const gamma = randn(c);
    const beta = randn(c);
    const dy = randn(rows * c);
    const tape: NormTape = { xhat: new Float32Array(rows * c), invStd: new Float32Array(c) };
    const [y, mean, variance] = [new Float32Array(rows * c), new Float32Array(c), new Float32Array(c)];
    batchNorm2dForward(x, rows, c, gamma, beta, eps, y, tape, mean, variance);
    const [dx, dG, dB] = [new Float32Array(rows * c), new Float32Array(c), new Float32Array(c)];
    batchNorm2dBackward(dy, tape, gamma, rows, c, dx, dG, dB);
    tf.tidy(() => {
      const xt = tf.tensor4d(x, [n, h, w, c]);
      const f = (a: tf.Tensor, gm: tf.Tensor, bt: tf.Tensor) => {
        const m = tf.moments(a, [0, 1, 2]);
        return tf.add(tf.mul(tf.mul(tf.sub(a, m.mean), tf.rsqrt(tf.add(m.variance, eps))), gm), bt);
      };
      const m = tf.moments(xt, [0, 1, 2]);
      close(mean, m.mean);
      close(variance, m.variance);
      close(y, f(xt, tf.tensor1d(gamma), tf.tensor1d(beta)));
      const [gx, gG, gB] = tf.grads((a, gm, bt) => tf.sum(tf.mul(f(a!, gm!, bt!), tf.tensor4d(dy, [n, h, w, c]))))([
        xt,
        tf.tensor1d(gamma),
        tf.tensor1d(beta),
      ]);
      close(dx, gx!);
      close(dG, gG!);
      close(dB, gB!);
    });
  });

  const [n, h, w, c, eps] = [3, 4, 5, 3, 1e-5];
  const d = h * w * c;
  const tfLayerNorm = (a: tf.Tensor, gm: tf.Tensor, bt: tf.Tensor) => {
    const m = tf.moments(a, [1, 2, 3], true);
    return tf.add(tf.mul(tf.mul(tf.sub(a, m.mean), tf.rsqrt(tf.add(m.variance, eps))), gm), bt);
  };

  it('LayerNorm over [C, H, W] (elementwise affine) forward and backward match tfjs', () => {
    const x = randn(n * d).map((v, i) => 3 * v + Math.floor(i / d)); // samples with different means
    const gamma = randn(d);
    const beta = randn(d);
    const dy = randn(n * d);
    const tape: NormTape = { xhat: new Float32Array(n * d), invStd: new Float32Array(n) };
    const y = new Float32Array(n * d);
    layerNormForward(x, n, d, gamma, beta, eps, y, tape);
    const [dx, dG, dB] = [new Float32Array(n * d), new Float32Array(d), new Float32Array(d)];
    layerNormBackward(dy, tape, gamma, n, d, dx, dG, dB);
    tf.tidy(() => {
      const [xt, gt, bt] = [tf.tensor4d(x, [n, h, w, c]), tf.tensor3d(gamma, [h, w, c]), tf.tensor3d(beta, [h, w, c])];
      close(y, tfLayerNorm(xt, gt, bt));
      const [gx, gG, gB] = tf.grads((a, gm, b) => tf.sum(tf.mul(tfLayerNorm(a!, gm!, b!), tf.tensor4d(dy, [n, h, w, c]))))([xt, gt, bt]);
      close(dx, gx!);
      close(dG, gG!);
      close(dB, gB!);
    });
  });

  it("LayerNorm's penalty pieces match tf.grad of tf.grad", () => {
    const x = randn(n * d).map((v, i) => 3 * v + Math.floor(i / d));
    const gamma = randn(d);
    const beta = randn(d);
    const u = randn(n * d); // the upstream at its output in the input-gradient pass
    const G = randn(n * d); // dP/d(its input gradient)
    const tape: NormTape = { xhat: new Float32Array(n * d), invStd: new Float32Array(n) };
    layerNormForward(x, n, d, gamma, beta, eps, new Float32Array(n * d), tape);
    const [gOut, dG, dx] = [new Float32Array(n * d), new Float32Array(d), new Float32Array(n * d)];
    layerNormPenalty(G, u, tape, gamma, n, d, gOut, dG, dx);
    tf.tidy(() => {
      const shape = [n, h, w, c];
      const [xt, gt, bt, ut, Gt] = [
        tf.tensor(x, shape),
        tf.tensor3d(gamma, [h, w, c]),
        tf.tensor3d(beta, [h, w, c]),
        tf.tensor(u, shape),
        tf.tensor(G, shape),
      ];
      // P = <G, d<u, LN(x)>/dx>
      const P = (a: tf.Tensor, gm: tf.Tensor, up: tf.Tensor) =>
        tf.sum(tf.mul(Gt, tf.grad((z: tf.Tensor) => tf.sum(tf.mul(tfLayerNorm(z, gm, bt), up)))(a)));
      const [px, pg, pu] = tf.grads((a, gm, up) => P(a!, gm!, up!))([xt, gt, ut]);
      close(gOut, pu!);
      close(dG, pg!);
      close(dx, px!, 1e-4); // a difference of near-equal second-order terms
    });
  });
});

describe("the penalty's double backward through linear layers and LeakyReLU", () => {
  it('Conv2D: dP/du = conv2d(G, F), dP/dF = filterGrad(G, u)', () => {
    const g = geom(convCases[0]!);
    const x = randn(g.n * g.h * g.w * g.c);
    const F = randn(g.k * g.o);
    const u = randn(g.rows * g.o);
    const G = randn(x.length);
    const gOut = k.conv2d(G, F, null, g, new Float32Array(u.length));
    const dF = k.conv2dFilterGrad(G, u, g, new Float32Array(F.length), null);
    tf.tidy(() => {
      const [xt, Ft, ut, Gt] = [
        tf.tensor4d(x, [g.n, g.h, g.w, g.c]),
        tf.tensor4d(F, [g.kh, g.kw, g.c, g.o]),
        tf.tensor4d(u, [g.n, g.oh, g.ow, g.o]),
        tf.tensor4d(G, [g.n, g.h, g.w, g.c]),
      ];
      const P = (f: tf.Tensor, up: tf.Tensor) => tf.sum(tf.mul(Gt, tf.grad((z: tf.Tensor) => tf.sum(tf.mul(tfConv(z, f, g), up)))(xt)));
      const [pF, pu] = tf.grads((f, up) => P(f!, up!))([Ft, ut]);
      close(gOut, pu!);
      close(dF, pF!);
    });
  });

  it('ConvTranspose2D: dP/du = its forward of G (no bias), dP/dF = filterGrad(u, G)', () => {
    const c = convTCases[0]!;
    const g = convTransposeGeometry({
      n: c.n,
      h: c.h,
      w: c.w,
      inChannels: c.cin,
      outChannels: c.cout,
      kh: c.k,
      kw: c.k,
      sh: c.s,
      sw: c.s,
      pads: c.pads,
    });
    const x = randn(c.n * c.h * c.w * c.cin);
    const F = randn(c.k * c.k * c.cout * c.cin);
    const u = randn(c.n * g.h * g.w * c.cout);
    const G = randn(x.length);
    const gOut = k.conv2dInputGrad(G, F, g, new Float32Array(u.length));
    const dF = k.conv2dFilterGrad(u, G, g, new Float32Array(F.length), null);
    tf.tidy(() => {
      const [xt, Ft, ut, Gt] = [
        tf.tensor4d(x, [c.n, c.h, c.w, c.cin]),
        tf.tensor4d(F, [c.k, c.k, c.cout, c.cin]),
        tf.tensor4d(u, [c.n, g.h, g.w, c.cout]),
        tf.tensor4d(G, [c.n, c.h, c.w, c.cin]),
      ];
      const P = (f: tf.Tensor, up: tf.Tensor) =>
        tf.sum(tf.mul(Gt, tf.grad((z: tf.Tensor) => tf.sum(tf.mul(tfConvT(z, f, c.s, c.pads, c.op), up)))(xt)));
      const [pF, pu] = tf.grads((f, up) => P(f!, up!))([Ft, ut]);
      close(gOut, pu!);
      close(dF, pF!);
    });
  });

  it('LeakyReLU: dP/du = G * slope and no second-order term', () => {
    const x = randn(60);
    const u = randn(60);
    const G = randn(60);
    tf.tidy(() => {
      const Gt = tf.tensor1d(G);
      const P = (a: tf.Tensor, up: tf.Tensor) =>
        tf.sum(
          tf.mul(
            Gt,
            tf.grad(
              (z: tf.Tensor) =>
                tf.sum(
                  tf.mul(tf.add(tf.mul(z, 0.2), tf.mul(tf.relu(z), 0.8)), up),
                ) /* train/layers.ts's form: tf.leakyRelu has no second derivative */,
            )(a),
          ),
        );
      const [px, pu] = tf.grads((a, up) => P(a!, up!))([tf.tensor1d(x), tf.tensor1d(u)]);
      close(
        data(pu!),
        G.map((v, i) => v * (x[i]! > 0 ? 1 : 0.2)),
      );
      expect(Array.from(data(px!)).every((v) => v === 0)).toBe(true);
    });
  });
});

describe('layout at the ends', () => {
  it('C,H,W features to NHWC as tfjs transposes them, and back', () => {
    const [n, c, h, w] = [3, 3, 4, 5];
    const x = randn(n * c * h * w);
    const hwc = chwToHwc(x, n, c, h, w, new Float32Array(x.length));
    close(
      hwc,
      tf.tidy(() => tf.transpose(tf.tensor4d(x, [n, c, h, w]), [0, 2, 3, 1])),
      1e-12,
    );
    expect(Array.from(hwcToChw(hwc, n, c, h, w, new Float32Array(x.length)))).toEqual(Array.from(x));
  });
});

/** fn's outputs' values on `backend` (inputs made there from plain arrays). */
async function on(backend: 'cpu' | 'wasm', fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  try {
    return tf.tidy(fn).map((t) => {
      const v = data(t).slice();
      t.dispose();
      return v;
    });
  } finally {
    await tf.setBackend('cpu');
  }
}

async function sameOnWasm(fn: () => tf.Tensor[], tol = 1e-5): Promise<void> {
  const want = await on('cpu', fn);
  const got = await on('wasm', fn);
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(relErr(g, want[i]!), `output ${i}`).toBeLessThan(tol));
}

describe('the wasm backend with our kernels', () => {
  it('registers Conv2DBackpropFilter and UnsortedSegmentSum, which tfjs-backend-wasm lacks', () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
  });

  for (const c of [convCases[0]!, convCases[3]!]) {
    it(`Conv2DBackpropFilter and Conv2DBackpropInput agree with cpu: ${c.name}`, async () => {
      const g = geom(c);
      const [x, F, dy] = [randn(c.n * c.h * c.w * c.c), randn(g.k * c.o), randn(g.rows * c.o)];
      await sameOnWasm(() => {
        const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.c]);
        const dyt = tf.tensor4d(dy, [c.n, g.oh, g.ow, c.o]);
        const Ft = tf.tensor4d(F, [c.k, c.k, c.c, c.o]);
        const attrs = { strides: [g.sh, g.sw], pad: tfPads(c.pads), dataFormat: 'NHWC', dimRoundingMode: undefined };
        const run = (name: string, inputs: tf.NamedTensorMap, more: object): tf.Tensor =>
          tf.engine().runKernel(name, inputs, { ...attrs, ...more } as unknown as tf.NamedAttrMap) as tf.Tensor;
        return [
          run('Conv2DBackpropFilter', { x: xt, dy: dyt }, { filterShape: Ft.shape }),
          run('Conv2DBackpropInput', { dy: dyt, filter: Ft }, { inputShape: xt.shape }),
        ];
      });
    });
  }

  it("'same' padding and the gradient of tf.gather (a label embedding) agree with cpu", async () => {
    const [x, F, table] = [randn(3 * 9 * 9 * 2), randn(3 * 3 * 2 * 4), randn(10 * 5)];
    const labels = Int32Array.from([3, 0, 3, 9, 1]);
    await sameOnWasm(() => {
      const xt = tf.tensor4d(x, [3, 9, 9, 2]);
      const [gx, gF] = tf.grads((a, f) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 2, 'same'))))([
        xt,
        tf.tensor4d(F, [3, 3, 2, 4]),
      ]);
      const gT = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d(labels, 'int32')), tf.range(0, 25).reshape([5, 5]))))(
        tf.tensor2d(table, [10, 5]),
      );
      return [gx!, gF!, gT];
    });
  });

  it('autodiff of a conditional DCGAN critic loss with a gradient penalty agrees with cpu', async () => {
    const n = 3;
    const shapes: Record<string, number[]> = {
      table: [10, 4],
      gW: [12, 7 * 7 * 4],
      gB: [7 * 7 * 4],
      t1: [4, 4, 3, 4],
      gamma: [3],
      beta: [3],
      t2: [4, 4, 1, 3],
      t2b: [1],
      c1: [4, 4, 1, 4],
      c1b: [4],
      c2: [4, 4, 4, 4],
      c2b: [4],
      lnG: [7, 7, 4],
      lnB: [7, 7, 4],
      dW: [196, 1],
      dB: [1],
    };
    const init = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, randn(s.reduce((a, b) => a * b, 1)).map((v) => 0.3 * v)]));
    const [z, real, eps] = [
      randn(n * 8),
      randn(n * 28 * 28).map((v) => Math.tanh(v)),
      Float32Array.from({ length: n }, () => rng.uniform()),
    ];
    const labels = Int32Array.from([2, 7, 2]);
    const leaky = (t: tf.Tensor) => tf.add(tf.mul(t, 0.2), tf.mul(tf.relu(t), 0.8));
    await sameOnWasm(() => {
      const p = Object.fromEntries(Object.entries(init).map(([k, v]) => [k, tf.tensor(v, shapes[k])]));
      const names = Object.keys(p);
      const generator = (q: Record<string, tf.Tensor>): tf.Tensor => {
        const h = tf.concat([tf.tensor2d(z, [n, 8]), tf.gather(q.table!, tf.tensor1d(labels, 'int32'))], 1);
        const d = tf.transpose(
          tf.reshape(tf.relu(tf.add(tf.matMul(h as tf.Tensor2D, q.gW as tf.Tensor2D), q.gB!)), [n, 4, 7, 7]),
          [0, 2, 3, 1],
        );
        const a = tfConvT(d, q.t1!, 2, [1, 1, 1, 1], [0, 0]); // no bias before a batch norm (its gradient is 0)
        const m = tf.moments(a, [0, 1, 2]);
        const b = tf.relu(tf.add(tf.mul(tf.mul(tf.sub(a, m.mean), tf.rsqrt(tf.add(m.variance, 1e-5))), q.gamma!), q.beta!));
        return tf.tanh(tf.add(tfConvT(b, q.t2!, 2, [1, 1, 1, 1], [0, 0]), q.t2b!));
      };
      const critic = (q: Record<string, tf.Tensor>, x: tf.Tensor): tf.Tensor => {
        const pad = tfPads([1, 1, 1, 1]);
        const a = leaky(tf.add(tf.conv2d(x as tf.Tensor4D, q.c1 as tf.Tensor4D, 2, pad), q.c1b!));
        const b = tf.add(tf.conv2d(a as tf.Tensor4D, q.c2 as tf.Tensor4D, 2, pad), q.c2b!);
        const m = tf.moments(b, [1, 2, 3], true);
        const c = leaky(tf.add(tf.mul(tf.mul(tf.sub(b, m.mean), tf.rsqrt(tf.add(m.variance, 1e-5))), q.lnG!), q.lnB!));
        return tf.add(tf.matMul(tf.reshape(c, [n, 196]) as tf.Tensor2D, q.dW as tf.Tensor2D), q.dB!);
      };
      const loss = (...vs: tf.Tensor[]): tf.Scalar => {
        const q = Object.fromEntries(names.map((k, i) => [k, vs[i]!]));
        const fake = generator(q);
        const x = tf.tensor4d(real, [n, 28, 28, 1]);
        const e = tf.tensor4d(eps, [n, 1, 1, 1]);
        const mix = tf.add(tf.mul(e, x), tf.mul(tf.sub(1, e), fake));
        const gx = tf.grad((t: tf.Tensor) => tf.sum(critic(q, t)))(mix);
        const norm = tf.sqrt(tf.add(tf.sum(tf.square(gx), [1, 2, 3]), 1e-12));
        const gp = tf.mean(tf.square(tf.sub(norm, 1)));
        return tf.add(tf.sub(tf.mean(critic(q, fake)), tf.mean(critic(q, x))), tf.mul(gp, 10)) as tf.Scalar;
      };
      const { value, grads } = tf.valueAndGrads(loss)(names.map((k) => p[k]!));
      return [value, ...grads];
    }, 1e-4);
  });
});
