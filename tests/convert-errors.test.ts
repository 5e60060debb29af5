// Bad input to `onnxgan convert`: every broken or unsupported model gets a one-line error naming the
// problem, exit code 1 (2 for usage), and no output file (an existing one is left as it was).
import * as tf from '@tensorflow/tfjs';
import { appendFileSync, cpSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../common/rng.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { saveLayersModel } from './helpers/tfjs-models.js';
import { expectRefusal, modelVariant, saveSmallModel } from './helpers/convert-cases.js';

const tmp = tempDir('onnxgan-convert-errors-');
const L = tf.layers;
let good: string; // a valid model folder, copied and broken per case

/** A copy of the good model, changed by `edit` (model.json as an object, and the folder). */
const broken = (name: string, edit: (json: any, dir: string) => void): string => modelVariant(good, path.join(tmp, name), edit);

/** Runs convert and checks the failure: exit code, a single stderr line, and no new output file. */
async function fails(model: string, pattern: RegExp, extra: string[] = [], code = 1): Promise<string> {
  const out = path.join(tmp, `${path.basename(model)}.onnx`);
  writeFileSync(out, 'previous file');
  const line = expectRefusal(await runCli(['convert', model, '--out', out, ...extra]), pattern, code);
  expect(readFileSync(out, 'utf8')).toBe('previous file');
  rmSync(out);
  return line;
}

beforeAll(async () => {
  good = await saveSmallModel(path.join(tmp, 'good'));
});

describe('onnxgan convert refuses bad input clearly', () => {
  it('converts the unbroken model (the cases below break only one thing)', async () => {
    const r = await runCli(['convert', good, '--out', path.join(tmp, 'good.onnx')]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('names a missing, corrupt or foreign model.json', async () => {
    await fails(path.join(tmp, 'nowhere', 'model.json'), /nowhere\/model.json: no such file/);
    const corrupt = path.join(tmp, 'corrupt');
    cpSync(good, corrupt, { recursive: true });
    truncateSync(path.join(corrupt, 'model.json'), 50);
    await fails(corrupt, /corrupt\/model.json: not valid JSON/);
    const foreign = path.join(tmp, 'foreign.json');
    writeFileSync(foreign, JSON.stringify({ name: 'not a model', version: 1 }));
    await fails(foreign, /no modelTopology: not a tfjs model.json/);
    await fails(
      broken('no-manifest', (j) => (j.weightsManifest = { paths: 'x' })),
      /weightsManifest is not a list of weight groups/,
    );
  });

  it('names a missing, short, long or escaping weight shard', async () => {
    const shards = JSON.parse(readFileSync(path.join(good, 'model.json'), 'utf8')).weightsManifest[0].paths as string[];
    expect(shards.length).toBeGreaterThan(2);
    await fails(
      broken('missing-shard', (_, d) => rmSync(path.join(d, shards[1]!))),
      new RegExp(`weight group 1: shard ${shards[1]} is missing`),
    );
    await fails(
      broken('short-shard', (_, d) => truncateSync(path.join(d, shards.at(-1)!), 10)),
      /weight group 1 \(group1-shard1of\d+\.bin.*\) hold \d+ bytes, but the manifest's weights need \d+ .*a shard is truncated or missing/,
    );
    await fails(
      broken('long-shard', (_, d) => appendFileSync(path.join(d, shards.at(-1)!), Buffer.alloc(12))),
      /hold \d+ bytes, but the manifest's 4 weights take \d+: the manifest does not match the shards/,
    );
    await fails(
      broken('escape', (j) => (j.weightsManifest[0].paths[0] = '../good/x.bin')),
      /shard "..\/good\/x.bin" is outside the model's folder/,
    );
  });

  it('names a weight whose manifest shape, dtype or quantization is wrong', async () => {
    // Same byte count, other shape: only the model's own shape tells.
    await fails(
      broken('transposed', (j) => (j.weightsManifest[0].weights[0].shape = [16, 8])),
      /weight "hidden\/kernel" of layer "hidden" is \[8, 16\] in the model but \[16, 8\] in the weights manifest/,
    );
    await fails(
      broken('bigger', (j) => (j.weightsManifest[0].weights[1].shape = [17])),
      /need \d+ \(weight "hidden\/bias" \[17\]|manifest does not match/,
    );
    await fails(
      broken('float64', (j) => (j.weightsManifest[0].weights[2].dtype = 'float64')),
      /weight "out\/kernel" has unknown dtype "float64" \(tfjs weights are float32, int32, bool, string, complex64\)/,
    );
    await fails(
      broken('int4', (j) => (j.weightsManifest[0].weights[0].quantization = { dtype: 'int4', min: 0, scale: 1 })),
      /weight "hidden\/kernel" has unknown quantization "int4"/,
    );
    await fails(
      broken('no-scale', (j) => (j.weightsManifest[0].weights[0].quantization = { dtype: 'uint8' })),
      /quantized as uint8 without numeric min and scale/,
    );
    await fails(
      broken('bad-shape', (j) => (j.weightsManifest[0].weights[0].shape = [8, -16])),
      /weight "hidden\/kernel" has shape \[8,-16\], not a list of sizes/,
    );
    await fails(
      broken('missing-weight', (j) => (j.weightsManifest[0].weights[3].name = 'out/bias_renamed')),
      /weight "out\/bias" of layer "out" is not in the weights manifest/,
    );
  });

  it('names an unknown layer class and a tfjs layer it has no mapping for, with their position and the supported list', async () => {
    const unknown = broken('unknown-layer', (j) => (j.modelTopology.config.layers[2].class_name = 'FancyAttention'));
    await fails(
      unknown,
      /unsupported layer class FancyAttention \(layer 3 of 3 \("out"\) in model "model\d*"\); supported: InputLayer, Dense, Conv2D/,
    );

    const x = tf.input({ shape: [5, 3], name: 'sequence' });
    const h = L.lstm({ units: 4, name: 'recurrent' }).apply(x) as tf.SymbolicTensor;
    const lstm = path.join(tmp, 'lstm');
    await saveLayersModel(tf.model({ inputs: x, outputs: L.dense({ units: 2 }).apply(h) as tf.SymbolicTensor, name: 'seq' }), lstm);
    await fails(lstm, /unsupported layer class LSTM: layer 2 of 3 \("recurrent"\) in model "seq"; supported: .*Conv2DTranspose.*Embedding/);
  });

  it('refuses to write a model on which tfjs and onnxruntime disagree, printing the difference', async () => {
    // Two huge, nearly opposite products: float32 rounding decides the sum, and the engines round differently.
    const x = tf.input({ shape: [256], name: 'x' });
    const a = L.dense({ units: 4, useBias: false });
    const b = L.dense({ units: 4, useBias: false });
    const model = tf.model({ inputs: x, outputs: L.add().apply([a.apply(x), b.apply(x)]) as tf.SymbolicTensor });
    const rng = new Rng(1);
    const w = Float32Array.from({ length: 256 * 4 }, () => (rng.uniform() - 0.5) * 2e7);
    a.setWeights([tf.tensor2d(w, [256, 4])]);
    b.setWeights([
      tf.tensor2d(
        w.map((v) => -v * (1 + 1e-7)),
        [256, 4],
      ),
    ]);
    const dir = path.join(tmp, 'ill-conditioned');
    await saveLayersModel(model, dir);
    await fails(dir, /tfjs and onnxruntime differ by \d\.\d\de[+-]\d+ \(> 0.0001\): not writing .*ill-conditioned.onnx/);
  });

  it('refuses --as-generator for models that are not generators, and generator options without it', async () => {
    await fails(good, /the output out \[N, 6\] is not an image/, ['--as-generator']);
    await fails(good, /--noise-dim 100 does not match the noise input x, which takes 8 values per row/, [
      '--as-generator',
      '--noise-dim',
      '100',
    ]);
    await fails(good, /--classes needs a model with two inputs \(noise and label\); this one has 1: x \[N, 8\] float32/, [
      '--as-generator',
      '--classes',
      'a,b',
    ]);
    await fails(good, /--noise-dim, --classes, --value-range and --dataset go with --as-generator/, ['--classes', 'a,b'], 2);
  });

  it('leaves no temporary file behind', () => {
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
