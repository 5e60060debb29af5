// A run's length and batch fitted to the data, through the real CLI: the batch a small set gets
// without --batch, --steps and --minutes with the learning-rate decay fitted to them, the warning
// for a run too short to learn, resume keeping the stored length, and the length given twice.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('onnxgan-run-length-');
const checkpoint = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'checkpoint.json'), 'utf8'));
const lastRow = (dir: string): Record<string, number> =>
  JSON.parse(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').at(-1)!);
// 600 digits: the fitted batch is 72 (an eighth, a multiple of 8), 9 steps an epoch. One critic step keeps it quick.
const base = (out: string, ...extra: string[]): string[] => [
  'train',
  '--model',
  'wgan-gp',
  '--limit',
  '600',
  '--critic-steps',
  '1',
  '--sample-every',
  '100',
  '--out',
  path.join(tmp, out),
  ...extra,
];

describe('the run length and batch fit the data', () => {
  it('a small set gets a batch of an eighth of it, a short run is warned about, and done: names samples.png', async () => {
    const r = await runCli(base('fitted', '--epochs', '2'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('run: 2 epochs of 9 steps (18 steps), batch 72 (fitted to 600 images; --batch sets it)');
    expect(r.stderr).toMatch(
      /^warning: --epochs 2 is 18 generator steps, too few to learn anything: samples are still noise below ~500 steps/m,
    );
    expect(r.stderr).toContain(`samples ${path.join(tmp, 'fitted', 'samples.png')}, checkpoint`);
    expect(checkpoint(path.join(tmp, 'fitted')).batch).toBe(72);
    expect(lastRow(path.join(tmp, 'fitted')).step).toBe(18);
    // --batch still rules; a run long enough is not warned about.
    const given = await runCli(base('given', '--epochs', '1', '--batch', '1', '--limit', '500', '--critic-steps', '1'));
    expect(given.code, given.stderr).toBe(0);
    expect(given.stderr).toContain('run: 1 epoch of 500 steps (500 steps), batch 1\n');
    expect(given.stderr).not.toMatch(/warning/);
  }, 120_000);

  it('--steps rounds up to whole epochs with the decay fitted, and a resume without a length keeps it', async () => {
    const out = path.join(tmp, 'steps');
    const r = await runCli(base('steps', '--steps', '20'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('run: 3 epochs of 9 steps (27 steps), batch 72');
    const ckpt = checkpoint(out);
    expect(ckpt.options).toMatchObject({ steps: 20, minutes: null, lrDecay: { from: 1, to: 3 } });
    expect(lastRow(out)).toMatchObject({ epoch: 3, step: 27, lrScale: 0.5 });
    // The run's own length: nothing left to do.
    const again = await runCli([...base('steps'), '--resume']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/has done 3 epochs already/);
    // A length given on resume replaces the stored one (here past the schedule's end: refused as before).
    const longer = await runCli([...base('steps'), '--resume', '--steps', '40']);
    expect(longer.code).toBe(1);
    expect(longer.stderr).toMatch(/reach zero at epoch 3: pass --lr-decay again to schedule epochs up to 5/);
  }, 120_000);

  it('--minutes trains about that long with the decay over the second half of the epochs it measured', async () => {
    const out = path.join(tmp, 'minutes');
    const r = await runCli(base('minutes', '--minutes', '0.1'));
    expect(r.code, r.stderr).toBe(0);
    const m = /run: --minutes 0\.1 is about (\d+) epochs of 9 steps/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const { options } = checkpoint(out);
    const row = lastRow(out);
    expect(options.minutes).toBe(0.1);
    expect(row.epoch).toBeGreaterThan(1);
    expect(options.lrDecay).toEqual({ from: Math.floor(row.epoch! / 2), to: row.epoch });
    // 6 s asked: a loaded machine may run slower than the speed measured while fitting.
    expect(row.wallSeconds).toBeGreaterThan(3);
    expect(row.wallSeconds).toBeLessThan(20);
  }, 120_000);

  it('refuses a length given twice (usage) and --lr-decay with --minutes', async () => {
    const twice = await runCli(base('twice', '--epochs', '3', '--steps', '10'));
    expect(twice.code).toBe(2);
    expect(twice.stderr.trim()).toBe("onnxgan train: give the run's length once: --epochs and --steps were both given");
    const decay = await runCli(base('decay', '--minutes', '1', '--lr-decay', '2'));
    expect(decay.code).toBe(1);
    expect(decay.stderr.trim().split('\n').at(-1)).toMatch(/^onnxgan train: --lr-decay counts epochs: give --epochs or --steps with it/);
  }, 60_000);
});
