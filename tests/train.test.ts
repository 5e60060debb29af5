// Real short training runs of each model through the CLI: outputs, resume after SIGINT / SIGKILL.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { runCli, startCli, type CliResult } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('onnxgan-train-');
const metrics = (dir: string): Record<string, number>[] =>
  readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

/** Runs a test needs are made on first use and shared: no test depends on another having run first. */
const shared = new Map<string, Promise<CliResult>>();
const once = (key: string, args: string[]): Promise<CliResult> => {
  if (!shared.has(key)) shared.set(key, runCli(args));
  return shared.get(key)!;
};
const shortRun = (model: string): Promise<CliResult> =>
  once(model, ['train', '--model', model, '--limit', '600', '--epochs', '2', '--sample-every', '1', '--out', path.join(tmp, model)]);

async function waitFor(cond: () => boolean, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('onnxgan train', () => {
  for (const model of ['gan', 'wgan-gp', 'cgan']) {
    it(`${model}: a short real run writes checkpoint, metrics, samples and loss curve`, async () => {
      const out = path.join(tmp, model);
      const r = await shortRun(model);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/backend: (tensorflow|wasm|cpu) \(/); // whichever is installed
      const rows = metrics(out);
      expect(rows.map((m) => m.epoch)).toEqual([1, 2]);
      expect(rows[1]!.step).toBe(18); // 600 images, the batch fitted to them 72: 9 generator steps per epoch
      for (const row of rows) {
        for (const k of model === 'gan' ? ['dLoss', 'gLoss', 'dAcc', 'gAcc'] : ['dLoss', 'gLoss', 'wasserstein', 'gp']) {
          expect(Number.isFinite(row[k]), `${k} in ${JSON.stringify(row)}`).toBe(true);
        }
      }
      expect(rows[0]!.numTensors).toBe(rows[1]!.numTensors); // no tensor leak across epochs
      const png = PNG.sync.read(readFileSync(path.join(out, 'samples.png')));
      expect(png.width).toBeGreaterThan(280);
      expect(existsSync(path.join(out, 'samples', 'epoch-0002.png'))).toBe(true);
      expect(readFileSync(path.join(out, 'loss.svg'), 'utf8')).toMatch(/<polyline/);
      const ckpt = JSON.parse(readFileSync(path.join(out, 'checkpoint.json'), 'utf8'));
      expect(ckpt.position.epoch).toBe(2);
      expect(ckpt.architecture.kind).toBe(model);
    });
  }

  it('refuses to overwrite a run without --resume, and reports bad data sources clearly', async () => {
    expect((await shortRun('gan')).code).toBe(0);
    const r = await runCli(['train', '--model', 'gan', '--limit', '600', '--epochs', '1', '--out', path.join(tmp, 'gan')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already holds a run: pass --resume/);
    const bad = await runCli(['train', '--model', 'gan', '--data', path.join(tmp, 'nope'), '--out', path.join(tmp, 'x')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/nope: no such folder/);
    expect(bad.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
  });

  it('keeps opt-in training options (learning rates, label smoothing, R1) in the checkpoint across --resume; 0 turns one off', async () => {
    const out = path.join(tmp, 'levers');
    const opts = ['--recipe', 'reference', '--g-lr', '2e-4', '--d-lr', '3e-4', '--label-smoothing', '0.2', '--r1', '5'];
    const first = await runCli(['train', '--model', 'gan', '--limit', '600', '--epochs', '1', '--out', out, ...opts]);
    expect(first.code, first.stderr).toBe(0);
    // Resumed without the flags: the run keeps its own.
    const again = await runCli(['train', '--model', 'gan', '--limit', '600', '--epochs', '2', '--out', out, '--resume']);
    expect(again.code, again.stderr).toBe(0);
    const { options, position } = JSON.parse(readFileSync(path.join(out, 'checkpoint.json'), 'utf8'));
    expect(position.epoch).toBe(2);
    expect(options.gLr).toBe(2e-4);
    expect(options.dLr).toBe(3e-4);
    expect(options.labelSmoothing).toBe(0.2);
    expect(options.r1).toBe(5);
    for (const row of metrics(out)) expect(Number.isFinite(row.dLoss)).toBe(true);
    // 0 switches a lever off on resume.
    const off = await runCli([
      'train',
      '--model',
      'gan',
      '--limit',
      '600',
      '--epochs',
      '3',
      '--out',
      out,
      '--resume',
      '--r1',
      '0',
      '--label-smoothing',
      '0',
    ]);
    expect(off.code, off.stderr).toBe(0);
    const later = JSON.parse(readFileSync(path.join(out, 'checkpoint.json'), 'utf8'));
    expect(later.options.r1).toBe(0);
    expect(later.optionChanges.at(-1)).toEqual({ step: 18, flags: ['--g-lr 0.0002', '--d-lr 0.0003'] });
    const bad = await runCli(['train', '--model', 'gan', '--r1', '-1', '--out', path.join(tmp, 'bad-r1')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--r1.*expected a number >= 0/);
  });

  it('options given on --resume replace the stored ones (--ema too) and the model card shows from which step', async () => {
    const out = path.join(tmp, 'decay');
    const base = ['train', '--model', 'wgan-gp', '--limit', '600', '--batch', '600', '--out', out];
    expect((await runCli([...base, '--epochs', '1', '--recipe', 'reference'])).code).toBe(0);
    const annealed = await runCli([...base, '--epochs', '3', '--resume', '--lr-decay', '1', '--d-lr', '2e-4', '--ema', '0.99']);
    expect(annealed.code, annealed.stderr).toBe(0);
    expect(metrics(out).map((r) => r.lrScale)).toEqual([undefined, 1, 0.5]); // at each epoch's start
    const { options, optionChanges } = JSON.parse(readFileSync(path.join(out, 'checkpoint.json'), 'utf8'));
    expect(options.dLr).toBe(2e-4);
    expect(options.lrDecay).toEqual({ from: 1, to: 3 });
    expect(options.ema).toBe(0.99);
    expect(optionChanges).toEqual([
      { step: 0, flags: [] },
      { step: 1, flags: ['--d-lr 0.0002', '--lr-decay 1 --epochs 3', '--ema 0.99'] },
    ]);
    // Past the schedule's end the rates would be zero: refused, not run.
    const later = await runCli([...base, '--epochs', '4', '--resume']);
    expect(later.code).toBe(1);
    expect(later.stderr).toMatch(/reach zero at epoch 3: pass --lr-decay again/);
    const bad = await runCli([...base, '--epochs', '4', '--resume', '--lr-decay', '4']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--lr-decay 4 must be below --epochs 4/);
    const wrongModel = await runCli([...base, '--epochs', '4', '--resume', '--mismatch', '1']);
    expect(wrongModel.code).toBe(1);
    expect(wrongModel.stderr).toMatch(/--mismatch applies to cgan only, not wgan-gp/);

    const model = path.join(tmp, 'decay.onnx');
    expect((await runCli(['export', out, '--out', model])).code).toBe(0);
    const card = await runCli(['card', model, '--run', out, '--n', '100']);
    expect(card.code, card.stderr).toBe(0);
    const md = readFileSync(path.join(tmp, 'decay.md'), 'utf8');
    expect(md).toContain(
      '| training options beyond the reference | recipe reference; at first: none; from step 1: `--d-lr ' +
        '0.0002`, `--lr-decay 1 --epochs 3`, `--ema 0.99` |',
    );
    expect(md).toContain('| seed, batch | 0, 600 |');
    expect(md).toContain('exponential moving average (decay 0.99)');
    expect(md).toContain('| epochs / generator steps | 3 / 3 |');
    expect(md).toMatch(/FID \(lower is better\) +\d/);
    expect(md).toMatch(/judge: +report judge .*judge-report-mnist\.json/);
    expect(existsSync(path.join(tmp, 'decay.png')) && existsSync(path.join(tmp, 'decay-loss.svg'))).toBe(true);
  });

  // 600 images, batch 100: 6 steps per epoch, 3 epochs. Small and exact. 20 critic steps make an
  // epoch last long enough (~1 s) for an interrupt 300 ms after epoch 1's checkpoint to land in epoch 2.
  const args = (out: string, extra: string[] = []): string[] => [
    'train',
    '--model',
    'cgan',
    '--limit',
    '600',
    '--batch',
    '100',
    '--epochs',
    '3',
    '--critic-steps',
    '20',
    '--sample-every',
    '10',
    '--out',
    out,
    ...extra,
  ];
  const reference = (): Promise<CliResult> => once('ref', args(path.join(tmp, 'ref')));

  it('an uninterrupted reference run', async () => {
    const r = await reference();
    expect(r.code, r.stderr).toBe(0);
  });

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(`resume after ${signal} during epoch 2 continues the same run`, async () => {
      expect((await reference()).code).toBe(0); // first: both at once would slow each other down
      const out = path.join(tmp, `resume-${signal}`);
      const { child, done } = startCli(args(out));
      // Interrupt once epoch 1 is logged and checkpointed, i.e. during epoch 2.
      await waitFor(() => existsSync(path.join(out, 'metrics.jsonl')) && existsSync(path.join(out, 'checkpoint.json')));
      await new Promise((r) => setTimeout(r, 300));
      child.kill(signal);
      const first = await done;
      if (signal === 'SIGINT') {
        expect(first.code, first.stderr).toBe(0);
        expect(first.stderr).toMatch(/interrupted: checkpoint at epoch 2, batch \d\/6/);
      } else {
        expect(first.signal).toBe('SIGKILL');
      }
      const ckpt = JSON.parse(readFileSync(path.join(out, 'checkpoint.json'), 'utf8')); // never torn
      expect(ckpt.position.epoch).toBe(1);

      if (signal === 'SIGINT') {
        // Mid-epoch, the position counts batches of 100: another size is refused, none keeps 100.
        const resized = await runCli([...args(out, ['--resume']), '--batch', '50']);
        expect(resized.code).toBe(1);
        expect(resized.stderr).toMatch(/partway through an epoch of batch 100: resume with --batch 100/);
      }
      const resumeArgs = args(out, ['--resume']);
      if (signal === 'SIGINT') resumeArgs.splice(resumeArgs.indexOf('--batch'), 2);
      const second = await runCli(resumeArgs);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).toMatch(/resuming .* at epoch 2/); // at most the interrupted epoch is redone
      const rows = metrics(out);
      expect(rows.map((m) => m.epoch)).toEqual([1, 2, 3]); // one continuous log
      expect(rows[2]!.step).toBe(18);
      // The checkpoint carries RNG state and position, so the resumed run is the same run.
      const ref = metrics(path.join(tmp, 'ref'));
      // Equal up to float rounding.
      for (const k of ['dLoss', 'gLoss', 'wasserstein', 'gp']) {
        expect(Math.abs(rows[2]![k]! - ref[2]![k]!), k).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(ref[2]![k]!)));
      }
      expect(statSync(path.join(out, 'checkpoint.json')).size).toBeGreaterThan(1000);
    });
  }
});
