// Export: each model kind from a short real run, parity with tfjs, the independent ONNX checker,
// a layer stack that is none of the three, refusal of unknown layers, and `onnxgan info`.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { runCli } from './helpers/cli.js';
import { selectBackend } from '../backend/select.js';
import { Sequential, type Layer } from '../train/layers.js';
import { Rng } from '../common/rng.js';
import { exportGenerator } from '../export/export.js';
import { readModelInfo } from '../export/onnx-read.js';
import { DIGIT_CLASSES, type ModelMetadata } from '../common/metadata.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('onnxgan-export-');
const PYTHON = '/usr/bin/python3';

function onnxCheck(file: string): void {
  execFileSync(PYTHON, ['-c', 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)', file], {
    stdio: 'pipe',
  });
}

const meta = (kind: ModelMetadata['kind'], classes: string[] | null): ModelMetadata => ({
  kind,
  noiseDim: 100,
  noise: 'uniform(-1,1)',
  classes,
  dataset: 'test',
  epochs: 0,
  steps: 0,
  valueRange: [-1, 1],
  imageShape: [1, 28, 28],
});

beforeAll(async () => {
  await selectBackend('auto');
});

describe('onnxgan export', () => {
  for (const model of ['gan', 'wgan-gp', 'cgan'] as const) {
    it(`${model}: exports fp32 and fp16 files that match tfjs and pass onnx.checker`, async () => {
      const run = path.join(tmp, model);
      const t = await runCli([
        'train',
        '--model',
        model,
        '--limit',
        '300',
        '--batch',
        '300',
        '--epochs',
        '1',
        '--ema',
        '0.9',
        '--out',
        run,
      ]);
      expect(t.code, t.stderr).toBe(0);
      const sizes: Record<string, number> = {};
      for (const precision of ['fp32', 'fp16']) {
        const out = path.join(tmp, `${model}-${precision}.onnx`);
        const r = await runCli(['export', run, '--out', out, '--precision', precision]);
        expect(r.code, r.stderr).toBe(0);
        const diff = Number(/max \|tfjs - onnxruntime\| = (\S+)/.exec(r.stdout)![1]);
        expect(diff).toBeLessThanOrEqual(precision === 'fp32' ? 1e-4 : 2e-2);
        expect(r.stdout).toMatch(`onnxgan.kind         ${model}`);
        onnxCheck(out);
        const info = readModelInfo(out);
        expect(info.irVersion).toBe(8);
        expect(info.opset).toBe(17);
        expect(info.inputs).toEqual(model === 'cgan' ? ['noise', 'label'] : ['noise']);
        expect(info.outputs).toEqual(['image']);
        expect(info.metadata).toMatchObject({ kind: model, noiseDim: 100, epochs: 1, steps: 1, dataset: 'mnist', ema: 0.9 });
        expect(info.metadata.classes).toEqual(model === 'cgan' ? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] : null);
        sizes[precision] = statSync(out).size;
      }
      expect(sizes.fp16! / sizes.fp32!).toBeLessThan(0.55);
    });
  }

  it('exports a layer stack that is none of the three models, and it matches', async () => {
    const net = new Sequential(
      'g',
      {
        inputDim: 100,
        layers: [
          { type: 'Dense', inputDim: 100, units: 50 },
          { type: 'LabelEmbedding', numClasses: 3, dim: 7 },
          { type: 'BatchNorm', units: 57, momentum: 0.1, epsilon: 1e-3 },
          { type: 'ReLU' },
          { type: 'Dropout', rate: 0.2 },
          { type: 'Dense', inputDim: 57, units: 40 },
          { type: 'Sigmoid' },
          { type: 'LeakyReLU', alpha: 0.1 },
          { type: 'Dense', inputDim: 40, units: 784 },
          { type: 'Tanh' },
        ],
      },
      new Rng(3),
    );
    // Non-trivial running statistics so the BatchNorm folding is exercised.
    for (let i = 0; i < 5; i++)
      tf.tidy(() =>
        net.apply(tf.randomNormal([64, 100], 0.5, 2) as tf.Tensor2D, {
          training: true,
          rng: new Rng(4),
          labels: tf.tensor1d(
            Array.from({ length: 64 }, (_, j) => j % 3),
            'int32',
          ),
        }),
      );
    const out = path.join(tmp, 'custom.onnx');
    const r = await exportGenerator(net, meta('cgan', ['a', 'b', 'c']), out);
    expect(r.maxAbsDiff).toBeLessThan(1e-4);
    onnxCheck(out);
    net.dispose();
  });

  it('refuses a layer it does not know, naming the layer and its class', async () => {
    class Swish implements Layer {
      readonly name = 'g/1_swish';
      readonly config = { type: 'Swish' } as never;
      readonly trainable: tf.Variable[] = [];
      readonly state: tf.Variable[] = [];
      apply(x: tf.Tensor2D): tf.Tensor2D {
        return tf.mul(x, tf.sigmoid(x));
      }
      outputDim(d: number): number {
        return d;
      }
    }
    const net = new Sequential('g', { inputDim: 100, layers: [{ type: 'Dense', inputDim: 100, units: 784 }] }, new Rng(1));
    net.layers.push(new Swish());
    const out = path.join(tmp, 'swish.onnx');
    await expect(exportGenerator(net, meta('gan', null), out)).rejects.toThrow(/layer "g\/1_swish" of class Swish/);
    expect(existsSync(out)).toBe(false);
    net.dispose();
  });

  it('reports missing and corrupt checkpoints clearly', async () => {
    const missing = await runCli(['export', path.join(tmp, 'nothing'), '--out', path.join(tmp, 'x.onnx')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nothing\/checkpoint.json: no checkpoint here/);
    const corrupt = path.join(tmp, 'corrupt.json');
    writeFileSync(corrupt, '{"format": "onnxgan-checkpoint/1", "spec": {');
    const bad = await runCli(['export', corrupt, '--out', path.join(tmp, 'x.onnx')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/corrupt checkpoint/);
    expect(existsSync(path.join(tmp, 'x.onnx'))).toBe(false);
  });

  it('onnxgan info prints the interface and metadata', async () => {
    // A small conditional generator of its own (the trained ones belong to the tests above).
    const net = new Sequential(
      'g',
      {
        inputDim: 100,
        layers: [
          { type: 'Dense', inputDim: 100, units: 20 },
          { type: 'LabelEmbedding', numClasses: 10, dim: 4 },
          { type: 'Dense', inputDim: 24, units: 784 },
          { type: 'Tanh' },
        ],
      },
      new Rng(5),
    );
    const model = path.join(tmp, 'info-cgan.onnx');
    await exportGenerator(net, meta('cgan', DIGIT_CLASSES), model);
    net.dispose();
    const r = await runCli(['info', model]);
    expect(r.code, r.stderr).toBe(0);
    for (const k of [
      'ONNX IR 8, opset 17',
      'inputs               noise float32 [N, 100], label int64 [N]',
      'onnxgan.noise_dim    100',
      'onnxgan.classes',
      'onnxgan.noise        uniform(-1,1)',
    ])
      expect(r.stdout).toContain(k);
    const corrupt = path.join(tmp, 'info-corrupt.json');
    writeFileSync(corrupt, '{"format": "onnxgan-checkpoint/1", "spec": {');
    const bad = await runCli(['info', corrupt]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a valid ONNX file|missing metadata/);
  });
});
