// ONNX graphs of the judges, so eval scores with onnxruntime (eval/judge-session.ts): input `image`
// float32 [N, C, H, W] in [-1, 1]; outputs `features` [N, dim] and `probs` [N, K].
import { ELEM, GraphBuilder } from '../common/onnx-graph.js';
import type { ImageShape } from '../common/metadata.js';
import { packageInfo } from '../common/package-info.js';
import type { JudgeData } from './judge.js';

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

/** image -> x/2 + 1/2: both judges see [0, 1] (a zero background, as their zero padding). */
export function judgeInput(g: GraphBuilder, [c, h, w]: ImageShape): string {
  const x = g.input('image', ELEM.float, ['N', c, h, w]);
  return g.node('Add', [g.node('Mul', [x, g.weight('half', Float32Array.of(0.5), [])]), g.weight('half', Float32Array.of(0.5), [])]);
}

/** Conv (k x k, 'same', stride 1) + ReLU, optionally + 2x2 max pool, from tfjs-layout weights. */
export function convRelu(g: GraphBuilder, x: string, kernel: Float32Array, bias: Float32Array, k: number, cin: number, pool: boolean): string {
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
 * The select judge (eval/judge.ts): conv3x3 ReLU pool, conv3x3 ReLU pool, dense ReLU [features],
 * dense. Its dense layer reads the pooled maps in tfjs's (h, w, c) order, hence the Transpose.
 * Sizes come from the weights, so any channel count and image size the judge was built for works.
 */
export function selectJudgeOnnx(w: JudgeData['values'], imageShape: ImageShape): Uint8Array {
  const g = new GraphBuilder();
  const c1 = w['conv1/bias'].length;
  const c2 = w['conv2/bias'].length;
  const dim = w['fc1/bias'].length;
  let x = judgeInput(g, imageShape);
  x = convRelu(g, x, w['conv1/kernel'], w['conv1/bias'], 3, imageShape[0], true);
  x = convRelu(g, x, w['conv2/kernel'], w['conv2/bias'], 3, c1, true);
  const flat = w['fc1/kernel'].length / dim;
  if (flat !== Math.floor(Math.floor(imageShape[1] / 2) / 2) * Math.floor(Math.floor(imageShape[2] / 2) / 2) * c2) {
    throw new Error(`select judge: its dense layer reads ${flat} values, not the pooled maps of a ${imageShape.join('x')} image`);
  }
  const nhwc = g.node('Flatten', [g.node('Transpose', [x], { perm: { ints: [0, 2, 3, 1] } })], { axis: { i: 1 } });
  const features = g.node('Relu', [g.node('Gemm', [nhwc, g.weight('fc1_w', w['fc1/kernel'], [flat, dim]), g.weight('fc1_b', w['fc1/bias'], [dim])])], {}, 'features');
  return judgeHead(g, features, dim, w['fc2/kernel'], w['fc2/bias']);
}
