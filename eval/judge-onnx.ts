// The one ONNX builder of judges, so eval scores with onnxruntime (eval/judge-session.ts): input `image`
// float32 [N, C, H, W] in [-1, 1]; outputs `features` [N, dim] and `probs` [N, K].
import { ELEM, GraphBuilder } from '../common/onnx-graph.js';
import type { ImageShape } from '../common/metadata.js';
import { packageInfo } from '../common/package-info.js';
import type { JudgeModel } from './judge-file.js';
import { featureDim, pooledSize } from './judge-spec.js';

/** A conv kernel stored as tfjs's [k, k, Cin, Cout] (rows (dy, dx, c)) in ONNX's [Cout, Cin, k, k] order. */
export function hwioToOihw(kernel: Float32Array, k: number, cin: number, cout: number): Float32Array {
  if (kernel.length !== k * k * cin * cout) throw new Error(`conv kernel holds ${kernel.length} values, expected ${k}x${k}x${cin}x${cout}`);
  const out = new Float32Array(kernel.length);
  for (let dy = 0; dy < k; dy++) {
    for (let dx = 0; dx < k; dx++) {
      for (let ci = 0; ci < cin; ci++) {
        const row = ((dy * k + dx) * cin + ci) * cout;
        for (let co = 0; co < cout; co++) out[((co * cin + ci) * k + dy) * k + dx] = kernel[row + co]!;
      }
    }
  }
  return out;
}

/** image -> x/2 + 1/2: judges see [0, 1] (a zero background, as their zero padding). */
export function judgeInput(g: GraphBuilder, [c, h, w]: ImageShape): string {
  const x = g.input('image', ELEM.float, ['N', c, h, w]);
  return g.node('Add', [g.node('Mul', [x, g.weight('half', Float32Array.of(0.5), [])]), g.weight('half', Float32Array.of(0.5), [])]);
}

/** Conv (k x k, 'same', stride 1) + ReLU, optionally + 2x2 max pool, from tfjs-layout weights. */
export function convRelu(
  g: GraphBuilder,
  x: string,
  kernel: Float32Array,
  bias: Float32Array,
  k: number,
  cin: number,
  pool: boolean,
): string {
  const cout = bias.length;
  const p = (k - 1) / 2;
  let y = g.node('Conv', [x, g.weight('conv_w', hwioToOihw(kernel, k, cin, cout), [cout, cin, k, k]), g.weight('conv_b', bias, [cout])], {
    kernel_shape: { ints: [k, k] },
    pads: { ints: [p, p, p, p] },
  });
  y = g.node('Relu', [y]);
  return pool ? g.node('MaxPool', [y], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }) : y;
}

/** features -> dense -> softmax `probs`; declares both outputs. */
export function judgeHead(g: GraphBuilder, features: string, dim: number, kernel: Float32Array, bias: Float32Array): Uint8Array {
  const k = bias.length;
  const logits = g.node('Gemm', [features, g.weight('head_w', kernel, [dim, k]), g.weight('head_b', bias, [k])]);
  g.node('Softmax', [logits], { axis: { i: 1 } }, 'probs');
  g.output('features', ELEM.float, ['N', dim]);
  g.output('probs', ELEM.float, ['N', k]);
  return g.model('judge', {}, { name: 'onnxgan', version: packageInfo().version });
}

/**
 * The ONNX graph of a judge (any spec): convs, then the features (a dense ReLU layer over the maps
 * flattened in tfjs's (h, w, c) order, hence the Transpose; or their global average), then the head.
 */
export function judgeOnnx(j: JudgeModel): Uint8Array {
  const { spec, weights: w } = j;
  const image = j.info.imageShape;
  const g = new GraphBuilder();
  let x = judgeInput(g, image);
  let cin = image[0];
  for (const l of spec.convs) {
    x = convRelu(g, x, w[`${l.name}/kernel`]!.values, w[`${l.name}/bias`]!.values, l.kernel, cin, l.pool);
    cin = l.out;
  }
  const f = spec.head.features;
  let features: string;
  if (f === 'global-average') {
    features = g.node('Flatten', [g.node('GlobalAveragePool', [x])], { axis: { i: 1 } }, 'features');
  } else {
    const [h, wd] = pooledSize(spec, image);
    const flat = h * wd * cin;
    const nhwc = g.node('Flatten', [g.node('Transpose', [x], { perm: { ints: [0, 2, 3, 1] } })], { axis: { i: 1 } });
    features = g.node(
      'Relu',
      [
        g.node('Gemm', [
          nhwc,
          g.weight('fc1_w', w[`${f.dense}/kernel`]!.values, [flat, f.size]),
          g.weight('fc1_b', w[`${f.dense}/bias`]!.values, [f.size]),
        ]),
      ],
      {},
      'features',
    );
  }
  return judgeHead(g, features, featureDim(spec), w[`${spec.head.logits}/kernel`]!.values, w[`${spec.head.logits}/bias`]!.values);
}
