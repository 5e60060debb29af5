// onnxgan convert on GraphModels: TensorFlow graphs in the form tensorflowjs_converter writes from a
// SavedModel (grappler's fused ops, shapes computed at run time, constants in the weights
// manifest), loaded and run by @tensorflow/tfjs-converter as the reference.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select.js';
import { onnx } from '../common/onnx-graph.js';
import { fillUniform, Rng } from '../common/rng.js';
import { convertModel } from '../convert/convert.js';
import { readModelInfo } from '../export/onnx-read.js';
import { attr, GraphDefBuilder } from './helpers/graph-models.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { artifactsFromDir } from './helpers/tfjs-models.js';

const tmp = tempDir('onnxgan-convert-graph-');
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

function onnxCheck(file: string): void {
  execFileSync('/usr/bin/python3', ['-c', 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)', file], { stdio: 'pipe' });
}

const conv = (strides: number[], padding: string) => ({ strides: attr.ints(strides), padding: attr.s(padding), data_format: attr.s('NHWC'), dilations: attr.ints([1, 1, 1, 1]) });
const int32 = { T: attr.type('DT_INT32') };

/** A DCGAN-style conditional generator graph: embedding lookup x noise, fused dense, a reshape and transposed convolutions sized from the batch at run time. */
function generatorGraph(): GraphDefBuilder {
  const P = 'StatefulPartitionedCall/generator';
  const g = new GraphDefBuilder(2);
  g.placeholder('z', [-1, 16]);
  g.placeholder('label', [-1], 'DT_INT32');
  const emb = g.op(`${P}/embedding/embedding_lookup`, 'GatherV2', [g.constant(`${P}/embedding/embeddings`, [10, 16]), 'label', g.ints(`${P}/embedding/axis`, [0], [])], { Tparams: attr.type('DT_FLOAT'), Tindices: attr.type('DT_INT32'), batch_dims: attr.i(0) });
  const h = g.op(`${P}/multiply/mul`, 'Mul', ['z', emb]);
  const dense = g.op(`${P}/dense/BiasAdd`, '_FusedMatMul', [h, g.constant(`${P}/dense/MatMul/ReadVariableOp`, [16, 128]), g.constant(`${P}/dense/BiasAdd/ReadVariableOp`, [128])], { fused_ops: attr.strings(['BiasAdd']), num_args: attr.i(1), transpose_a: attr.b(false), transpose_b: attr.b(false) });
  const shape = g.op(`${P}/reshape/Shape`, 'Shape', [dense], { out_type: attr.type('DT_INT32') });
  const batch = g.op(`${P}/reshape/strided_slice`, 'StridedSlice', [shape, g.ints(`${P}/reshape/stack`, [0]), g.ints(`${P}/reshape/stack_1`, [1]), g.ints(`${P}/reshape/stack_2`, [1])], { ...int32, Index: attr.type('DT_INT32'), shrink_axis_mask: attr.i(1) });
  const dims = (name: string, ...d: number[]) => g.op(name, 'Pack', [batch, ...d.map((v, i) => g.ints(`${name}/${i + 1}`, [v], []))], { ...int32, N: attr.i(4), axis: attr.i(0) });
  const reshaped = g.op(`${P}/reshape/Reshape`, 'Reshape', [dense, dims(`${P}/reshape/Reshape/shape`, 4, 4, 8)], { Tshape: attr.type('DT_INT32') });
  const bn = g.op(`${P}/batch_normalization/FusedBatchNormV3`, 'FusedBatchNormV3', [reshaped, g.positive(`${P}/bn/gamma`, [8]), g.constant(`${P}/bn/beta`, [8]), g.constant(`${P}/bn/mean`, [8]), g.positive(`${P}/bn/var`, [8])], { epsilon: attr.f(0.001), data_format: attr.s('NHWC'), is_training: attr.b(false), U: attr.type('DT_FLOAT') });
  const act = g.op(`${P}/leaky_re_lu/LeakyRelu`, 'LeakyRelu', [bn], { alpha: attr.f(0.2) });
  const up1 = g.op(`${P}/conv2d_transpose/conv2d_transpose`, 'Conv2DBackpropInput', [dims(`${P}/conv2d_transpose/stack`, 8, 8, 4), g.constant(`${P}/conv2d_transpose/kernel`, [4, 4, 4, 8]), act], conv([1, 2, 2, 1], 'SAME'));
  const relu = g.op(`${P}/re_lu/Relu`, 'Relu', [g.op(`${P}/conv2d_transpose/BiasAdd`, 'BiasAdd', [up1, g.constant(`${P}/conv2d_transpose/bias`, [4])], { data_format: attr.s('NHWC') })]);
  const up2 = g.op(`${P}/conv2d_transpose_1/conv2d_transpose`, 'Conv2DBackpropInput', [dims(`${P}/conv2d_transpose_1/stack`, 16, 16, 1), g.constant(`${P}/conv2d_transpose_1/kernel`, [5, 5, 1, 4]), relu], conv([1, 2, 2, 1], 'SAME'));
  const out = g.op(`${P}/conv2d_transpose_1/Tanh`, 'Tanh', [g.op(`${P}/conv2d_transpose_1/BiasAdd`, 'BiasAdd', [up2, g.constant(`${P}/conv2d_transpose_1/bias`, [1])], { data_format: attr.s('NHWC') })]);
  g.op('Identity', 'Identity', [out]);
  return g;
}

/** A MobileNet-style classifier graph, and a second output through the other supported ops. */
function classifierGraph(): GraphDefBuilder {
  const P = 'StatefulPartitionedCall/model';
  const g = new GraphDefBuilder(3);
  g.placeholder('input_1', [-1, 16, 16, 3]);
  const pad = g.op(`${P}/pad/Pad`, 'Pad', ['input_1', g.ints(`${P}/pad/paddings`, [0, 0, 0, 1, 0, 1, 0, 0], [4, 2])], { Tpaddings: attr.type('DT_INT32') });
  const fused = (fusedOps: string[]) => ({ fused_ops: attr.strings(fusedOps), num_args: attr.i(1), epsilon: attr.f(0), explicit_paddings: attr.ints([]) });
  const stem = g.op(`${P}/conv1/Relu6`, '_FusedConv2D', [pad, g.constant(`${P}/conv1/kernel`, [3, 3, 3, 8]), g.constant(`${P}/conv1/bias`, [8])], { ...conv([1, 2, 2, 1], 'VALID'), ...fused(['BiasAdd', 'Relu6']) });
  const dw = g.op(`${P}/dw/Relu6`, 'FusedDepthwiseConv2dNative', [stem, g.constant(`${P}/dw/kernel`, [3, 3, 8, 1]), g.constant(`${P}/dw/bias`, [8])], { ...conv([1, 1, 1, 1], 'SAME'), ...fused(['BiasAdd', 'Relu6']) });
  const pw = g.op(`${P}/pw/BiasAdd`, 'BiasAdd', [g.op(`${P}/pw/Conv2D`, 'Conv2D', [dw, g.constant(`${P}/pw/kernel`, [1, 1, 8, 8])], conv([1, 1, 1, 1], 'SAME')), g.constant(`${P}/pw/bias`, [8])], { data_format: attr.s('NHWC') });
  const residual = g.op(`${P}/add/add`, 'AddV2', [pw, stem]);
  const dw2 = g.op(`${P}/dw2/depthwise`, 'DepthwiseConv2dNative', [residual, g.constant(`${P}/dw2/kernel`, [3, 3, 8, 2])], conv([1, 2, 2, 1], 'SAME'));
  const elu = g.op(`${P}/dw2/Elu`, '_FusedConv2D', [dw2, g.constant(`${P}/c3/kernel`, [3, 3, 16, 16]), g.constant(`${P}/c3/bias`, [16])], { ...conv([1, 1, 1, 1], 'SAME'), ...fused(['BiasAdd', 'Elu']) });
  const mp = g.op(`${P}/mp/MaxPool`, 'MaxPool', [elu], { ksize: attr.ints([1, 2, 2, 1]), strides: attr.ints([1, 1, 1, 1]), padding: attr.s('SAME'), data_format: attr.s('NHWC') });
  const ap = g.op(`${P}/ap/AvgPool`, 'AvgPool', [g.op(`${P}/mirror/MirrorPad`, 'MirrorPad', [mp, g.ints(`${P}/mirror/paddings`, [0, 0, 1, 1, 1, 1, 0, 0], [4, 2])], { mode: attr.s('REFLECT'), Tpaddings: attr.type('DT_INT32') })], { ksize: attr.ints([1, 3, 3, 1]), strides: attr.ints([1, 1, 1, 1]), padding: attr.s('VALID'), data_format: attr.s('NHWC') });
  const mean = g.op(`${P}/gap/Mean`, 'Mean', [ap, g.ints(`${P}/gap/Mean/reduction_indices`, [1, 2])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') });
  const logits = g.op(`${P}/dense/BiasAdd`, '_FusedMatMul', [mean, g.constant(`${P}/dense/kernel`, [16, 5]), g.constant(`${P}/dense/bias`, [5])], { fused_ops: attr.strings(['BiasAdd']), num_args: attr.i(1), transpose_a: attr.b(false), transpose_b: attr.b(false) });
  g.op('Identity', 'Identity', [g.op(`${P}/dense/Softmax`, 'Softmax', [logits])]);
  // Second output: reductions, transposes, slicing, concatenation and elementwise math.
  const M = `${P}/misc`;
  const rs = g.op(`${M}/Rsqrt`, 'Rsqrt', [g.op(`${M}/add1`, 'AddV2', [g.op(`${M}/Square`, 'Square', [mean]), g.constant(`${M}/one`, [], [1])])]);
  const mx = g.op(`${M}/Max`, 'Max', [residual, g.ints(`${M}/maxaxes`, [3])], { keep_dims: attr.b(true), Tidx: attr.type('DT_INT32') });
  const sum = g.op(`${M}/Sum`, 'Sum', [mx, g.ints(`${M}/sumaxes`, [1])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') });
  const tr = g.op(`${M}/Transpose`, 'Transpose', [sum, g.ints(`${M}/perm`, [0, 2, 1])], { Tperm: attr.type('DT_INT32') });
  const sl = g.op(`${M}/strided`, 'StridedSlice', [tr, g.ints(`${M}/b`, [0, 0, 1]), g.ints(`${M}/e`, [0, 0, 7]), g.ints(`${M}/s`, [1, 1, 2])], { Index: attr.type('DT_INT32'), begin_mask: attr.i(3), end_mask: attr.i(3) });
  const flat = g.op(`${M}/flat`, 'Reshape', [sl, g.ints(`${M}/flatshape`, [-1, 3])], { Tshape: attr.type('DT_INT32') });
  const cat = g.op(`${M}/concat`, 'ConcatV2', [flat, rs, g.ints(`${M}/concat/axis`, [-1], [])], { N: attr.i(2), Tidx: attr.type('DT_INT32') });
  const ex = g.op(`${M}/exp`, 'Exp', [g.op(`${M}/neg`, 'Neg', [g.op(`${M}/abs`, 'Abs', [cat])])]);
  const sq = g.op(`${M}/squeeze`, 'Squeeze', [g.op(`${M}/expand`, 'ExpandDims', [ex, g.ints(`${M}/ed`, [1], [])], { Tdim: attr.type('DT_INT32') })], { squeeze_dims: attr.ints([1]) });
  const lg = g.op(`${M}/log`, 'Log', [g.op(`${M}/sqrt`, 'Sqrt', [g.op(`${M}/max2`, 'Maximum', [sq, g.constant(`${M}/tiny`, [], [0.1])])])]);
  const mn = g.op(`${M}/min`, 'Minimum', [lg, g.op(`${M}/div`, 'RealDiv', [g.op(`${M}/sub`, 'Sub', [lg, sq]), g.constant(`${M}/two`, [], [2])])]);
  const picked = g.op(`${M}/gather`, 'GatherV2', [g.op(`${M}/sig`, 'Sigmoid', [mn]), g.ints(`${M}/idx`, [0, 18, 3]), g.ints(`${M}/gaxis`, [1], [])], { Tparams: attr.type('DT_FLOAT'), Tindices: attr.type('DT_INT32'), batch_dims: attr.i(0) });
  const cast = g.op(`${M}/cast`, 'Cast', [g.op(`${M}/tocast`, 'Cast', [g.op(`${M}/scaled`, 'Mul', [picked, g.constant(`${M}/ten`, [], [10])])], { SrcT: attr.type('DT_FLOAT'), DstT: attr.type('DT_INT32') })], { SrcT: attr.type('DT_INT32'), DstT: attr.type('DT_FLOAT') });
  const packed = g.op(`${M}/pack`, 'Pack', [cast, g.op(`${M}/tanh`, 'Tanh', [picked])], { N: attr.i(2), axis: attr.i(1) });
  g.op('Identity_1', 'Identity', [g.op(`${M}/relu`, 'Relu', [g.op(`${M}/flat2`, 'Reshape', [packed, g.ints(`${M}/flat2shape`, [-1, 6])], { Tshape: attr.type('DT_INT32') })])]);
  return g;
}

/** tfjs (loading the files itself) against the ONNX file at `batch` rows. */
async function maxDiff(dir: string, file: string, feeds: Record<string, { data: Float32Array | Int32Array; shape: number[] }>): Promise<number> {
  const model = await tf.loadGraphModel(tf.io.fromMemory(await artifactsFromDir(dir)));
  const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, tf.tensor(v.data, v.shape, v.data instanceof Int32Array ? 'int32' : 'float32')]));
  const y = model.execute(inputs, model.outputNodes);
  const want = (Array.isArray(y) ? y : [y]).map((t) => ({ data: t.dataSync(), shape: t.shape }));
  tf.dispose([...Object.values(inputs), ...(Array.isArray(y) ? y : [y])]);
  model.dispose();
  const session = await ort.InferenceSession.create(file);
  const got = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.data instanceof Int32Array ? 'int32' : 'float32', v.data, v.shape)])));
  await session.release();
  let max = 0;
  session.outputNames.forEach((name, i) => {
    expect(got[name]!.dims).toEqual(want[i]!.shape);
    for (let k = 0; k < want[i]!.data.length; k++) max = Math.max(max, Math.abs(Number(got[name]!.data[k]) - want[i]!.data[k]!) / Math.max(1, Math.abs(want[i]!.data[k]!)));
  });
  return max;
}

beforeAll(async () => {
  await selectBackend('auto');
});

describe('onnxgan convert: GraphModels', () => {
  it('converts a DCGAN generator graph with a batch-sized reshape and transposed convolutions, also as an onnxgan generator', async () => {
    const dir = path.join(tmp, 'generator');
    generatorGraph().write(dir, { conv2d_transpose_1: 'Identity' });
    const out = path.join(tmp, 'generator.onnx');
    const r = await convertModel(dir, out);
    expect(r.format).toBe('graph-model');
    expect(r.maxDiff).toBeLessThan(1e-4);
    expect(r.io).toEqual({
      inputs: [{ name: 'z', dtype: 'float32', shape: [null, 16] }, { name: 'label', dtype: 'int32', shape: [null] }],
      outputs: [{ name: 'conv2d_transpose_1', dtype: 'float32', shape: [null, 16, 16, 1] }],
    });
    onnxCheck(out);
    const rng = new Rng(5);
    for (const n of [1, 6]) {
      const feeds = { z: { data: fillUniform(rng, new Float32Array(n * 16)), shape: [n, 16] }, label: { data: Int32Array.from({ length: n }, (_, i) => i % 10), shape: [n] } };
      expect(await maxDiff(dir, out, feeds)).toBeLessThan(1e-4);
    }
    const gen = path.join(tmp, 'generator-onnxgan.onnx');
    const g = await runCli(['convert', path.join(dir, 'model.json'), '--out', gen, '--as-generator', '--classes', DIGITS.join(',')]);
    expect(g.code, g.stderr).toBe(0);
    onnxCheck(gen);
    expect(readModelInfo(gen).metadata).toMatchObject({ kind: 'cgan', noiseDim: 16, classes: DIGITS, imageShape: [1, 16, 16], dataset: 'generator' });
  });

  it('converts a MobileNet-style classifier graph and every op of a second output, with uint8 weights', async () => {
    for (const quantize of [undefined, { dtype: 'uint8' as const, match: /kernel/ }, { dtype: 'float16' as const }]) {
      const dir = path.join(tmp, `classifier-${quantize?.dtype ?? 'fp32'}`);
      classifierGraph().write(dir, { output_0: 'Identity', output_1: 'Identity_1' }, { quantize, shardBytes: 2048 });
      const out = `${dir}.onnx`;
      const r = await convertModel(dir, out);
      expect(r.maxDiff).toBeLessThan(1e-4);
      expect(r.io.outputs.map((o) => [o.name, o.shape])).toEqual([['output_0', [null, 5]], ['output_1', [null, 6]]]);
      onnxCheck(out);
      const n = 4;
      expect(await maxDiff(dir, out, { input_1: { data: fillUniform(new Rng(8), new Float32Array(n * 16 * 16 * 3)), shape: [n, 16, 16, 3] } })).toBeLessThan(1e-4);
      // NHWC in, NCHW convolutions inside: the input is transposed once, not around every convolution.
      const ops = onnx.ModelProto.decode(readFileSync(out)).graph!.node!.map((x) => x.opType);
      expect(ops.filter((o) => o === 'Conv')).toHaveLength(5);
      expect(ops.filter((o) => o === 'Transpose').length).toBeLessThanOrEqual(3);
    }
  });

  it('refuses an op it does not know, naming the op, the node and its position, and writes nothing', async () => {
    const g = new GraphDefBuilder();
    g.placeholder('x', [-1, 4]);
    const y = g.op('model/cumsum', 'Cumsum', ['x', g.ints('model/axis', [1], [])], { exclusive: attr.b(false), reverse: attr.b(false) });
    g.op('Identity', 'Identity', [y]);
    const dir = path.join(tmp, 'cumsum');
    g.write(dir, { out: 'Identity' });
    const out = path.join(tmp, 'cumsum.onnx');
    const r = await runCli(['convert', dir, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unsupported op Cumsum: node 3 of 4 \("model\/cumsum"\); supported: Placeholder, Const, NoOp, Identity/);
    expect(existsSync(out)).toBe(false);
  });
});
