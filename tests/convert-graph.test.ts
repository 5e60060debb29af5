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
  execFileSync(
    '/usr/bin/python3',
    ['-c', 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)', file],
    { stdio: 'pipe' },
  );
}

const conv = (strides: number[], padding: string) => ({
  strides: attr.ints(strides),
  padding: attr.s(padding),
  data_format: attr.s('NHWC'),
  dilations: attr.ints([1, 1, 1, 1]),
});
const int32 = { T: attr.type('DT_INT32') };

/**
 * A DCGAN-style conditional generator graph: embedding lookup x noise, fused dense, a reshape and transposed
 * convolutions sized from the batch at run time.
 */
function generatorGraph(): GraphDefBuilder {
  const P = 'StatefulPartitionedCall/generator';
  const g = new GraphDefBuilder(2);
  g.placeholder('z', [-1, 16]);
  g.placeholder('label', [-1], 'DT_INT32');
  const emb = g.op(
    `${P}/embedding/embedding_lookup`,
    'GatherV2',
    [g.constant(`${P}/embedding/embeddings`, [10, 16]), 'label', g.ints(`${P}/embedding/axis`, [0], [])],
    { Tparams: attr.type('DT_FLOAT'), Tindices: attr.type('DT_INT32'), batch_dims: attr.i(0) },
  );
  const h = g.op(`${P}/multiply/mul`, 'Mul', ['z', emb]);
  const dense = g.op(
    `${P}/dense/BiasAdd`,
    '_FusedMatMul',
    [h, g.constant(`${P}/dense/MatMul/ReadVariableOp`, [16, 128]), g.constant(`${P}/dense/BiasAdd/ReadVariableOp`, [128])],
    { fused_ops: attr.strings(['BiasAdd']), num_args: attr.i(1), transpose_a: attr.b(false), transpose_b: attr.b(false) },
  );
  const shape = g.op(`${P}/reshape/Shape`, 'Shape', [dense], { out_type: attr.type('DT_INT32') });
  const batch = g.op(
    `${P}/reshape/strided_slice`,
    'StridedSlice',
    [shape, g.ints(`${P}/reshape/stack`, [0]), g.ints(`${P}/reshape/stack_1`, [1]), g.ints(`${P}/reshape/stack_2`, [1])],
    { ...int32, Index: attr.type('DT_INT32'), shrink_axis_mask: attr.i(1) },
  );
  const dims = (name: string, ...d: number[]) =>
    g.op(name, 'Pack', [batch, ...d.map((v, i) => g.ints(`${name}/${i + 1}`, [v], []))], { ...int32, N: attr.i(4), axis: attr.i(0) });
  const reshaped = g.op(`${P}/reshape/Reshape`, 'Reshape', [dense, dims(`${P}/reshape/Reshape/shape`, 4, 4, 8)], {
    Tshape: attr.type('DT_INT32'),
  });
  const bn = g.op(
    `${P}/batch_normalization/FusedBatchNormV3`,
    'FusedBatchNormV3',
    [
      reshaped,
      g.positive(`${P}/bn/gamma`, [8]),
      g.constant(`${P}/bn/beta`, [8]),
      g.constant(`${P}/bn/mean`, [8]),
      g.positive(`${P}/bn/var`, [8]),
    ],
    { epsilon: attr.f(0.001), data_format: attr.s('NHWC'), is_training: attr.b(false), U: attr.type('DT_FLOAT') },
  );
  const act = g.op(`${P}/leaky_re_lu/LeakyRelu`, 'LeakyRelu', [bn], { alpha: attr.f(0.2) });
  const up1 = g.op(
    `${P}/conv2d_transpose/conv2d_transpose`,
    'Conv2DBackpropInput',
    [dims(`${P}/conv2d_transpose/stack`, 8, 8, 4), g.constant(`${P}/conv2d_transpose/kernel`, [4, 4, 4, 8]), act],
    conv([1, 2, 2, 1], 'SAME'),
  );
  const relu = g.op(`${P}/re_lu/Relu`, 'Relu', [
    g.op(`${P}/conv2d_transpose/BiasAdd`, 'BiasAdd', [up1, g.constant(`${P}/conv2d_transpose/bias`, [4])], { data_format: attr.s('NHWC') }),
  ]);
  const up2 = g.op(
    `${P}/conv2d_transpose_1/conv2d_transpose`,
    'Conv2DBackpropInput',
    [dims(`${P}/conv2d_transpose_1/stack`, 16, 16, 1), g.constant(`${P}/conv2d_transpose_1/kernel`, [5, 5, 1, 4]), relu],
    conv([1, 2, 2, 1], 'SAME'),
  );
  const out = g.op(`${P}/conv2d_transpose_1/Tanh`, 'Tanh', [
    g.op(`${P}/conv2d_transpose_1/BiasAdd`, 'BiasAdd', [up2, g.constant(`${P}/conv2d_transpose_1/bias`, [1])], {
      data_format: attr.s('NHWC'),
    }),
  ]);
  g.op('Identity', 'Identity', [out]);
  return g;
}

/** A MobileNet-style classifier graph, and a second output through the other supported ops. */
function classifierGraph(): GraphDefBuilder {
  const P = 'StatefulPartitionedCall/model';
  const g = new GraphDefBuilder(3);
  g.placeholder('input_1', [-1, 16, 16, 3]);
  const pad = g.op(`${P}/pad/Pad`, 'Pad', ['input_1', g.ints(`${P}/pad/paddings`, [0, 0, 0, 1, 0, 1, 0, 0], [4, 2])], {
    Tpaddings: attr.type('DT_INT32'),
  });
  const fused = (fusedOps: string[]) => ({
    fused_ops: attr.strings(fusedOps),
    num_args: attr.i(1),
    epsilon: attr.f(0),
    explicit_paddings: attr.ints([]),
  });
  const stem = g.op(
    `${P}/conv1/Relu6`,
    '_FusedConv2D',
    [pad, g.constant(`${P}/conv1/kernel`, [3, 3, 3, 8]), g.constant(`${P}/conv1/bias`, [8])],
    { ...conv([1, 2, 2, 1], 'VALID'), ...fused(['BiasAdd', 'Relu6']) },
  );
  const dw = g.op(
    `${P}/dw/Relu6`,
    'FusedDepthwiseConv2dNative',
    [stem, g.constant(`${P}/dw/kernel`, [3, 3, 8, 1]), g.constant(`${P}/dw/bias`, [8])],
    { ...conv([1, 1, 1, 1], 'SAME'), ...fused(['BiasAdd', 'Relu6']) },
  );
  const pw = g.op(
    `${P}/pw/BiasAdd`,
    'BiasAdd',
    [
      g.op(`${P}/pw/Conv2D`, 'Conv2D', [dw, g.constant(`${P}/pw/kernel`, [1, 1, 8, 8])], conv([1, 1, 1, 1], 'SAME')),
      g.constant(`${P}/pw/bias`, [8]),
    ],
    { data_format: attr.s('NHWC') },
  );
  const residual = g.op(`${P}/add/add`, 'AddV2', [pw, stem]);
  const dw2 = g.op(
    `${P}/dw2/depthwise`,
    'DepthwiseConv2dNative',
    [residual, g.constant(`${P}/dw2/kernel`, [3, 3, 8, 2])],
    conv([1, 2, 2, 1], 'SAME'),
  );
  const elu = g.op(`${P}/dw2/Elu`, '_FusedConv2D', [dw2, g.constant(`${P}/c3/kernel`, [3, 3, 16, 16]), g.constant(`${P}/c3/bias`, [16])], {
    ...conv([1, 1, 1, 1], 'SAME'),
    ...fused(['BiasAdd', 'Elu']),
  });
  const mp = g.op(`${P}/mp/MaxPool`, 'MaxPool', [elu], {
    ksize: attr.ints([1, 2, 2, 1]),
    strides: attr.ints([1, 1, 1, 1]),
    padding: attr.s('SAME'),
    data_format: attr.s('NHWC'),
  });
  const ap = g.op(
    `${P}/ap/AvgPool`,
    'AvgPool',
    [
      g.op(`${P}/mirror/MirrorPad`, 'MirrorPad', [mp, g.ints(`${P}/mirror/paddings`, [0, 0, 1, 1, 1, 1, 0, 0], [4, 2])], {
        mode: attr.s('REFLECT'),
        Tpaddings: attr.type('DT_INT32'),
      }),
    ],
    { ksize: attr.ints([1, 3, 3, 1]), strides: attr.ints([1, 1, 1, 1]), padding: attr.s('VALID'), data_format: attr.s('NHWC') },
  );
  const mean = g.op(`${P}/gap/Mean`, 'Mean', [ap, g.ints(`${P}/gap/Mean/reduction_indices`, [1, 2])], {
    keep_dims: attr.b(false),
    Tidx: attr.type('DT_INT32'),
  });
  const logits = g.op(
    `${P}/dense/BiasAdd`,
    '_FusedMatMul',
    [mean, g.constant(`${P}/dense/kernel`, [16, 5]), g.constant(`${P}/dense/bias`, [5])],
    { fused_ops: attr.strings(['BiasAdd']), num_args: attr.i(1), transpose_a: attr.b(false), transpose_b: attr.b(false) },
  );
  g.op('Identity', 'Identity', [g.op(`${P}/dense/Softmax`, 'Softmax', [logits])]);
  // Second output: reductions, transposes, slicing, concatenation and elementwise math.
  const M = `${P}/misc`;
  const rs = g.op(`${M}/Rsqrt`, 'Rsqrt', [
    g.op(`${M}/add1`, 'Add', [g.op(`${M}/Square`, 'Square', [mean]), g.constant(`${M}/one`, [], [1])]),
  ]);
  const mx = g.op(`${M}/Max`, 'Max', [residual, g.ints(`${M}/maxaxes`, [3])], { keep_dims: attr.b(true), Tidx: attr.type('DT_INT32') });
  const sum = g.op(`${M}/Sum`, 'Sum', [mx, g.ints(`${M}/sumaxes`, [1])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') });
  const tr = g.op(`${M}/Transpose`, 'Transpose', [sum, g.ints(`${M}/perm`, [0, 2, 1])], { Tperm: attr.type('DT_INT32') });
  const sl = g.op(
    `${M}/strided`,
    'StridedSlice',
    [tr, g.ints(`${M}/b`, [0, 0, 1]), g.ints(`${M}/e`, [0, 0, 7]), g.ints(`${M}/s`, [1, 1, 2])],
    { Index: attr.type('DT_INT32'), begin_mask: attr.i(3), end_mask: attr.i(3) },
  );
  const flat = g.op(`${M}/flat`, 'Reshape', [sl, g.ints(`${M}/flatshape`, [-1, 3])], { Tshape: attr.type('DT_INT32') });
  const cat = g.op(`${M}/concat`, 'ConcatV2', [flat, rs, g.ints(`${M}/concat/axis`, [-1], [])], {
    N: attr.i(2),
    Tidx: attr.type('DT_INT32'),
  });
  const ex = g.op(`${M}/exp`, 'Exp', [g.op(`${M}/neg`, 'Neg', [g.op(`${M}/abs`, 'Abs', [cat])])]);
  const sq = g.op(
    `${M}/squeeze`,
    'Squeeze',
    [g.op(`${M}/expand`, 'ExpandDims', [ex, g.ints(`${M}/ed`, [1], [])], { Tdim: attr.type('DT_INT32') })],
    { squeeze_dims: attr.ints([1]) },
  );
  const lg = g.op(`${M}/log`, 'Log', [g.op(`${M}/sqrt`, 'Sqrt', [g.op(`${M}/max2`, 'Maximum', [sq, g.constant(`${M}/tiny`, [], [0.1])])])]);
  const mn = g.op(`${M}/min`, 'Minimum', [
    lg,
    g.op(`${M}/div`, 'RealDiv', [g.op(`${M}/sub`, 'Sub', [lg, sq]), g.constant(`${M}/two`, [], [2])]),
  ]);
  const picked = g.op(
    `${M}/gather`,
    'GatherV2',
    [g.op(`${M}/sig`, 'Sigmoid', [mn]), g.ints(`${M}/idx`, [0, 18, 3]), g.ints(`${M}/gaxis`, [1], [])],
    { Tparams: attr.type('DT_FLOAT'), Tindices: attr.type('DT_INT32'), batch_dims: attr.i(0) },
  );
  const cast = g.op(
    `${M}/cast`,
    'Cast',
    [
      g.op(`${M}/tocast`, 'Cast', [g.op(`${M}/scaled`, 'Mul', [picked, g.constant(`${M}/ten`, [], [10])])], {
        SrcT: attr.type('DT_FLOAT'),
        DstT: attr.type('DT_INT32'),
      }),
    ],
    { SrcT: attr.type('DT_INT32'), DstT: attr.type('DT_FLOAT') },
  );
  const packed = g.op(`${M}/pack`, 'Pack', [cast, g.op(`${M}/tanh`, 'Tanh', [picked])], { N: attr.i(2), axis: attr.i(1) });
  g.op('Identity_1', 'Identity', [
    g.op(`${M}/relu`, 'Relu', [
      g.op(`${M}/flat2`, 'Reshape', [packed, g.ints(`${M}/flat2shape`, [-1, 6])], { Tshape: attr.type('DT_INT32') }),
    ]),
  ]);
  return g;
}

/** A graph through the remaining supported ops: resizing, splitting, slicing, tiling, selection, comparisons, reductions. */
function otherOpsGraph(): GraphDefBuilder {
  const g = new GraphDefBuilder(4);
  const M = 'model/ops';
  g.placeholder('x', [-1, 6, 6, 4]);
  const i32 = (name: string, v: number[], shape = [v.length]) => g.ints(`${M}/${name}`, v, shape);
  const mean = (name: string, t: string) =>
    g.op(`${M}/${name}`, 'Mean', [t, i32(`${name}/axes`, [1, 2])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') });
  const resize = { T: attr.type('DT_FLOAT') };
  const r1 = mean(
    'm1',
    g.op(`${M}/bilinear`, 'ResizeBilinear', ['x', i32('s1', [12, 12])], {
      ...resize,
      half_pixel_centers: attr.b(true),
      align_corners: attr.b(false),
    }),
  );
  const r2 = mean(
    'm2',
    g.op(`${M}/nearest`, 'ResizeNearestNeighbor', ['x', i32('s2', [12, 18])], {
      ...resize,
      half_pixel_centers: attr.b(false),
      align_corners: attr.b(false),
    }),
  );
  const r3 = mean(
    'm3',
    g.op(`${M}/corners`, 'ResizeBilinear', ['x', i32('s3', [11, 11])], {
      ...resize,
      align_corners: attr.b(true),
      half_pixel_centers: attr.b(false),
    }),
  );
  const r4 = mean(
    'm4',
    g.op(`${M}/nearest_hp`, 'ResizeNearestNeighbor', ['x', i32('s4', [9, 9])], {
      ...resize,
      half_pixel_centers: attr.b(true),
      align_corners: attr.b(false),
    }),
  );
  const padded = mean(
    'm5',
    g.op(`${M}/padv2`, 'PadV2', ['x', i32('pads', [0, 0, 1, 2, 2, 1, 0, 0], [4, 2]), g.constant(`${M}/padvalue`, [], [0.5])], {
      Tpaddings: attr.type('DT_INT32'),
    }),
  );
  g.op(`${M}/split`, 'Split', [i32('splitaxis', [3], []), 'x'], { num_split: attr.i(2) });
  const halves = mean('m6', g.op(`${M}/halves`, 'Sub', [`${M}/split`, `${M}/split:1`]));
  g.op(`${M}/splitv`, 'SplitV', ['x', i32('sizes', [1, -1]), i32('splitvaxis', [3], [])], {
    num_split: attr.i(2),
    Tlen: attr.type('DT_INT32'),
  });
  const rest = mean('m7', `${M}/splitv:1`);
  const sliced = mean(
    'm8',
    g.op(`${M}/slice`, 'Slice', ['x', i32('begin', [0, 1, 1, 0]), i32('size', [-1, 3, 3, 2])], { Index: attr.type('DT_INT32') }),
  );
  const strided = mean(
    'm9',
    g.op(`${M}/ellipsis`, 'StridedSlice', ['x', i32('sb', [0, 1]), i32('se', [0, 5]), i32('ss', [1, 2])], {
      Index: attr.type('DT_INT32'),
      ellipsis_mask: attr.i(1),
    }),
  );
  const m = mean('m0', 'x'); // [N, 4]
  const pairs = g.op(`${M}/pairs`, 'Reshape', [m, i32('pairshape', [-1, 2, 2])], { Tshape: attr.type('DT_INT32') });
  g.op(`${M}/unpack`, 'Unpack', [pairs], { num: attr.i(2), axis: attr.i(1) });
  const unpacked = g.op(`${M}/unpacked`, 'AddV2', [`${M}/unpack`, `${M}/unpack:1`]);
  const product = g.op(
    `${M}/bmm/flat`,
    'Reshape',
    [
      g.op(`${M}/bmm`, 'BatchMatMulV2', [pairs, g.constant(`${M}/bmm/w`, [2, 3])], { adj_x: attr.b(true), adj_y: attr.b(false) }),
      i32('bmmshape', [-1, 6]),
    ],
    { Tshape: attr.type('DT_INT32') },
  );
  const tiled = g.op(`${M}/tile`, 'Tile', [m, i32('multiples', [1, 2])], { Tmultiples: attr.type('DT_INT32') });
  const shape = g.op(`${M}/shape`, 'Shape', [m], { out_type: attr.type('DT_INT32') });
  const filled = g.op(`${M}/fill`, 'Fill', [shape, g.constant(`${M}/quarter`, [], [0.25])], { index_type: attr.type('DT_INT32') });
  const zeros = g.op(`${M}/zeros`, 'ZerosLike', [m]);
  const ones = g.op(`${M}/ones`, 'OnesLike', [m]);
  const positive = g.op(`${M}/positive`, 'Greater', [m, zeros]);
  const selected = g.op(`${M}/select`, 'SelectV2', [positive, m, g.op(`${M}/neg`, 'Neg', [m])]);
  const flag = (name: string, op: string) =>
    g.op(`${M}/${name}/f`, 'Cast', [g.op(`${M}/${name}`, op, [m, filled])], { SrcT: attr.type('DT_BOOL'), DstT: attr.type('DT_FLOAT') });
  const flags = [flag('le', 'LessEqual'), flag('ge', 'GreaterEqual'), flag('lt', 'Less'), flag('eq', 'Equal'), flag('ne', 'NotEqual')];
  const both = g.op(
    `${M}/both/f`,
    'Cast',
    [g.op(`${M}/both`, 'LogicalAnd', [positive, g.op(`${M}/notle`, 'LogicalNot', [g.op(`${M}/le2`, 'LessEqual', [m, ones])])])],
    { SrcT: attr.type('DT_BOOL'), DstT: attr.type('DT_FLOAT') },
  );
  const arg = g.op(
    `${M}/argmax/f`,
    'Cast',
    [
      g.op(
        `${M}/argmax/e`,
        'ExpandDims',
        [
          g.op(`${M}/argmax`, 'ArgMax', [m, i32('argaxis', [1], [])], { output_type: attr.type('DT_INT32'), Tidx: attr.type('DT_INT32') }),
          i32('argdim', [-1], []),
        ],
        { Tdim: attr.type('DT_INT32') },
      ),
    ],
    { SrcT: attr.type('DT_INT32'), DstT: attr.type('DT_FLOAT') },
  );
  const prelu = mean('m10', g.op(`${M}/prelu`, 'Prelu', ['x', g.constant(`${M}/alpha`, [4])]));
  const act = (op: string, t: string) => g.op(`${M}/${op}`, op, [t]);
  const math = [
    act('Selu', m),
    act('Softplus', m),
    act('Sigmoid', m),
    act('Erf', m),
    act('Floor', m),
    act('Ceil', m),
    act('Round', m),
    act('Sign', m),
    act('Reciprocal', g.op(`${M}/shift`, 'AddV2', [ones, act('Abs', m)])),
    g.op(`${M}/pow`, 'Pow', [g.op(`${M}/abs2`, 'Abs', [m]), g.constant(`${M}/exponent`, [], [1.5])]),
    g.op(`${M}/floordiv`, 'FloorDiv', [m, g.constant(`${M}/third`, [], [0.3])]),
    g.op(`${M}/sqdiff`, 'SquaredDifference', [m, filled]),
    g.op(`${M}/addn`, 'AddN', [m, ones, filled], { N: attr.i(3) }),
  ];
  const lsm = g.op(`${M}/LogSoftmax`, 'LogSoftmax', [tiled]);
  const all = [
    r1,
    r2,
    r3,
    r4,
    padded,
    halves,
    rest,
    sliced,
    strided,
    unpacked,
    product,
    lsm,
    selected,
    ...flags,
    both,
    arg,
    prelu,
    ...math,
  ];
  g.op('Identity', 'Identity', [
    g.op(`${M}/concat`, 'ConcatV2', [...all, i32('axis', [1], [])], { N: attr.i(all.length), Tidx: attr.type('DT_INT32') }),
  ]);
  return g;
}

/** tfjs (loading the files itself) against the ONNX file at `batch` rows. */
async function maxDiff(
  dir: string,
  file: string,
  feeds: Record<string, { data: Float32Array | Int32Array; shape: number[] }>,
): Promise<number> {
  const model = await tf.loadGraphModel(tf.io.fromMemory(await artifactsFromDir(dir)));
  const inputs = Object.fromEntries(
    Object.entries(feeds).map(([k, v]) => [k, tf.tensor(v.data, v.shape, v.data instanceof Int32Array ? 'int32' : 'float32')]),
  );
  const y = model.execute(inputs, model.outputNodes);
  const want = (Array.isArray(y) ? y : [y]).map((t) => ({ data: t.dataSync(), shape: t.shape }));
  tf.dispose([...Object.values(inputs), ...(Array.isArray(y) ? y : [y])]);
  model.dispose();
  const session = await ort.InferenceSession.create(file);
  const got = await session.run(
    Object.fromEntries(
      Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.data instanceof Int32Array ? 'int32' : 'float32', v.data, v.shape)]),
    ),
  );
  await session.release();
  let max = 0;
  session.outputNames.forEach((name, i) => {
    expect(got[name]!.dims).toEqual(want[i]!.shape);
    for (let k = 0; k < want[i]!.data.length; k++)
      max = Math.max(max, Math.abs(Number(got[name]!.data[k]) - want[i]!.data[k]!) / Math.max(1, Math.abs(want[i]!.data[k]!)));
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
      inputs: [
        { name: 'z', dtype: 'float32', shape: [null, 16] },
        { name: 'label', dtype: 'int32', shape: [null] },
      ],
      outputs: [{ name: 'conv2d_transpose_1', dtype: 'float32', shape: [null, 16, 16, 1] }],
    });
    onnxCheck(out);
    const rng = new Rng(5);
    for (const n of [1, 6]) {
      const feeds = {
        z: { data: fillUniform(rng, new Float32Array(n * 16)), shape: [n, 16] },
        label: { data: Int32Array.from({ length: n }, (_, i) => i % 10), shape: [n] },
      };
      expect(await maxDiff(dir, out, feeds)).toBeLessThan(1e-4);
    }
    const gen = path.join(tmp, 'generator-onnxgan.onnx');
    const g = await runCli(['convert', path.join(dir, 'model.json'), '--out', gen, '--as-generator', '--classes', DIGITS.join(',')]);
    expect(g.code, g.stderr).toBe(0);
    onnxCheck(gen);
    expect(readModelInfo(gen).metadata).toMatchObject({
      kind: 'cgan',
      noiseDim: 16,
      classes: DIGITS,
      imageShape: [1, 16, 16],
      dataset: 'generator',
    });
  });

  it('converts a MobileNet-style classifier graph and every op of a second output, with uint8 weights', async () => {
    for (const quantize of [undefined, { dtype: 'uint8' as const, match: /kernel/ }, { dtype: 'float16' as const }]) {
      const dir = path.join(tmp, `classifier-${quantize?.dtype ?? 'fp32'}`);
      classifierGraph().write(dir, { output_0: 'Identity', output_1: 'Identity_1' }, { quantize, shardBytes: 2048 });
      const out = `${dir}.onnx`;
      const r = await convertModel(dir, out);
      expect(r.maxDiff).toBeLessThan(1e-4);
      expect(r.io.outputs.map((o) => [o.name, o.shape])).toEqual([
        ['output_0', [null, 5]],
        ['output_1', [null, 6]],
      ]);
      onnxCheck(out);
      const n = 4;
      expect(
        await maxDiff(dir, out, { input_1: { data: fillUniform(new Rng(8), new Float32Array(n * 16 * 16 * 3)), shape: [n, 16, 16, 3] } }),
      ).toBeLessThan(1e-4);
      // NHWC in, NCHW convolutions inside: the input is transposed once, not around every convolution.
      const ops = onnx.ModelProto.decode(readFileSync(out)).graph!.node!.map((x) => x.opType);
      expect(ops.filter((o) => o === 'Conv')).toHaveLength(5);
      expect(ops.filter((o) => o === 'Transpose').length).toBeLessThanOrEqual(3);
    }
  });

  it('converts resizing, splitting, slicing, tiling, selection, comparison and the remaining math ops', async () => {
    const dir = path.join(tmp, 'other-ops');
    otherOpsGraph().write(dir, { out: 'Identity' });
    const out = path.join(tmp, 'other-ops.onnx');
    const r = await convertModel(dir, out);
    expect(r.maxDiff).toBeLessThan(1e-4);
    onnxCheck(out);
    const n = 5;
    expect(
      await maxDiff(dir, out, { x: { data: fillUniform(new Rng(9), new Float32Array(n * 6 * 6 * 4)), shape: [n, 6, 6, 4] } }),
    ).toBeLessThan(1e-4);
  });

  it("keeps open image sizes open: a fully convolutional graph runs at sizes other than the probe's", async () => {
    const g = new GraphDefBuilder(6);
    g.placeholder('images', [-1, -1, -1, 3]);
    const c = g.op(
      'fcn/conv/Relu',
      '_FusedConv2D',
      ['images', g.constant('fcn/conv/kernel', [3, 3, 3, 4]), g.constant('fcn/conv/bias', [4])],
      { ...conv([1, 2, 2, 1], 'SAME'), fused_ops: attr.strings(['BiasAdd', 'Relu']), num_args: attr.i(1) },
    );
    const p = g.op('fcn/pool', 'MaxPool', [c], {
      ksize: attr.ints([1, 3, 3, 1]),
      strides: attr.ints([1, 2, 2, 1]),
      padding: attr.s('SAME'),
      data_format: attr.s('NHWC'),
    });
    g.op('Identity', 'Identity', [
      g.op('fcn/avg', 'AvgPool', [p], {
        ksize: attr.ints([1, 2, 2, 1]),
        strides: attr.ints([1, 1, 1, 1]),
        padding: attr.s('SAME'),
        data_format: attr.s('NHWC'),
      }),
    ]);
    const dir = path.join(tmp, 'fcn');
    g.write(dir, { features: 'Identity' });
    const out = path.join(tmp, 'fcn.onnx');
    const r = await convertModel(dir, out);
    expect(r.maxDiff).toBeLessThan(1e-4);
    onnxCheck(out);
    for (const [h, w] of [
      [17, 13],
      [8, 31],
    ]) {
      expect(
        await maxDiff(dir, out, { images: { data: fillUniform(new Rng(h), new Float32Array(2 * h * w * 3)), shape: [2, h, w, 3] } }),
      ).toBeLessThan(1e-4);
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
