// Where `export --format tfjs` and the ONNX export part (not a unit test): the shipped generators
// layer by layer in onnxruntime (the ONNX graph of export/layer-mapping.ts), in tfjs (the LayersModel
// of export/tfjs-format.ts, wasm and cpu backends) and in float64 (plain JS numbers, the exact
// mathematics on the same float32 weights and inputs).
//   npm run build && node dist/bench/tfjs-export-precision.js [cgan gan wgan-gp]
// Per layer and engine: `acc` = max |engine - float64| after this layer (errors carried from earlier
// layers included), `local` = max |engine - float64 of this layer on the engine's own input| (what
// this layer's kernel adds), and for Dense `local/bound` = the largest local error over
// eps32 * sum_i |w_i x_i| (the float32 rounding scale of a dot product; a faithful kernel stays
// below ~sqrt(inputs)).
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { openSession } from '../backend/ort-session.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../backend/select.js';
import { generatorLabels } from '../common/generator-runner.js';
import { IO } from '../common/metadata.js';
import { ELEM, GraphBuilder } from '../common/onnx-graph.js';
import { generatorNoise } from '../common/rng.js';
import { checkpointMetadata } from '../export/export.js';
import { PRODUCER, VERIFY_SAMPLES } from '../export/verify.js';
import { mapLayer } from '../export/layer-mapping.js';
import { generatorLayersModel } from '../export/tfjs-format.js';
import { readCheckpoint, restoreGenerator } from '../train/checkpoint.js';
import type { Layer } from '../train/layers.js';
import { Dense } from '../train/layers/dense.js';
import { LeakyReLU, ReLU, Sigmoid, Tanh } from '../train/layers/activations.js';
import { Dropout } from '../train/layers/dropout.js';
import { BatchNorm } from '../train/layers/batch-norm.js';
import { LabelEmbedding } from '../train/layers/label-embedding.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EPS32 = 2 ** -24; // unit roundoff of float32
const DOUBLE = 11; // onnx.TensorProto.DataType.DOUBLE
const f64 = (t: tf.Tensor): Float64Array => Float64Array.from(t.dataSync() as Float32Array);

interface Step {
  out: Float64Array<ArrayBufferLike>;
  /** per output element: sum |terms| (Dense only), the scale of its float32 rounding */
  mag?: Float64Array;
}

/** One layer in float64 on a row-major [n, d] input. */
function exact(layer: Layer, x: Float64Array, n: number, labels: Int32Array | null): Step {
  const d = x.length / n;
  if (layer instanceof Dense) {
    const { inputDim, units } = layer.config;
    const w = f64(layer.kernel);
    const b = f64(layer.bias);
    const out = new Float64Array(n * units);
    const mag = new Float64Array(n * units);
    for (let r = 0; r < n; r++) {
      for (let u = 0; u < units; u++) {
        let s = b[u]!;
        let m = Math.abs(b[u]!);
        for (let i = 0; i < inputDim; i++) {
          const t = x[r * inputDim + i]! * w[i * units + u]!;
          s += t;
          m += Math.abs(t);
        }
        out[r * units + u] = s;
        mag[r * units + u] = m;
      }
    }
    return { out, mag };
  }
  if (layer instanceof LeakyReLU) return { out: x.map((v) => (v < 0 ? layer.config.alpha * v : v)) };
  if (layer instanceof ReLU) return { out: x.map((v) => Math.max(v, 0)) };
  if (layer instanceof Tanh) return { out: x.map(Math.tanh) };
  if (layer instanceof Sigmoid) return { out: x.map((v) => 1 / (1 + Math.exp(-v))) };
  if (layer instanceof Dropout) return { out: x };
  if (layer instanceof BatchNorm) {
    const [g, b, m, v] = [layer.gamma, layer.beta, layer.movingMean, layer.movingVariance].map(f64) as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    return { out: x.map((val, i) => ((val - m[i % d]!) / Math.sqrt(v[i % d]! + layer.config.epsilon)) * g[i % d]! + b[i % d]!) };
  }
  if (layer instanceof LabelEmbedding) {
    const { dim } = layer.config;
    const table = f64(layer.table);
    const out = new Float64Array(n * (d + dim));
    for (let r = 0; r < n; r++) {
      out.set(x.subarray(r * d, (r + 1) * d), r * (d + dim));
      out.set(table.subarray(labels![r]! * dim, (labels![r]! + 1) * dim), r * (d + dim) + d);
    }
    return { out };
  }
  throw new Error(`no float64 form for ${layer.name}`);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Every layer's output in onnxruntime: the export's graph with each layer's tensor also an output. */
async function onnxLayers(
  layers: Layer[],
  noiseDim: number,
  noise: Float32Array,
  labels: Int32Array | null,
  n: number,
  gemm64 = false,
): Promise<Float64Array[]> {
  const g = new GraphBuilder('fp32');
  let h = g.input(IO.noise, ELEM.float, ['N', noiseDim]);
  const label = labels ? g.input(IO.label, ELEM.int64, ['N']) : null;
  const names: string[] = [];
  const double = (hint: string, t: tf.Tensor): string => g.tensor(hint, DOUBLE, new Uint8Array(f64(t).buffer), t.shape);
  for (const layer of layers) {
    // gemm64: the same graph with each Dense's Gemm in float64 (cast in and out), to see how much
    // of the difference from float64 is the Gemm's float32 summation.
    const next =
      gemm64 && layer instanceof Dense
        ? g.node(
            'Cast',
            [
              g.node('Gemm', [
                g.node('Cast', [h], { to: { i: DOUBLE } }),
                double(`${layer.name}/kernel`, layer.kernel),
                double(`${layer.name}/bias`, layer.bias),
              ]),
            ],
            { to: { i: ELEM.float } },
          )
        : mapLayer(g, layer, h, label);
    names.push(next);
    if (next !== h) g.output(next, ELEM.float, ['N', 'D']);
    h = next;
  }
  const session = await openSession(g.model('layers', {}, PRODUCER), 'check');
  const feeds: Record<string, ort.Tensor> = { [IO.noise]: new ort.Tensor('float32', noise, [n, noiseDim]) };
  if (labels) feeds[IO.label] = new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [n]);
  const out = await session.run(feeds);
  await session.release();
  return names.map((name) => (name === IO.noise ? Float64Array.from(noise) : Float64Array.from(out[name]!.data as Float32Array)));
}

/** Every layer's output in tfjs on the current backend: the exported LayersModel with each layer's output. */
function tfjsLayers(
  model: tf.LayersModel,
  count: number,
  noise: Float32Array,
  labels: Int32Array | null,
  n: number,
  noiseDim: number,
): Float64Array[] {
  const outs = Array.from({ length: count }, (_, i) => {
    const l = model.layers.find((x) => x.name === `${i}_labelembedding_concat`) ?? model.layers.find((x) => x.name.startsWith(`${i}_`))!;
    return l.output as tf.SymbolicTensor;
  });
  const probe = tf.model({ inputs: model.inputs, outputs: outs });
  const inputs = [tf.tensor2d(noise, [n, noiseDim]), ...(labels ? [tf.tensor2d(labels, [n, 1], 'int32')] : [])];
  const res = probe.predict(inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor | tf.Tensor[];
  const outs64 = (Array.isArray(res) ? res : [res]).map(f64);
  tf.dispose([inputs, res]);
  return outs64;
}

async function main(): Promise<void> {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : ['cgan', 'gan', 'wgan-gp'];
  await selectBackend('wasm');
  for (const name of names) {
    const file = path.join(ROOT, 'models/checkpoints', name, 'checkpoint.json');
    const ckpt = readCheckpoint(file);
    const { generator, ema } = restoreGenerator(ckpt, file, true);
    const meta = checkpointMetadata(ckpt, ema);
    const n = VERIFY_SAMPLES;
    const noise = generatorNoise(12345, n, meta.noiseDim);
    const labels = generatorLabels(meta, n);
    const layers = generator.layers;

    const engines: Record<string, Float64Array[]> = {
      onnxruntime: await onnxLayers(layers, meta.noiseDim, noise, labels, n),
      'onnxruntime, Gemm in float64': await onnxLayers(layers, meta.noiseDim, noise, labels, n, true),
    };
    const model = generatorLayersModel(generator, meta);
    await tf.setBackend('wasm');
    engines['tfjs-wasm'] = tfjsLayers(model, layers.length, noise, labels, n, meta.noiseDim);
    await tf.setBackend('cpu');
    engines['tfjs-cpu'] = tfjsLayers(model, layers.length, noise, labels, n, meta.noiseDim);
    await tf.setBackend('wasm');

    const ref: Step[] = [];
    let x: Float64Array<ArrayBufferLike> = Float64Array.from(noise);
    for (const layer of layers) {
      const s = exact(layer, x, n, labels);
      ref.push(s);
      x = s.out;
    }
    console.log(`\n## ${name} (${n} inputs)\n`);
    console.log(
      `| layer | max abs value | ${Object.keys(engines)
        .map((e) => `${e} acc | local | local/bound`)
        .join(' | ')} |`,
    );
    console.log(
      `|---|---|${Object.keys(engines)
        .map(() => '---|---|---')
        .join('|')}|`,
    );
    layers.forEach((layer, k) => {
      const cells = Object.values(engines).map((outs) => {
        const input = k === 0 ? Float64Array.from(noise) : outs[k - 1]!;
        const local = exact(layer, input, n, labels);
        const acc = maxAbsDiff(outs[k]!, ref[k]!.out);
        const loc = maxAbsDiff(outs[k]!, local.out);
        let bound = '';
        if (local.mag) {
          let worst = 0;
          for (let i = 0; i < local.out.length; i++)
            worst = Math.max(worst, Math.abs(outs[k]![i]! - local.out[i]!) / (EPS32 * local.mag[i]!));
          bound = worst.toFixed(2);
        }
        return `${acc.toExponential(2)} | ${loc.toExponential(2)} | ${bound}`;
      });
      const top = ref[k]!.out.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      console.log(`| ${k} ${layer.config.type} | ${top.toFixed(2)} | ${cells.join(' | ')} |`);
    });
    const last = layers.length - 1;
    const e = Object.fromEntries(Object.entries(engines).map(([k, v]) => [k, v[last]!]));
    const d = (a: string, b: string): string => maxAbsDiff(e[a]!, e[b]!).toExponential(2);
    console.log(
      `\nimages: |tfjs-wasm - onnxruntime| ${d('tfjs-wasm', 'onnxruntime')}, |tfjs-cpu - onnxruntime| ` +
        `${d('tfjs-cpu', 'onnxruntime')}, |tfjs-wasm - tfjs-cpu| ${d('tfjs-wasm', 'tfjs-cpu')}, |tfjs-cpu - ` +
        `onnxruntime Gemm64| ${d('tfjs-cpu', 'onnxruntime, Gemm in float64')}`,
    );
    model.dispose();
    generator.dispose();
  }
}

await main();
