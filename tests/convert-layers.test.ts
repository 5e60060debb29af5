// onnxgan convert on LayersModels built and saved by tfjs itself: a conditional DCGAN generator, a
// MobileNet-style classifier, a branchy functional model (shared layers, a nested model used twice,
// every merge), quantized and sharded weights. Each file passes onnx.checker and is compared again
// here with tfjs at another batch size than the converter's own check; a converted generator is
// served by `onnxgan serve`.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select.js';
import { onnx } from '../common/onnx-graph.js';
import { readModelInfo } from '../export/onnx-read.js';
import { convertModel } from '../convert/convert.js';
import { runCli, startCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { artifactsFromDir, randomiseBatchNorm, saveLayersModel, writeModel } from './helpers/tfjs-models.js';
import { Rng, fillUniform } from '../common/rng.js';

const tmp = tempDir('onnxgan-convert-');
const L = tf.layers;
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

function onnxCheck(file: string): void {
  execFileSync(
    '/usr/bin/python3',
    ['-c', 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)', file],
    { stdio: 'pipe' },
  );
}

/** Inputs and outputs of an ONNX file: name, element type, dims (numbers or symbols). */
function signature(file: string): { inputs: [string, number, (number | string)[]][]; outputs: [string, number, (number | string)[]][] } {
  const g = onnx.ModelProto.decode(readFileSync(file)).graph!;
  const io = (v: onnx.IValueInfoProto): [string, number, (number | string)[]] => [
    v.name!,
    v.type!.tensorType!.elemType!,
    v.type!.tensorType!.shape!.dim!.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue))),
  ];
  return { inputs: g.input!.map(io), outputs: g.output!.map(io) };
}

/** Runs the tfjs model and the ONNX file on the same random inputs of `batch` rows; the largest difference. */
async function maxDiff(model: tf.LayersModel, file: string, batch: number, intRange: Record<string, number> = {}): Promise<number> {
  const session = await ort.InferenceSession.create(file);
  const rng = new Rng(99);
  const feeds: Record<string, ort.Tensor> = {};
  // The file's inputs and outputs are the model's, in the model's order.
  const inputs = model.inputs.map((t, i) => {
    const shape = t.shape.map((d) => d ?? batch) as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const name = session.inputNames[i]!;
    if (t.dtype === 'int32') {
      const data = Int32Array.from({ length: n }, () => rng.int(intRange[name] ?? 2));
      feeds[name] = new ort.Tensor('int32', data, shape);
      return tf.tensor(data, shape, 'int32');
    }
    const data = fillUniform(rng, new Float32Array(n));
    feeds[name] = new ort.Tensor('float32', data, shape);
    return tf.tensor(data, shape);
  });
  const want = tf.tidy(() => {
    const y = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
    return (Array.isArray(y) ? y : [y]).map((t) => ({ data: t.dataSync(), shape: t.shape }));
  });
  tf.dispose(inputs);
  const got = await session.run(feeds);
  await session.release();
  let max = 0;
  session.outputNames.forEach((name, i) => {
    const g = got[name]!;
    expect(g.dims).toEqual(want[i]!.shape);
    const w = want[i]!.data;
    for (let k = 0; k < w.length; k++) max = Math.max(max, Math.abs(Number(g.data[k]) - w[k]!) / Math.max(1, Math.abs(w[k]!)));
  });
  return max;
}

/** A conditional DCGAN / ACGAN-style generator: Embedding x latent, Dense, Reshape, Conv2DTranspose, BatchNorm. */
function conditionalGenerator(noiseDim = 64): tf.LayersModel {
  const z = tf.input({ shape: [noiseDim], name: 'latent' });
  const label = tf.input({ shape: [1], name: 'digit', dtype: 'int32' });
  const emb = L.flatten().apply(L.embedding({ inputDim: 10, outputDim: noiseDim }).apply(label)) as tf.SymbolicTensor;
  let h = L.multiply().apply([z, emb]) as tf.SymbolicTensor;
  h = L.dense({ units: 7 * 7 * 32, useBias: false }).apply(h) as tf.SymbolicTensor;
  h = L.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = L.leakyReLU({ alpha: 0.2 }).apply(h) as tf.SymbolicTensor;
  h = L.reshape({ targetShape: [7, 7, 32] }).apply(h) as tf.SymbolicTensor;
  h = L.conv2dTranspose({ filters: 16, kernelSize: 5, strides: 2, padding: 'same', useBias: false }).apply(h) as tf.SymbolicTensor;
  h = L.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = L.leakyReLU({ alpha: 0.2 }).apply(h) as tf.SymbolicTensor;
  h = L.conv2dTranspose({ filters: 1, kernelSize: 5, strides: 2, padding: 'same', activation: 'tanh' }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: [z, label], outputs: h, name: 'acgan_generator' });
  randomiseBatchNorm(model);
  return model;
}

/** A MobileNet-style classifier: stem, inverted residual blocks, global pooling, Dense. */
function mobileNetLike(): tf.LayersModel {
  const x = tf.input({ shape: [32, 32, 3], name: 'pixels' });
  let h = L.zeroPadding2d({
    padding: [
      [0, 1],
      [0, 1],
    ],
  }).apply(x) as tf.SymbolicTensor;
  h = L.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }).apply(h) as tf.SymbolicTensor;
  h = L.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = L.reLU({ maxValue: 6 }).apply(h) as tf.SymbolicTensor;
  for (const [expand, stride, out] of [
    [4, 1, 16],
    [4, 2, 24],
    [4, 1, 24],
  ] as const) {
    const input = h;
    const channels = input.shape[3]!;
    let b = L.conv2d({ filters: channels * expand, kernelSize: 1, useBias: false }).apply(input) as tf.SymbolicTensor;
    b = L.reLU({ maxValue: 6 }).apply(L.batchNormalization().apply(b)) as tf.SymbolicTensor;
    if (stride === 2)
      b = L.zeroPadding2d({
        padding: [
          [0, 1],
          [0, 1],
        ],
      }).apply(b) as tf.SymbolicTensor;
    b = L.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: stride === 2 ? 'valid' : 'same', useBias: false }).apply(
      b,
    ) as tf.SymbolicTensor;
    b = L.reLU({ maxValue: 6 }).apply(L.batchNormalization().apply(b)) as tf.SymbolicTensor;
    b = L.batchNormalization().apply(L.conv2d({ filters: out, kernelSize: 1, useBias: false }).apply(b)) as tf.SymbolicTensor;
    h = stride === 1 && channels === out ? (L.add().apply([input, b]) as tf.SymbolicTensor) : b;
  }
  h = L.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  h = L.dropout({ rate: 0.2 }).apply(h) as tf.SymbolicTensor;
  h = L.dense({ units: 10, activation: 'softmax', name: 'probabilities' }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: h, name: 'mobilenet_like' });
  randomiseBatchNorm(model);
  return model;
}

/** Branches, merges, shared layers, a nested Sequential used twice, two inputs and several outputs. */
function branchy(): tf.LayersModel {
  const image = tf.input({ shape: [12, 12, 4], name: 'image' });
  const vector = tf.input({ shape: [6], name: 'vector' });
  const shared = L.dense({ units: 6, activation: 'elu', name: 'shared_dense' });
  const inner = tf.sequential({
    name: 'inner',
    layers: [L.dense({ inputShape: [6], units: 6, activation: 'selu' }), L.dense({ units: 6, activation: 'hardSigmoid' })],
  });
  const a = inner.apply(shared.apply(vector)) as tf.SymbolicTensor;
  const b = inner.apply(shared.apply(a)) as tf.SymbolicTensor;
  const activations = [
    'relu',
    'relu6',
    'sigmoid',
    'tanh',
    'softplus',
    'softsign',
    'swish',
    'mish',
    'gelu',
    'linear',
    'elu',
    'selu',
    'hardSigmoid',
    'softmax',
    'logSoftmax',
  ];
  const act = L.concatenate({ name: 'activations' }).apply(
    activations.map((n) => L.activation({ activation: n as 'relu' }).apply(a) as tf.SymbolicTensor),
  ) as tf.SymbolicTensor;
  const merges = L.concatenate({ name: 'merges' }).apply([
    L.add().apply([a, b]),
    L.multiply().apply([a, b]),
    L.average().apply([a, b]),
    L.maximum().apply([a, b]),
    L.minimum().apply([a, b]),
    L.dot({ axes: 1 }).apply([a, b]),
    L.dot({ axes: -1, normalize: true }).apply([a, b]),
    L.layerNormalization().apply(L.prelu().apply(a)),
  ] as tf.SymbolicTensor[]) as tf.SymbolicTensor;
  let x = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', dilationRate: 2 }).apply(image) as tf.SymbolicTensor;
  x = L.prelu({ sharedAxes: [1, 2] }).apply(x) as tf.SymbolicTensor;
  const left = L.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(
    L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x),
  ) as tf.SymbolicTensor;
  const right = L.averagePooling2d({ poolSize: 2, padding: 'valid' }).apply(L.elu().apply(x)) as tf.SymbolicTensor;
  const joined = L.concatenate({ axis: -1 }).apply([left, right]) as tf.SymbolicTensor;
  const up = L.upSampling2d({ size: [2, 2] }).apply(joined) as tf.SymbolicTensor;
  const smooth = L.upSampling2d({ size: [2, 3], interpolation: 'bilinear' }).apply(joined) as tf.SymbolicTensor;
  const cropped = L.cropping2D({
    cropping: [
      [1, 2],
      [0, 3],
    ],
  }).apply(up) as tf.SymbolicTensor;
  const deconv = L.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 3, padding: 'valid' }).apply(
    L.zeroPadding2d({
      padding: [
        [1, 0],
        [0, 2],
      ],
    }).apply(joined),
  ) as tf.SymbolicTensor;
  const pooled = L.globalMaxPooling2d({}).apply(L.concatenate({ axis: 1 }).apply([joined, joined])) as tf.SymbolicTensor;
  const sequence = L.thresholdedReLU({ theta: 0.1 }).apply(
    L.leakyReLU().apply(L.softmax({ axis: -1 }).apply(L.repeatVector({ n: 3 }).apply(pooled))),
  ) as tf.SymbolicTensor;
  const permuted = L.permute({ dims: [2, 1] }).apply(
    L.spatialDropout1d({ rate: 0.5 }).apply(L.gaussianNoise({ stddev: 1 }).apply(sequence)),
  ) as tf.SymbolicTensor;
  const perStep = L.dense({ units: 3, activation: 'tanh' }).apply(
    L.rescaling({ scale: 0.5, offset: 0.25 }).apply(sequence),
  ) as tf.SymbolicTensor; // Dense on [N, 3, 16]
  const summary = L.concatenate({ name: 'summary' }).apply([
    L.globalAveragePooling1d({}).apply(permuted),
    L.flatten().apply(perStep),
    L.flatten().apply(L.reshape({ targetShape: [8, 2] }).apply(pooled)),
    act,
    merges,
  ] as tf.SymbolicTensor[]) as tf.SymbolicTensor;
  // (tfjs-layers 4.22 disposes a shared tensor too early when an output that needs it comes first: summary last.)
  return tf.model({ inputs: [image, vector], outputs: [cropped, smooth, deconv, summary], name: 'branchy' });
}

/**
 * A model.json as tensorflowjs_converter writes it from a Keras 2 .h5 file: snake_case config under
 * model_config, a training_config, a functional graph with Keras's inbound_nodes, and Subtract and
 * SpatialDropout2D, which tfjs-layers itself lacks.
 */
function kerasH5Model(dir: string): string {
  const init = (cls: string) => ({ class_name: cls, config: {} });
  const common = {
    trainable: true,
    dtype: 'float32',
    kernel_initializer: init('GlorotUniform'),
    bias_initializer: init('Zeros'),
    kernel_regularizer: null,
    bias_regularizer: null,
    activity_regularizer: null,
    kernel_constraint: null,
    bias_constraint: null,
  };
  const from = (...names: string[]) => [names.map((n) => [n, 0, 0, {}])];
  const layers = [
    {
      class_name: 'InputLayer',
      name: 'image',
      inbound_nodes: [],
      config: { batch_input_shape: [null, 28, 28, 1], dtype: 'float32', sparse: false, ragged: false, name: 'image' },
    },
    {
      class_name: 'Conv2D',
      name: 'conv2d',
      inbound_nodes: from('image'),
      config: {
        ...common,
        name: 'conv2d',
        filters: 8,
        kernel_size: [3, 3],
        strides: [1, 1],
        padding: 'valid',
        data_format: 'channels_last',
        dilation_rate: [1, 1],
        groups: 1,
        activation: 'relu',
        use_bias: true,
      },
    },
    {
      class_name: 'BatchNormalization',
      name: 'batch_normalization',
      inbound_nodes: from('conv2d'),
      config: {
        name: 'batch_normalization',
        trainable: true,
        dtype: 'float32',
        axis: [3],
        momentum: 0.99,
        epsilon: 0.001,
        center: true,
        scale: true,
      },
    },
    {
      class_name: 'MaxPooling2D',
      name: 'max_pooling2d',
      inbound_nodes: from('batch_normalization'),
      config: {
        name: 'max_pooling2d',
        trainable: true,
        dtype: 'float32',
        pool_size: [2, 2],
        padding: 'valid',
        strides: [2, 2],
        data_format: 'channels_last',
      },
    },
    {
      class_name: 'AveragePooling2D',
      name: 'average_pooling2d',
      inbound_nodes: from('batch_normalization'),
      config: {
        name: 'average_pooling2d',
        trainable: true,
        dtype: 'float32',
        pool_size: [2, 2],
        padding: 'valid',
        strides: [2, 2],
        data_format: 'channels_last',
      },
    },
    {
      class_name: 'Subtract',
      name: 'subtract',
      inbound_nodes: from('max_pooling2d', 'average_pooling2d'),
      config: { name: 'subtract', trainable: true, dtype: 'float32' },
    },
    {
      class_name: 'SpatialDropout2D',
      name: 'spatial_dropout2d',
      inbound_nodes: from('subtract'),
      config: { name: 'spatial_dropout2d', trainable: true, dtype: 'float32', rate: 0.2, noise_shape: null, seed: null },
    },
    {
      class_name: 'Flatten',
      name: 'flatten',
      inbound_nodes: from('spatial_dropout2d'),
      config: { name: 'flatten', trainable: true, dtype: 'float32', data_format: 'channels_last' },
    },
    {
      class_name: 'Dropout',
      name: 'dropout',
      inbound_nodes: from('flatten'),
      config: { name: 'dropout', trainable: true, dtype: 'float32', rate: 0.25, noise_shape: null, seed: null },
    },
    {
      class_name: 'Dense',
      name: 'dense',
      inbound_nodes: from('dropout'),
      config: { ...common, name: 'dense', units: 10, activation: 'softmax', use_bias: true },
    },
  ];
  const json = {
    format: 'layers-model',
    generatedBy: 'keras v2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: {
      keras_version: '2.15.0',
      backend: 'tensorflow',
      model_config: {
        class_name: 'Functional',
        config: { name: 'classifier', layers, input_layers: [['image', 0, 0]], output_layers: [['dense', 0, 0]] },
      },
      training_config: {
        loss: 'categorical_crossentropy',
        metrics: ['accuracy'],
        optimizer_config: { class_name: 'Adam', config: { name: 'Adam', learning_rate: 0.001 } },
      },
    },
  };
  const rng = new Rng(3);
  const w = (name: string, shape: number[], positive = false) => ({
    name,
    shape,
    dtype: 'float32' as const,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (positive ? 0.5 : -0.5) + rng.uniform()),
  });
  const weights = [
    w('conv2d/kernel', [3, 3, 1, 8]),
    w('conv2d/bias', [8]),
    w('batch_normalization/gamma', [8], true),
    w('batch_normalization/beta', [8]),
    w('batch_normalization/moving_mean', [8]),
    w('batch_normalization/moving_variance', [8], true),
    w('dense/kernel', [13 * 13 * 8, 10]),
    w('dense/bias', [10]),
  ];
  return writeModel(dir, json, weights, { quantize: { dtype: 'uint16' } });
}

beforeAll(async () => {
  await selectBackend('auto');
});

describe('onnxgan convert: LayersModels', () => {
  it('converts a conditional DCGAN generator with its own interface, and as an onnxgan generator that serve runs', async () => {
    const model = conditionalGenerator();
    const dir = path.join(tmp, 'acgan');
    await saveLayersModel(model, dir);
    const plain = path.join(tmp, 'acgan.onnx');
    const r = await runCli(['convert', path.join(dir, 'model.json'), '--out', plain]);
    expect(r.code, r.stderr).toBe(0);
    expect(Number(/max \|tfjs - onnxruntime\| = (\S+)/.exec(r.stdout)![1])).toBeLessThan(1e-4);
    onnxCheck(plain);
    // The tfjs model's names, dtypes and NHWC layout, with a dynamic batch.
    expect(signature(plain)).toEqual({
      inputs: [
        ['latent', onnx.TensorProto.DataType.FLOAT, ['N', 64]],
        ['digit', onnx.TensorProto.DataType.INT32, ['N', 1]],
      ],
      outputs: [[model.outputNames[0]!, onnx.TensorProto.DataType.FLOAT, ['N', 28, 28, 1]]],
    });
    for (const batch of [1, 7]) expect(await maxDiff(model, plain, batch, { digit: 10 })).toBeLessThan(1e-4);

    // As a generator: noise/label -> image [N, 1, 28, 28] and onnxgan metadata, served over HTTP.
    const models = path.join(tmp, 'served');
    const gen = path.join(models, 'acgan.onnx');
    const g = await runCli([
      'convert',
      dir,
      '--out',
      gen,
      '--as-generator',
      '--noise-dim',
      '64',
      '--classes',
      DIGITS.join(','),
      '--dataset',
      'mnist',
    ]);
    expect(g.code, g.stderr).toBe(0);
    onnxCheck(gen);
    const info = readModelInfo(gen);
    expect(info.inputs).toEqual(['noise', 'label']);
    expect(info.outputs).toEqual(['image']);
    expect(info.metadata).toMatchObject({
      kind: 'cgan',
      noiseDim: 64,
      classes: DIGITS,
      dataset: 'mnist',
      imageShape: [1, 28, 28],
      valueRange: [-1, 1],
    });

    const port = await freePort();
    const server = startCli(['serve', '--models', models, '--port', String(port), '--log-level', 'silent']);
    try {
      const base = `http://127.0.0.1:${port}`;
      await eventually(async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok);
      const list = await (await fetch(`${base}/v1/models`)).json();
      expect(list.models[0]).toMatchObject({ name: 'acgan', kind: 'cgan', noise_dim: 64, classes: DIGITS });
      const png = await fetch(`${base}/v1/models/acgan/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ label: 7, seed: 3, format: 'png' }),
      });
      expect(png.status).toBe(200);
      const img = PNG.sync.read(Buffer.from(await png.arrayBuffer()));
      expect([img.width, img.height]).toEqual([28, 28]);
      // The served image is tfjs's image for the same noise and label.
      const t = await (
        await fetch(`${base}/v1/models/acgan/generate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ label: 7, seed: 3, count: 2, format: 'tensor' }),
        })
      ).json();
      const { generatorNoise } = await import('../common/rng.js');
      const want = tf.tidy(() =>
        (model.predict([tf.tensor2d(generatorNoise(3, 2, 64), [2, 64]), tf.tensor2d([7, 7], [2, 1], 'int32')]) as tf.Tensor).dataSync(),
      );
      expect(t.shape).toEqual([2, 1, 28, 28]);
      let d = 0;
      for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(t.data[i] - want[i]!));
      expect(d).toBeLessThan(1e-4);
    } finally {
      server.child.kill('SIGTERM');
      await server.done;
    }
  });

  it('converts a MobileNet-style classifier (ZeroPadding2D, Conv2D, DepthwiseConv2D, BatchNorm, ReLU6, Add, pooling, Dense)', async () => {
    const model = mobileNetLike();
    const dir = path.join(tmp, 'mobilenet');
    await saveLayersModel(model, dir);
    const out = path.join(tmp, 'mobilenet.onnx');
    const r = await convertModel(dir, out);
    expect(r.maxDiff).toBeLessThan(1e-4);
    onnxCheck(out);
    expect(signature(out).inputs).toEqual([['pixels', onnx.TensorProto.DataType.FLOAT, ['N', 32, 32, 3]]]);
    expect(signature(out).outputs).toEqual([['probabilities', onnx.TensorProto.DataType.FLOAT, ['N', 10]]]);
    // Channels-last input, channels-first convolutions: one transpose in, none between the layers.
    const ops = onnx.ModelProto.decode(readFileSync(out)).graph!.node!.map((n) => n.opType);
    expect(ops.filter((o) => o === 'Transpose')).toHaveLength(1);
    expect(await maxDiff(model, out, 5)).toBeLessThan(1e-4);
  });

  it(
    'converts a model.json that tensorflowjs_converter made from a Keras .h5 file (functional, Subtract, ' +
      'SpatialDropout2D, uint16 weights)',
    async () => {
      const file = kerasH5Model(path.join(tmp, 'keras'));
      const out = path.join(tmp, 'keras.onnx');
      const r = await convertModel(file, out);
      expect(r.maxDiff).toBeLessThan(1e-4);
      expect(r.io).toEqual({
        inputs: [{ name: 'image', dtype: 'float32', shape: [null, 28, 28, 1] }],
        outputs: [{ name: 'dense', dtype: 'float32', shape: [null, 10] }],
      });
      onnxCheck(out);
      const model = await tf.loadLayersModel(tf.io.fromMemory(await artifactsFromDir(path.dirname(file))));
      expect(await maxDiff(model, out, 6)).toBeLessThan(1e-4);
    },
  );

  it('converts a functional model with branches, merges, shared layers and a nested model used twice', async () => {
    const model = branchy();
    const dir = path.join(tmp, 'branchy');
    await saveLayersModel(model, dir);
    const out = path.join(tmp, 'branchy.onnx');
    const r = await convertModel(dir, out);
    expect(r.maxDiff).toBeLessThan(1e-4);
    expect(r.io.outputs.map((o) => o.name)).toEqual(model.outputNames);
    onnxCheck(out);
    expect(await maxDiff(model, out, 4)).toBeLessThan(1e-4);
    // The shared Dense and the nested model's weights are written once.
    const init = onnx.ModelProto.decode(readFileSync(out)).graph!.initializer!.map((t) => t.name!);
    expect(init.filter((n) => n.startsWith('shared_dense/'))).toHaveLength(2);
  });

  it('dequantizes uint8, uint16 and float16 weights in several groups and shards, and keeps float16 with --keep-fp16', async () => {
    const model = mobileNetLike();
    const fp32 = path.join(tmp, 'q-fp32.onnx');
    await saveLayersModel(model, path.join(tmp, 'q-none'));
    await convertModel(path.join(tmp, 'q-none'), fp32);
    for (const dtype of ['uint8', 'uint16', 'float16'] as const) {
      const dir = path.join(tmp, `q-${dtype}`);
      await saveLayersModel(model, dir, { quantize: { dtype }, groups: 3, shardBytes: 1024 });
      const manifest = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')).weightsManifest;
      expect(manifest).toHaveLength(3);
      expect(manifest.flatMap((g: { paths: string[] }) => g.paths).length).toBeGreaterThan(6);
      const out = path.join(tmp, `q-${dtype}.onnx`);
      const r = await convertModel(dir, out);
      expect(r.maxDiff).toBeLessThan(1e-4);
      onnxCheck(out);
      // The dequantized weights are tfjs's: the file is as large as the float32 one.
      expect(Math.abs(statSync(out).size - statSync(fp32).size) / statSync(fp32).size).toBeLessThan(0.01);
    }
    const half = path.join(tmp, 'q-keep-fp16.onnx');
    const r = await convertModel(path.join(tmp, 'q-float16'), half, { keepFp16: true });
    expect(r.maxDiff).toBeLessThan(1e-4);
    onnxCheck(half);
    const types = onnx.ModelProto.decode(readFileSync(half)).graph!.initializer!.map((t) => t.dataType);
    expect(types.filter((t) => t === onnx.TensorProto.DataType.FLOAT16).length).toBeGreaterThan(10);
    expect(statSync(half).size / statSync(fp32).size).toBeLessThan(0.7); // folded BatchNorms stay float32
  });
});

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function eventually(check: () => Promise<unknown>, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
