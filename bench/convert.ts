// Conversion speed (not a unit test): `onnxgan convert` on ~10 MB tfjs models (a MobileNet-style
// LayersModel, a DCGAN-style generator LayersModel and a GraphModel), end to end as a user runs it
// (node start-up, reading, converting, the parity check, writing), against the peer of loading the
// same model in tfjs and running it once (what any use of the model costs).
//   npm run build && node dist/bench/convert.js [--rounds 3] [--out FILE.md] [--keep DIR] [--baseline OTHER/cli.js]
// (paste the table into bench/RESULTS.md). --baseline times another build's CLI in the same rounds
// (e.g. a copy of dist/ made before a change).
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { selectBackend } from '../backend/select.js';
import { Rng } from '../common/rng.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/cli.js');
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: '/tmp/onnxgan-convert-bench.md' },
    keep: { type: 'string' },
    baseline: { type: 'string' },
  },
});
const L = tf.layers;
const SHARD = 4 * 1024 * 1024;

/** model.json + 4 MB shards, as tensorflowjs_converter and model.save() write them. */
function write(dir: string, json: object, specs: { name: string; shape: number[]; dtype: string }[], data: Uint8Array): void {
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  const count = Math.ceil(data.length / SHARD);
  for (let i = 0; i < count; i++) {
    paths.push(`group1-shard${i + 1}of${count}.bin`);
    writeFileSync(path.join(dir, paths[i]!), data.subarray(i * SHARD, (i + 1) * SHARD));
  }
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...json, weightsManifest: [{ paths, weights: specs }] }));
}

async function saveLayers(model: tf.LayersModel, dir: string): Promise<void> {
  for (const l of model.layers) {
    if (l.getClassName() === 'BatchNormalization')
      l.setWeights(l.getWeights().map((w, i) => (i === 3 ? tf.onesLike(w).mul(1.5) : w.clone())));
  }
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      write(
        dir,
        { format: 'layers-model', generatedBy: a.generatedBy, convertedBy: null, modelTopology: a.modelTopology },
        a.weightSpecs!,
        new Uint8Array(a.weightData as ArrayBuffer),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

function mobileNet(): tf.LayersModel {
  const x = tf.input({ shape: [64, 64, 3], name: 'image' });
  let h = L.reLU({ maxValue: 6 }).apply(
    L.batchNormalization().apply(L.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same' }).apply(x)),
  ) as tf.SymbolicTensor;
  for (const [f, s] of [
    [64, 1],
    [128, 2],
    [128, 1],
    [256, 2],
    [256, 1],
    [512, 2],
    [512, 1],
    [512, 1],
    [1024, 2],
  ] as const) {
    h = L.reLU({ maxValue: 6 }).apply(
      L.batchNormalization().apply(L.depthwiseConv2d({ kernelSize: 3, strides: s, padding: 'same', useBias: false }).apply(h)),
    ) as tf.SymbolicTensor;
    h = L.reLU({ maxValue: 6 }).apply(
      L.batchNormalization().apply(L.conv2d({ filters: f, kernelSize: 1, useBias: false }).apply(h)),
    ) as tf.SymbolicTensor;
  }
  const y = L.dense({ units: 1000, activation: 'softmax' }).apply(L.globalAveragePooling2d({}).apply(h)) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: y, name: 'mobilenet_like' });
}

function generator(): tf.LayersModel {
  const z = tf.input({ shape: [128], name: 'noise' });
  const label = tf.input({ shape: [1], name: 'label', dtype: 'int32' });
  const embedded = L.flatten().apply(L.embedding({ inputDim: 10, outputDim: 128 }).apply(label)) as tf.SymbolicTensor;
  let h = L.multiply().apply([z, embedded]) as tf.SymbolicTensor;
  h = L.leakyReLU({ alpha: 0.2 }).apply(L.batchNormalization().apply(L.dense({ units: 7 * 7 * 256 }).apply(h))) as tf.SymbolicTensor;
  h = L.reshape({ targetShape: [7, 7, 256] }).apply(h) as tf.SymbolicTensor;
  h = L.leakyReLU({ alpha: 0.2 }).apply(
    L.batchNormalization().apply(L.conv2dTranspose({ filters: 128, kernelSize: 5, strides: 2, padding: 'same' }).apply(h)),
  ) as tf.SymbolicTensor;
  h = L.leakyReLU({ alpha: 0.2 }).apply(
    L.batchNormalization().apply(L.conv2dTranspose({ filters: 64, kernelSize: 5, strides: 1, padding: 'same' }).apply(h)),
  ) as tf.SymbolicTensor;
  h = L.conv2dTranspose({ filters: 1, kernelSize: 5, strides: 2, padding: 'same', activation: 'tanh' }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: [z, label], outputs: h, name: 'dcgan_generator' });
}

/** A GraphModel of fused convolutions and matmuls (as grappler leaves a SavedModel), ~10 MB of constants. */
function graphModel(dir: string): void {
  const rng = new Rng(1);
  const nodes: object[] = [];
  const specs: { name: string; shape: number[]; dtype: string }[] = [];
  const chunks: Float32Array[] = [];
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const dims = (s: number[]) => ({ dim: s.map((d) => ({ size: String(d) })) });
  const constant = (name: string, shape: number[]): string => {
    const n = shape.reduce((a, b) => a * b, 1);
    chunks.push(Float32Array.from({ length: n }, () => (rng.uniform() - 0.5) * (2 / Math.sqrt(n / shape[shape.length - 1]!))));
    specs.push({ name, shape, dtype: 'float32' });
    nodes.push({
      name,
      op: 'Const',
      attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(shape) } }, dtype: { type: 'DT_FLOAT' } },
    });
    return name;
  };
  const fused = (ops: string[]) => ({ fused_ops: { list: { s: ops.map(b64) } }, num_args: { i: '1' }, T: { type: 'DT_FLOAT' } });
  nodes.push({ name: 'input', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims([-1, 32, 32, 3]) } } });
  let x = 'input';
  let c = 3;
  for (const [i, f] of [32, 64, 128, 256, 512].entries()) {
    const name = `model/conv${i}/Relu`;
    nodes.push({
      name,
      op: '_FusedConv2D',
      input: [x, constant(`model/conv${i}/kernel`, [3, 3, c, f]), constant(`model/conv${i}/bias`, [f])],
      attr: {
        ...fused(['BiasAdd', 'Relu']),
        strides: { list: { i: ['1', '2', '2', '1'] } },
        padding: { s: b64('SAME') },
        data_format: { s: b64('NHWC') },
        dilations: { list: { i: ['1', '1', '1', '1'] } },
      },
    });
    [x, c] = [name, f];
  }
  nodes.push({
    name: 'model/flatten',
    op: 'Reshape',
    input: [x, 'model/flatten/shape'],
    attr: { T: { type: 'DT_FLOAT' }, Tshape: { type: 'DT_INT32' } },
  });
  nodes.push({
    name: 'model/flatten/shape',
    op: 'Const',
    attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: dims([2]) } }, dtype: { type: 'DT_INT32' } },
  });
  specs.push({ name: 'model/flatten/shape', shape: [2], dtype: 'int32' });
  const shape = new Float32Array(new Int32Array([-1, 512]).buffer);
  chunks.push(shape);
  nodes.push({
    name: 'model/dense/Relu',
    op: '_FusedMatMul',
    input: ['model/flatten', constant('model/dense/kernel', [512, 2048]), constant('model/dense/bias', [2048])],
    attr: { ...fused(['BiasAdd', 'Relu']), transpose_a: { b: false }, transpose_b: { b: false } },
  });
  nodes.push({
    name: 'model/out/BiasAdd',
    op: '_FusedMatMul',
    input: ['model/dense/Relu', constant('model/out/kernel', [2048, 10]), constant('model/out/bias', [10])],
    attr: { ...fused(['BiasAdd']), transpose_a: { b: false }, transpose_b: { b: false } },
  });
  nodes.push({ name: 'Identity', op: 'Identity', input: ['model/out/BiasAdd'], attr: { T: { type: 'DT_FLOAT' } } });
  const data = new Uint8Array(chunks.reduce((n, a) => n + a.byteLength, 0));
  let at = 0;
  for (const a of chunks) {
    data.set(new Uint8Array(a.buffer), at);
    at += a.byteLength;
  }
  const signature = {
    inputs: { input: { name: 'input:0', dtype: 'DT_FLOAT' } },
    outputs: { logits: { name: 'Identity:0', dtype: 'DT_FLOAT' } },
  };
  write(
    dir,
    {
      format: 'graph-model',
      generatedBy: '2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      signature,
      modelTopology: { node: nodes, versions: { producer: 1645 } },
    },
    specs,
    data,
  );
}

/** Wall and CPU seconds of `node ARGS` (CPU read by a preloaded exit hook: the child's own user + system time). */
function timed(script: string[], env: Record<string, string> = {}): { wall: number; cpu: number; stdout: string } {
  const hook = path.join(os.tmpdir(), `onnxgan-cpu-hook-${process.pid}.cjs`);
  const report = path.join(os.tmpdir(), `onnxgan-cpu-${process.pid}.txt`);
  writeFileSync(
    hook,
    `process.on('exit', () => { const u = process.cpuUsage(); require('fs').writeFileSync(` +
      `${JSON.stringify(report)}, String((u.user + u.system) / 1e6)); });`,
  );
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--require', hook, ...script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${script.join(' ')} failed: ${r.stderr}`);
  return { wall, cpu: Number(readFileSync(report, 'utf8')), stdout: r.stdout };
}

/** The peer: load the same files with tfjs and run the model once on one input. */
const PEER =
  `
const tf = require('@tensorflow/tfjs');
const fs = require('fs'), path = require('path');
(async () => {
  const { selectBackend } = await import(${JSON.stringify(path.join(ROOT, 'dist/backend/select.js'))});
  await selectBackend('auto');
  const dir = process.argv[1];
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const artifacts = await tf.io.getModelArtifactsForJSON(json, async (m) => {
    const b = Buffer.concat(m.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
    return [m.flatMap((g) => g.weights), b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)];
  });
  const handler = tf.io.fromMemory(artifacts);
  const model = json.format === 'graph-model' ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);
  const inputs = (model.inputs).map((t) => t.dtype === 'int32' ? tf.zeros(t.shape.map((d) => d == null || d < 0 ? 1 : d), ` +
  `'int32') : tf.randomUniform(t.shape.map((d) => d == null || d < 0 ? 1 : d)));
  const y = json.format === 'graph-model' ? model.execute(inputs[0]) : model.predict(inputs.length === 1 ? inputs[0] : ` +
  `inputs);
  (Array.isArray(y) ? y : [y]).forEach((t) => t.dataSync());
  process.exit(0);
})();`;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await selectBackend('auto');
// --keep DIR: write the models there and keep them (to profile one conversion).
const work = args.keep ?? mkdtempSync(path.join(os.tmpdir(), 'onnxgan-convert-bench-'));
try {
  const cases: [string, string][] = [
    ['MobileNet-style LayersModel (Conv2D, DepthwiseConv2D, BatchNorm, ReLU6, Dense)', path.join(work, 'mobilenet')],
    ['DCGAN generator LayersModel (Embedding, Dense, BatchNorm, Conv2DTranspose)', path.join(work, 'generator')],
    ['GraphModel (_FusedConv2D, _FusedMatMul)', path.join(work, 'graph')],
  ];
  await saveLayers(mobileNet(), cases[0]![1]);
  await saveLayers(generator(), cases[1]![1]);
  graphModel(cases[2]![1]);
  const rounds = Number(args.rounds);
  const rows: string[] = [];
  for (const [label, dir] of cases) {
    const bytes = readdirBytes(dir);
    const convert: { wall: number; cpu: number }[] = [];
    const peer: { wall: number; cpu: number }[] = [];
    const base: { wall: number; cpu: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      if (args.baseline) base.push(timed([args.baseline, 'convert', dir, '--out', path.join(work, 'out.onnx')]));
      convert.push(timed([CLI, 'convert', dir, '--out', path.join(work, 'out.onnx')]));
      peer.push(timed(['-e', PEER, dir]));
    }
    const load = os.loadavg()[0]!.toFixed(1);
    const ratio = convert.map((c, i) => c.wall / peer[i]!.wall);
    const baseline = args.baseline
      ? ` ${base.map((c) => `${c.wall.toFixed(2)} (${c.cpu.toFixed(2)})`).join(' / ')} | ` +
        `${median(convert.map((c, i) => c.cpu / base[i]!.cpu)).toFixed(2)}x |`
      : '';
    rows.push(
      `| ${label} | ${(bytes / 1e6).toFixed(1)} MB | ${convert.map((c) => c.wall.toFixed(2)).join(' / ')} ` +
        `| ${convert.map((c) => c.cpu.toFixed(2)).join(' / ')} | ` +
        `${peer.map((p) => p.wall.toFixed(2)).join(' / ')} | ${median(ratio).toFixed(2)}x | ${load} |` +
        `${baseline}`,
    );
    console.log(rows.at(-1));
  }
  const table = [
    `Command: \`npm run build && node dist/bench/convert.js --rounds ${rounds}` +
      `${args.baseline ? ` --baseline ${args.baseline}` : ''}\` (${new Date().toISOString().slice(0, 10)}, ` +
      `${os.cpus().length} cores)`,
    '',
    `| model | weights | \`onnxgan convert\` wall s, per round | its CPU s | peer: tfjs load + one run, ` +
      `wall s | convert / peer (median) | load average |` +
      `${args.baseline ? ' baseline wall s (CPU s) | CPU / baseline CPU (median) |' : ''}`,
    `|---|---|---|---|---|---|---|${args.baseline ? '---|---|' : ''}`,
    ...rows,
  ].join('\n');
  writeFileSync(args.out!, `${table}\n`);
  console.log(`\n${table}\n\nwritten to ${args.out}`);
} finally {
  if (!args.keep) rmSync(work, { recursive: true, force: true });
}
process.exit(0);

function readdirBytes(dir: string): number {
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
  return json.weightsManifest.flatMap((g) => g.paths).reduce((n, p) => n + statSync(path.join(dir, p)).size, 0);
}
