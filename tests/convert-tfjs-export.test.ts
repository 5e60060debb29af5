// onnxgan export --format tfjs: the shipped generators as tfjs LayersModels, loaded by
// tf.loadLayersModel in Node and in Chromium (over HTTP), giving the ONNX file's images; and back
// to ONNX with onnxgan convert, which reads the metadata the tfjs model carries.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { chromium } from '@playwright/test';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import playwrightConfig from '../playwright.config.js';
import { selectBackend } from '../backend/select.js';
import { GeneratorRunner } from '../common/generator-runner.js';
import { DIGIT_CLASSES } from '../common/metadata.js';
import { readModelInfo } from '../export/onnx-read.js';
import { ROOT, runCli } from './helpers/cli.js';
import { docShBlocks } from './helpers/doc-blocks.js';
import { tempDir } from './helpers/temp-dir.js';
import { artifactsFromDir } from './helpers/tfjs-models.js';

const tmp = tempDir('onnxgan-tfjs-export-');
const N = 64;

/**
 * The docs' example under "Convert a TensorFlow.js model" (the sh block), as CLI argv with its
 * output folders (runs/, my-models/) moved into the test's temporary folder.
 */
function docsExample(): string[][] {
  return docShBlocks('Convert a TensorFlow.js model')[0]!
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean)
    .map((l) => {
      const words = l.split(/\s+/);
      expect(words.slice(0, 2)).toEqual(['npx', 'onnxgan']);
      return words.slice(2).map((w) => (/^(runs|my-models)\//.test(w) ? path.join(tmp, w) : w));
    });
}
const [exportCgan, convertBack] = docsExample() as [string[], string[]];
/** The docs' export, run once for the tests that need it (in any order). */
let exported: ReturnType<typeof runCli> | undefined;
const exportOnce = (): ReturnType<typeof runCli> => (exported ??= runCli(exportCgan));

/** The shipped ONNX file's images for seed 7 and every class in turn, through the one runner. */
async function onnxImages(file: string): Promise<{ noise: Float32Array; labels: Int32Array | null; images: Float32Array }> {
  const session = await ort.InferenceSession.create(file);
  const runner = new GeneratorRunner(session, ort.Tensor, readModelInfo(file).metadata);
  const noise = runner.noise(7, N);
  const labels = runner.labels(N);
  const images = await runner.run(noise, labels);
  await session.release();
  return { noise, labels, images };
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

beforeAll(async () => {
  await selectBackend('auto');
});

describe('onnxgan export --format tfjs', () => {
  let server: Server | undefined;
  afterAll(() => server?.close());

  it('writes the shipped cgan as a LayersModel that tf.loadLayersModel runs like the ONNX file, in Node and in Chromium', async () => {
    // The docs' example: `export models/checkpoints/cgan --format tfjs --out runs/cgan-tfjs`.
    expect(exportCgan.slice(0, 4)).toEqual(['export', 'models/checkpoints/cgan', '--format', 'tfjs']);
    const dir = exportCgan[exportCgan.indexOf('--out') + 1]!;
    const r = await exportOnce();
    expect(r.code, r.stderr).toBe(0);
    expect(Number(/max \|tfjs - ONNX export\| = (\S+)/.exec(r.stdout)![1])).toBeLessThan(1e-4);
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['group1-shard1of1.bin']);
    expect(json.userDefinedMetadata.onnxgan).toMatchObject({
      'onnxgan.kind': 'cgan',
      'onnxgan.noise_dim': '100',
      'onnxgan.dataset': 'mnist',
    });

    // Node: tfjs's own loader on the files.
    const model = await tf.loadLayersModel(tf.io.fromMemory(await artifactsFromDir(dir)));
    expect(model.inputNames).toEqual(['noise', 'label']);
    expect(model.outputNames).toEqual(['image']);
    const { noise, labels, images } = await onnxImages(path.join(ROOT, 'models/cgan.onnx'));
    const node = tf.tidy(
      () => (model.predict([tf.tensor2d(noise, [N, 100]), tf.tensor1d(labels!, 'int32')]) as tf.Tensor).dataSync() as Float32Array,
    );
    const nodeDiff = maxAbs(node, images);
    expect(nodeDiff).toBeLessThan(1e-4);
    model.dispose();

    // Chromium: tf.loadLayersModel over HTTP from a page, tfjs's browser bundle.
    const files: Record<string, string> = {
      '/': '',
      '/tf.min.js': path.join(ROOT, 'node_modules/@tensorflow/tfjs/dist/tf.min.js'),
      '/model/model.json': path.join(dir, 'model.json'),
      '/model/group1-shard1of1.bin': path.join(dir, 'group1-shard1of1.bin'),
    };
    server = createServer((req, res) => {
      const file = files[req.url ?? ''];
      if (file === undefined) return void res.writeHead(404).end();
      if (file === '') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>tfjs</title>');
      res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream' });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const browser = await chromium.launch(playwrightConfig.use?.launchOptions);
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      await page.addScriptTag({ url: '/tf.min.js' });
      const inBrowser = await page.evaluate(
        async ({ noise, labels, n }) => {
          const t = (globalThis as unknown as { tf: typeof tf }).tf;
          await t.setBackend('cpu');
          const m = await t.loadLayersModel('/model/model.json');
          const y = m.predict([t.tensor2d(noise, [n, 100]), t.tensor1d(labels, 'int32')]) as tf.Tensor;
          return { values: Array.from(await y.data()), shape: y.shape, meta: m.getUserDefinedMetadata() };
        },
        { noise: Array.from(noise), labels: Array.from(labels!), n: N },
      );
      expect(inBrowser.shape).toEqual([N, 1, 28, 28]);
      expect(inBrowser.meta).toMatchObject({ onnxgan: { 'onnxgan.kind': 'cgan' } });
      expect(maxAbs(inBrowser.values, images)).toBeLessThan(1e-4);
    } finally {
      await browser.close();
    }
  });

  it('converts the tfjs export back to ONNX with the metadata it carries', async () => {
    // The docs' example: `convert runs/cgan-tfjs --out my-models/cgan-tfjs.onnx --as-generator`.
    expect(convertBack[0]).toBe('convert');
    expect(convertBack[1]).toBe(exportCgan[exportCgan.indexOf('--out') + 1]);
    const back = convertBack[convertBack.indexOf('--out') + 1]!;
    expect((await exportOnce()).code).toBe(0);
    const r = await runCli(convertBack);
    expect(r.code, r.stderr).toBe(0);
    const info = readModelInfo(back);
    expect(info.metadata).toMatchObject({
      kind: 'cgan',
      classes: DIGIT_CLASSES,
      dataset: 'mnist',
      noiseDim: 100,
      epochs: 2050,
      steps: 61500,
      ema: 0.999,
    });
    const shipped = await onnxImages(path.join(ROOT, 'models/cgan.onnx'));
    const again = await onnxImages(back);
    expect(maxAbs(again.images, shipped.images)).toBeLessThan(1e-4);
  });

  it('exports an unconditional generator, and will not write into a folder holding other files', async () => {
    const dir = path.join(tmp, 'gan');
    const r = await runCli(['export', path.join(ROOT, 'models/checkpoints/gan'), '--format', 'tfjs', '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    const model = await tf.loadLayersModel(tf.io.fromMemory(await artifactsFromDir(dir)));
    expect(model.inputNames).toEqual(['noise']);
    const { noise, images } = await onnxImages(path.join(ROOT, 'models/gan.onnx'));
    const got = tf.tidy(() => (model.predict(tf.tensor2d(noise, [N, 100])) as tf.Tensor).dataSync() as Float32Array);
    expect(maxAbs(got, images)).toBeLessThan(1e-4);
    model.dispose();
    // Exporting again replaces the previous export; a folder with other files is refused.
    expect((await runCli(['export', path.join(ROOT, 'models/checkpoints/gan'), '--format', 'tfjs', '--out', dir])).code).toBe(0);
    const busy = path.join(tmp, 'busy');
    mkdirSync(busy);
    writeFileSync(path.join(busy, 'notes.txt'), 'mine');
    const refused = await runCli(['export', path.join(ROOT, 'models/checkpoints/gan'), '--format', 'tfjs', '--out', busy]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/busy holds other files than a tfjs model: not writing into it/);
    expect(existsSync(path.join(busy, 'model.json'))).toBe(false);
  });

  it("refuses to write a tfjs model that does not give the ONNX export's images, printing the difference", async () => {
    // The gan with its last Dense kernel x 1e4: the pre-tanh sums are ~1e4 and a few land near 0,
    // where each engine's float32 rounding (~1e-3 at that magnitude) shows in the image.
    const ckpt = JSON.parse(readFileSync(path.join(ROOT, 'models/checkpoints/gan/checkpoint.json'), 'utf8'));
    const kernel = ckpt.weights['generator/6_dense/kernel'];
    const values = new Float32Array(new Uint8Array(Buffer.from(kernel.data, 'base64')).buffer);
    kernel.data = Buffer.from(values.map((v) => v * 1e4).buffer).toString('base64');
    const run = path.join(tmp, 'ill-conditioned');
    mkdirSync(run);
    writeFileSync(path.join(run, 'checkpoint.json'), JSON.stringify(ckpt));
    const out = path.join(tmp, 'ill-conditioned-tfjs');
    const r = await runCli(['export', run, '--format', 'tfjs', '--out', out, '--no-ema']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /the tfjs model and the ONNX export differ by \d\.\d\de[+-]\d+ \(> 0\.0001\): not writing .*ill-conditioned-tfjs/,
    );
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
