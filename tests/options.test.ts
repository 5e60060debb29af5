// The training-option table: one name from flag to checkpoint, model-only levers, resume rules,
// the flags printed back; and the checkpoint's schema (fields named, format 1 read as format 2).
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import * as ort from 'onnxruntime-node';
import {
  TRAINING_OPTIONS,
  flagOf,
  optionFlags,
  recipeOptions,
  referenceOptions,
  resolveOptions,
  type OptionKey,
} from '../train/options.js';
import { readCheckpoint } from '../train/checkpoint.js';
import { generatorNoise } from '../common/rng.js';
import { runCli, ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('onnxgan-options-');
const keys = Object.keys(TRAINING_OPTIONS) as OptionKey[];

describe('training options', () => {
  it('each option has one name: commander parses its flag into the same key the checkpoint stores', () => {
    for (const key of keys) expect(new Option(`${flagOf(key)} <v>`).attributeName()).toBe(key);
    expect(flagOf('gLr')).toBe('--g-lr');
  });

  it('given options replace the base ones; a lever for another generator is refused; start-only options stay on resume', () => {
    const gan = resolveOptions('gan', { r1: 5, gLr: 2e-4 }, { epochs: 10 }, 'reference');
    expect(gan).toEqual({ ...referenceOptions('gan'), r1: 5, gLr: 2e-4 });
    expect(() => resolveOptions('wgan-gp', { mismatch: 1 }, { epochs: 10 }, 'reference')).toThrow(
      '--mismatch applies to cgan only, not wgan-gp',
    );
    expect(resolveOptions('wgan-gp', { criticSteps: 3 }, { epochs: 10 }, 'reference').criticSteps).toBe(3);
    expect(() => resolveOptions('gan', { criticSteps: 3 }, { epochs: 10 }, 'reference')).toThrow(
      '--critic-steps applies to wgan-gp and cgan only, not gan',
    );
    expect(() => resolveOptions('cgan', { lrDecay: 10 }, { epochs: 10 }, 'reference')).toThrow('--lr-decay 10 must be below --epochs 10');
    const started = resolveOptions('cgan', { outputBiasInit: 'mean' }, { epochs: 10 }, 'reference');
    const resumed = resolveOptions('cgan', { outputBiasInit: 'reference', lrDecay: 4, ema: 0.999 }, { epochs: 12 }, started);
    expect(resumed).toEqual({ ...started, lrDecay: { from: 4, to: 12 }, ema: 0.999 });
  });

  it("the best recipe starts from the shipped models' levers; options given replace them", () => {
    const o = resolveOptions('cgan', { ema: 0.99 }, { epochs: 40 }, 'best');
    expect(o).toMatchObject({ outputBiasInit: 'mean', mismatch: 1, ema: 0.99, lrDecay: { from: 20, to: 40 }, gLr: 1e-4 });
    expect(optionFlags('gan', resolveOptions('gan', {}, { epochs: 40 }, 'best'))).toEqual([
      '--output-bias-init mean',
      '--r1 10',
      '--ema 0.999',
    ]);
  });

  it('DiffAugment is an option of its own: neither recipe turns it on (measured: bench/RESULTS.md)', () => {
    for (const kind of ['gan', 'wgan-gp', 'cgan'] as const) {
      expect(recipeOptions('best', kind, { epochs: 10 }).augment).toBe('none');
      expect(recipeOptions('reference', kind, { epochs: 10 }).augment).toBe('none');
    }
    const given = resolveOptions('gan', { augment: 'diff' }, { epochs: 10 }, 'best');
    expect(given.augment).toBe('diff');
    expect(optionFlags('gan', given)).toContain('--augment diff');
  });

  it('prints the options that differ from the reference as flags, in the table order', () => {
    const o = { ...referenceOptions('gan'), dLr: 2e-4, r1: 10, ema: 0.999, lrDecay: { from: 1, to: 3 } };
    expect(optionFlags('gan', o)).toEqual(['--d-lr 0.0002', '--r1 10', '--lr-decay 1 --epochs 3', '--ema 0.999']);
    expect(optionFlags('gan', { ...o, r1: 0, dLr: 4e-5, ema: null, lrDecay: null })).toEqual([]);
  });
});

describe('checkpoint schema', () => {
  it('a missing or wrong-typed field is named', async () => {
    const ckpt = JSON.parse(readFileSync(path.join(ROOT, 'models/checkpoints/gan/checkpoint.json'), 'utf8'));
    const cases: [string, (c: any) => void, RegExp][] = [
      ['step', (c) => (c.position.step = 'seven'), /field position\.step: .*number/],
      ['weights', (c) => delete c.weights, /field weights: /],
      ['layer', (c) => (c.spec.generator.layers[0].type = 'Conv9D'), /field spec\.generator\.layers\.0\.type/],
      ['format', (c) => (c.format = 'something/9'), /not an onnxgan checkpoint \(format "something\/9"\)/],
    ];
    for (const [name, mutate, message] of cases) {
      const c = structuredClone(ckpt);
      mutate(c);
      const file = path.join(tmp, `${name}.json`);
      writeFileSync(file, JSON.stringify(c));
      expect(() => readCheckpoint(file), name).toThrow(message);
      const r = await runCli(['export', file, '--out', path.join(tmp, `${name}.onnx`)]);
      expect(r.code, name).toBe(1);
      expect(r.stderr.trim().split('\n'), name).toHaveLength(1); // one line, no stack
    }
  });

  it('a format-1 checkpoint reads as architecture + options, and exports the shipped generator again', async () => {
    const ckpt = readCheckpoint(path.join(ROOT, 'models/checkpoints/cgan/checkpoint.json'));
    expect(ckpt.architecture.kind).toBe('cgan');
    expect(ckpt.options).toMatchObject({ mismatch: 1, outputBiasInit: 'mean', ema: 0.999, lrDecay: { from: 1325, to: 2050 } });
    const out = path.join(tmp, 'cgan.onnx');
    const r = await runCli(['export', path.join(ROOT, 'models/checkpoints/cgan'), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    // Same images as the shipped file, made from the generator alone (EMA weights, standing statistics).
    const run = async (file: string): Promise<Float32Array> => {
      const s = await ort.InferenceSession.create(file);
      const n = 20;
      const feeds = {
        noise: new ort.Tensor('float32', generatorNoise(7, n, 100), [n, 100]),
        label: new ort.Tensor(
          'int64',
          BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10)),
          [n],
        ),
      };
      const img = (await s.run(feeds)).image!.data as Float32Array;
      await s.release();
      return img;
    };
    const [shipped, again] = [await run(path.join(ROOT, 'models/cgan.onnx')), await run(out)];
    let max = 0;
    for (let i = 0; i < shipped.length; i++) max = Math.max(max, Math.abs(shipped[i]! - again[i]!));
    expect(max).toBeLessThan(1e-4);
  });
});
