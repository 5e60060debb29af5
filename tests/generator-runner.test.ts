// common/generator-runner.ts on the shipped models with onnxruntime-node: the same bits as feeding the
// session by hand, the labels and their range check, the interface check against the metadata, the
// output checks, and that the module bundles for the browser.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GeneratorRunError, GeneratorRunner, generatorLabels, type OrtSessionLike } from '../common/generator-runner.js';
import { IMAGE_PIXELS, IO, isConditional, type ModelMetadata } from '../common/metadata.js';
import { generatorNoise } from '../common/rng.js';
import { readModelInfo } from '../export/onnx-read.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const MODELS = readdirSync(path.join(ROOT, 'models'))
  .filter((f) => f.endsWith('.onnx'))
  .map((f) => f.slice(0, -'.onnx'.length));

interface Shipped {
  meta: ModelMetadata;
  session: ort.InferenceSession;
}
const shipped = new Map<string, Shipped>();

beforeAll(async () => {
  for (const name of MODELS) {
    const file = path.join(ROOT, 'models', `${name}.onnx`);
    shipped.set(name, { meta: readModelInfo(file).metadata, session: await ort.InferenceSession.create(readFileSync(file)) });
  }
});

afterAll(async () => {
  for (const s of shipped.values()) await s.session.release();
});

const get = (name: string): Shipped => shipped.get(name)!;
const conditionalModel = (): string => MODELS.find((m) => isConditional(get(m).meta))!;
const unconditionalModel = (): string => MODELS.find((m) => !isConditional(get(m).meta))!;

/** The inputs built by hand, as every caller did before the runner existed. */
async function byHand(s: Shipped, seed: number, count: number, label: number | null): Promise<Float32Array> {
  const feeds: Record<string, ort.Tensor> = {
    [IO.noise]: new ort.Tensor('float32', generatorNoise(seed, count, s.meta.noiseDim), [count, s.meta.noiseDim]),
  };
  if (s.meta.classes) {
    const labels = Array.from({ length: count }, (_, i) => label ?? i % s.meta.classes!.length);
    feeds[IO.label] = new ort.Tensor(
      'int64',
      BigInt64Array.from(labels, (l) => BigInt(l)),
      [count],
    );
  }
  return new Float32Array((await s.session.run(feeds))[IO.image]!.data as Float32Array);
}

/** A session whose image output is replaced, to see the runner refuse it. */
function tampered(s: Shipped, image: (rows: number) => ort.Tensor): OrtSessionLike<ort.Tensor> {
  return {
    inputNames: s.session.inputNames,
    outputNames: s.session.outputNames,
    run: async (feeds) => ({ [IO.image]: image(feeds[IO.noise]!.dims[0]!) }),
  };
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('GeneratorRunner on the shipped models', () => {
  it('ships both kinds of model', () => {
    expect(MODELS.length).toBeGreaterThan(1);
    expect(conditionalModel()).toBeDefined();
    expect(unconditionalModel()).toBeDefined();
  });

  for (const name of MODELS) {
    it(`${name}: the same bits as feeding the session by hand`, async () => {
      const s = get(name);
      const runner = new GeneratorRunner(s.session, ort.Tensor, s.meta);
      expect(runner.conditional).toBe(s.meta.kind === 'cgan');
      for (const label of runner.conditional ? [null, 7] : [null]) {
        const images = await runner.run(runner.noise(20260501, 12), runner.labels(12, label));
        expect(images).toHaveLength(12 * IMAGE_PIXELS);
        expect(bits(images)).toEqual(bits(await byHand(s, 20260501, 12, label)));
      }
      // Another seed gives other images: the comparison above can fail.
      const other = await runner.run(runner.noise(1, 12), runner.labels(12));
      expect(bits(other)).not.toEqual(bits(await byHand(s, 20260501, 12, null)));
    });
  }
});

describe('inputs', () => {
  it('noise is generatorNoise of the metadata noise_dim, bit for bit', () => {
    const s = get(unconditionalModel());
    const runner = new GeneratorRunner(s.session, ort.Tensor, s.meta);
    expect(bits(runner.noise(42, 3))).toEqual(bits(generatorNoise(42, 3, s.meta.noiseDim)));
    expect(runner.noise(42, 3)).toHaveLength(3 * s.meta.noiseDim);
  });

  it('labels: a fixed class for all, or class i % K, or none for an unconditional model', () => {
    const meta = get(conditionalModel()).meta;
    expect(Array.from(generatorLabels(meta, 3, 4)!)).toEqual([4, 4, 4]);
    expect(Array.from(generatorLabels(meta, 12)!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(generatorLabels(get(unconditionalModel()).meta, 3, 4)).toBeNull();
  });

  it('refuses labels outside the classes, before running', async () => {
    const s = get(conditionalModel());
    const runner = new GeneratorRunner(s.session, ort.Tensor, s.meta);
    for (const bad of [10, -1, 1.5, NaN])
      expect(() => runner.labels(2, bad)).toThrow(`label ${bad} is out of range: this model has classes 0 to 9`);
    await expect(runner.run(runner.noise(1, 2), [3, 12])).rejects.toThrow('label 12 is out of range: this model has classes 0 to 9');
    await expect(runner.run(runner.noise(1, 2), [3])).rejects.toThrow('need 2 labels for 2 noise rows of a conditional model, got 1');
    await expect(runner.run(runner.noise(1, 2), null)).rejects.toThrow('need 2 labels for 2 noise rows of a conditional model, got none');
    await expect(runner.run(new Float32Array(150), [0])).rejects.toThrow('noise length 150 is not a positive multiple of noise_dim 100');
  });
});

describe('checks', () => {
  it('refuses a session whose inputs or outputs do not match the metadata', () => {
    const cond = get(conditionalModel());
    const uncond = get(unconditionalModel());
    expect(() => new GeneratorRunner(uncond.session, ort.Tensor, cond.meta)).toThrow(
      /inputs \[noise\] do not match a conditional cgan generator \(\[noise, label\]\)/,
    );
    expect(() => new GeneratorRunner(cond.session, ort.Tensor, uncond.meta)).toThrow(
      /inputs \[noise, label\] do not match an unconditional \S+ generator \(\[noise\]\)/,
    );
    const noImage = { ...tampered(uncond, () => new ort.Tensor('float32', new Float32Array(0), [0])), outputNames: ['pixels'] };
    expect(() => new GeneratorRunner(noImage, ort.Tensor, uncond.meta)).toThrow(GeneratorRunError);
    expect(() => new GeneratorRunner(noImage, ort.Tensor, uncond.meta)).toThrow('no "image" output (outputs: pixels)');
  });

  it('refuses an output of the wrong type, shape or with non-finite values', async () => {
    const s = get(unconditionalModel());
    const run = (image: (rows: number) => ort.Tensor) => {
      const runner = new GeneratorRunner(tampered(s, image), ort.Tensor, s.meta);
      return runner.run(runner.noise(1, 2), null);
    };
    await expect(run((n) => new ort.Tensor('int32', new Int32Array(n * IMAGE_PIXELS), [n, 1, 28, 28]))).rejects.toThrow(
      'output "image" is int32 [2, 1, 28, 28]; expected float32 [2, 1, 28, 28]',
    );
    await expect(run((n) => new ort.Tensor('float32', new Float32Array(n * IMAGE_PIXELS), [n, IMAGE_PIXELS]))).rejects.toThrow(
      'output "image" is float32 [2, 784]; expected float32 [2, 1, 28, 28]',
    );
    await expect(run(() => new ort.Tensor('float32', new Float32Array(IMAGE_PIXELS), [1, 1, 28, 28]))).rejects.toThrow(
      'is float32 [1, 1, 28, 28]; expected float32 [2, 1, 28, 28]',
    );
    const nan = (n: number) => {
      const data = new Float32Array(n * IMAGE_PIXELS);
      data[IMAGE_PIXELS + 5] = NaN;
      return new ort.Tensor('float32', data, [n, 1, 28, 28]);
    };
    await expect(run(nan)).rejects.toThrow('output "image" holds a non-finite value (NaN) in image 1');
    await expect(run((n) => new ort.Tensor('float32', new Float32Array(n * IMAGE_PIXELS), [n, 1, 28, 28]))).resolves.toHaveLength(
      2 * IMAGE_PIXELS,
    );
  });

  it('wraps onnxruntime errors', async () => {
    const s = get(unconditionalModel());
    const runner = new GeneratorRunner(s.session, ort.Tensor, { ...s.meta, noiseDim: 50 });
    await expect(runner.run(runner.noise(1, 2), null)).rejects.toThrow(/^running the generator failed \(.*noise/);
  });
});

it('bundles for the browser: no node built-ins, no onnxruntime-node', async () => {
  const out = await build({
    entryPoints: [path.join(ROOT, 'common/generator-runner.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const code = out.outputFiles[0]!.text;
  expect(code).toMatch(/export {[^}]*GeneratorRunner/);
  expect(code).not.toMatch(/onnxruntime|node:/);
});
