// The default recipe: a newcomer's run with no options gets the shipped models' levers, and no
// class of any generator comes out inverted (a bright background) at any epoch.
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { loadData } from '../data/sources.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('onnxgan-recipe-');

/** Mean brightness in [0, 1] of each row of a training sample grid (10 columns of 28x28 at scale 2, pad 2). */
function rowMeans(file: string): number[] {
  const png = PNG.sync.read(readFileSync(file));
  const cell = 56;
  const rows = Math.round((png.height - 2) / (cell + 2));
  return Array.from({ length: rows }, (_, r) => {
    let sum = 0;
    for (let c = 0; c < 10; c++) {
      for (let y = 0; y < cell; y++) {
        for (let x = 0; x < cell; x++) sum += png.data[((2 + r * (cell + 2) + y) * png.width + 2 + c * (cell + 2) + x) * 4]!;
      }
    }
    return sum / (10 * cell * cell * 255);
  });
}

describe('the default recipe', () => {
  const { train } = loadData('mnist');
  // The brightest class's mean pixel of the real digits, in [0, 1] (about 0.19, for 0s and 8s).
  const classMeans = Array.from({ length: 10 }, (_, k) => {
    let sum = 0;
    let n = 0;
    for (let i = 0; i < train.count; i++) {
      if (train.labels[i] !== k) continue;
      for (let p = 0; p < 784; p++) sum += (train.images[i * 784 + p]! + 1) / 2;
      n++;
    }
    return sum / (n * 784);
  });
  const ceiling = Math.max(...classMeans) + 0.15; // an inverted digit is ~0.8

  for (const model of ['cgan', 'wgan-gp', 'gan'] as const) {
    it(`${model}: records the recipe and its options, and no class comes out bright at any epoch`, async () => {
      const out = path.join(tmp, model);
      const r = await runCli([
        'train',
        '--model',
        model,
        '--limit',
        '3000',
        '--batch',
        '100',
        '--epochs',
        '3',
        '--sample-every',
        '1',
        '--out',
        out,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/recipe best: .*--ema 0\.999/);
      const ckpt = JSON.parse(readFileSync(path.join(out, 'checkpoint.json'), 'utf8'));
      expect(ckpt.recipe).toBe('best');
      expect(ckpt.options.ema).toBe(0.999);
      expect(ckpt.options.outputBiasInit).toBe('mean');
      if (model !== 'gan') expect(ckpt.options.lrDecay).toEqual({ from: 1, to: 3 });
      if (model === 'cgan') expect(ckpt.options.mismatch).toBe(1);
      if (model === 'gan') expect(ckpt.options.r1).toBe(10);
      const grids = readdirSync(path.join(out, 'samples')).sort();
      expect(grids).toHaveLength(3);
      for (const grid of grids) {
        const means = rowMeans(path.join(out, 'samples', grid));
        for (const [row, m] of means.entries())
          expect(m, `${grid}, row ${row}${model === 'cgan' ? ` (class ${row})` : ''}`).toBeLessThan(ceiling);
      }
    });
  }

  it('--recipe reference gives the chapter settings; resuming below the epochs done says so', async () => {
    const out = path.join(tmp, 'reference');
    const r = await runCli(['train', '--model', 'wgan-gp', '--recipe', 'reference', '--limit', '600', '--epochs', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/recipe reference: the chapter's settings/);
    const ckpt = JSON.parse(readFileSync(path.join(out, 'checkpoint.json'), 'utf8'));
    expect(ckpt.options).toMatchObject({ ema: null, lrDecay: null, outputBiasInit: 'reference', gLr: 1e-4, dLr: 1e-4, criticSteps: 5 });
    const again = await runCli(['train', '--model', 'wgan-gp', '--limit', '600', '--epochs', '1', '--out', out, '--resume']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(/has done 1 epochs already: pass --epochs above 1 to continue it$/);
  });
});
