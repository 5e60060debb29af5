// --arch dcgan end to end through the real CLI, on a small real colour folder (Adwaita's icons,
// 16 px RGB, three classes): train a conditional run, export fp32/fp16 ONNX and tfjs, serve by
// class name on /v1 and /v2, resume equality, and the memory check refusing a size up front.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliResult } from './helpers/cli.js';
import { ICON_CLASSES, writeIconSet } from './helpers/image-sets.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('onnxgan-dcgan-');
const icons = path.join(tmp, 'icons');
// 48 images in batches of 16: 3 generator steps (2 critic steps each) per epoch. The reference
// recipe has no learning-rate decay fitted to --epochs, so a run of 1 epoch can be resumed to 2.
const train = (out: string, epochs: number, extra: string[] = []): Promise<CliResult> =>
  runCli([
    'train',
    '--model',
    'cgan',
    '--arch',
    'dcgan',
    '--recipe',
    'reference',
    '--ema',
    '0.9',
    '--data',
    icons,
    '--image-size',
    '16',
    '--limit',
    '48',
    '--batch',
    '16',
    '--critic-steps',
    '2',
    '--epochs',
    String(epochs),
    '--sample-every',
    '10',
    '--out',
    out,
    ...extra,
  ]);
const checkpoint = (run: string) => JSON.parse(readFileSync(path.join(run, 'checkpoint.json'), 'utf8'));

beforeAll(() => {
  writeIconSet(icons);
});

describe('--arch dcgan', () => {
  const run = path.join(tmp, 'run');
  let trained: Promise<CliResult>;
  beforeAll(() => {
    trained = train(run, 2);
  });

  it('trains on wasm with tfjs autodiff (saying why), with the architecture in the checkpoint', async () => {
    const r = await trained;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^backend: (wasm|tensorflow) /m); // not the cpu fallback: the conv kernels are there
    expect(r.stderr).toMatch(/^step: tfjs autodiff on \w+ \(the hand-written step runs the MLPs: .+; tfjs's wasm convolutions .+\)$/m);
    const ckpt = checkpoint(run);
    expect(ckpt.options.arch).toBe('dcgan');
    expect(ckpt.architecture.imageShape).toEqual([3, 16, 16]);
    expect(ckpt.architecture.generator.layers.map((l: { type: string }) => l.type)).toContain('ConvTranspose2D');
    expect(ckpt.position.step).toBe(6);
  });

  it('exports fp32 (<= 1e-5 from tfjs) and fp16 ONNX that pass onnx.checker, and a tfjs LayersModel', async () => {
    expect((await trained).code).toBe(0);
    for (const precision of ['fp32', 'fp16']) {
      const out = path.join(tmp, precision === 'fp32' ? 'icons.onnx' : 'icons-fp16.onnx');
      const r = await runCli(['export', run, '--out', out, '--precision', precision]);
      expect(r.code, r.stderr).toBe(0);
      const diff = Number(/max \|tfjs - onnxruntime\| = (\S+)/.exec(r.stdout)![1]);
      expect(diff).toBeLessThanOrEqual(precision === 'fp32' ? 1e-5 : 2e-2);
      expect(r.stdout).toMatch(/outputs +image float32 \[N, 3, 16, 16\]/);
      execFileSync('/usr/bin/python3', ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', out], {
        stdio: 'pipe',
      });
    }
    const tfjsDir = path.join(tmp, 'dcgan-tfjs');
    const t = await runCli(['export', run, '--out', tfjsDir, '--format', 'tfjs']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/max \|tfjs - ONNX export\| = /);
    expect(existsSync(path.join(tfjsDir, 'model.json'))).toBe(true);
  });

  it('serves by class name on /v1 and /v2 with [3, 16, 16] images', async () => {
    expect((await trained).code).toBe(0);
    const models = path.join(tmp, 'models');
    mkdirSync(models, { recursive: true });
    const exported = path.join(tmp, 'icons.onnx');
    // the export test's file, when it ran
    if (!existsSync(exported)) expect((await runCli(['export', run, '--out', exported])).code).toBe(0);
    copyFileSync(exported, path.join(models, 'icons.onnx'));
    const { child, done } = startCli(['serve', '--models', models, '--port', '0', '--log-format', 'json', '--no-access-log']);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d;
          const m = /"url":"(http:[^"]+)"[^\n]*"msg":"listening"/.exec(out);
          if (m) resolve(m[1]!.replace(/\/$/, ''));
        });
        void done.then((r) => reject(new Error(`serve exited (${r.code}):\n${out}${r.stderr}`)));
      });
      const post = (p: string, body: object): Promise<Response> =>
        fetch(`${url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const png = await post('/v1/models/icons/generate', { label: 'places', count: 1, seed: 3, format: 'png' });
      expect(png.status).toBe(200);
      const img = PNG.sync.read(Buffer.from(await png.arrayBuffer()));
      expect([img.width, img.height]).toEqual([16, 16]);
      const tensor = await (await post('/v1/models/icons/generate', { label: 'places', count: 2, seed: 3, format: 'tensor' })).json();
      expect(tensor.shape).toEqual([2, 3, 16, 16]);
      const v2 = await post('/v2/models/icons/infer', {
        inputs: [
          { name: 'noise', shape: [2, 100], datatype: 'FP32', data: Array.from({ length: 200 }, (_, i) => Math.sin(i)) },
          { name: 'label', shape: [2], datatype: 'INT64', data: [ICON_CLASSES.indexOf('places'), 0] },
        ],
      });
      expect(v2.status).toBe(200);
      const out = (await v2.json()).outputs[0];
      expect(out.shape).toEqual([2, 3, 16, 16]);
      expect(out.data.every((v: number) => v >= -1 && v <= 1)).toBe(true);
      expect((await post('/v1/models/icons/generate', { label: 'cactus' })).status).toBe(400);
    } finally {
      child.kill('SIGTERM');
      await done;
    }
  });

  it('a run stopped after epoch 1 and resumed has the weights of the uninterrupted run', async () => {
    expect((await trained).code).toBe(0);
    const resumed = path.join(tmp, 'resumed');
    expect((await train(resumed, 1)).code).toBe(0);
    const again = await train(resumed, 2, ['--resume']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming .* at epoch 2/);
    const [a, b] = [checkpoint(run), checkpoint(resumed)];
    expect(b.position.step).toBe(a.position.step);
    // Same draws in the same order from the stored RNG state: equal up to float rounding of Adam's restored bias corrections.
    const values = (c: { weights: Record<string, { data: string }> }, k: string): Float32Array => {
      const bytes = Buffer.from(c.weights[k]!.data, 'base64');
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    };
    const keys = Object.keys(a.weights);
    expect(Object.keys(b.weights)).toEqual(keys);
    for (const k of keys) {
      const [x, y] = [values(a, k), values(b, k)];
      let max = 0;
      for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
      expect(max, k).toBeLessThanOrEqual(1e-5);
    }
  });

  it('refuses an image size whose layer outputs cannot fit, at the start, with the number', async () => {
    const started = Date.now();
    const out = path.join(tmp, 'huge');
    const r = await runCli(['train', '--model', 'cgan', '--arch', 'dcgan', '--data', icons, '--image-size', '4096', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/^data: /m); // refused before decoding
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(
        /^onnxgan train: 4096x4096 images with 1 channel make cgan's dcgan /.source +
          /networks [\d.]+ M parameters: training needs about [\d.]+ GB /.source +
          /\(the layer outputs of a batch of 16: [\d.]+ M values per image\), /.source +
          /more than .*; use a smaller --image-size \(\d+x\d+ fits/.source,
      ),
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(existsSync(out)).toBe(false);
  });
});

describe('a dcgan digit model', () => {
  it('trains on the embedded digits, exports, is scored by eval and gets a Triton config of [1, 28, 28] images', async () => {
    const run = path.join(tmp, 'digits');
    const t = await runCli(
      ['train', '--model', 'cgan', '--arch', 'dcgan', '--recipe', 'reference', '--limit', '64', '--batch', '32'].concat([
        '--critic-steps',
        '1',
        '--epochs',
        '1',
        '--out',
        run,
      ]),
    );
    expect(t.code, t.stderr).toBe(0);
    const models = path.join(tmp, 'digit-models');
    mkdirSync(models, { recursive: true });
    const onnx = path.join(models, 'digits.onnx');
    const e = await runCli(['export', run, '--out', onnx]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/outputs +image float32 \[N, 1, 28, 28\]/);
    const ev = await runCli(['eval', onnx, '--n', '200', '--bootstrap', '0', '--no-ceiling', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const report = JSON.parse(ev.stdout);
    expect(report.data).toBe('mnist');
    expect(report.generator.fid).toBeGreaterThan(0);
    expect(report.generator.accuracy).toBeGreaterThanOrEqual(0);
    const repo = path.join(tmp, 'triton-repo');
    const tr = await runCli(['triton', '--models', models, '--out', repo]);
    expect(tr.code, tr.stderr).toBe(0);
    const config = readFileSync(path.join(repo, 'digits', 'config.pbtxt'), 'utf8');
    expect(config.replace(/\s+/g, ' ')).toMatch(/name: "image" data_type: TYPE_FP32 dims: \[ 1, 28, 28 \]/);
  }, 120_000);
});
