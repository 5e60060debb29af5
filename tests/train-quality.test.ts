// Quality while training through the real CLI: FID/KID estimates by the report judge in
// metrics.jsonl and loss.svg, best.json kept at the best one and exported with --best, none with
// --quality-every 0, and a folder with no judge yet trains on with one line saying so.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bestSoFar, qualityDue, QUALITY_SECONDS } from '../train/quality-probe.js';
import { runCli } from './helpers/cli.js';
import { writeFashionPngs } from './helpers/image-sets.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('onnxgan-quality-');
process.env.ONNXGAN_CACHE_DIR = path.join(tmp, 'cache'); // no folder judge cached from elsewhere
const rows = (run: string): Record<string, number>[] =>
  readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

describe('when an estimate is due', () => {
  it('follows --quality-every, else time and cost, and the last epoch of a run of minutes', () => {
    const at = (o: Partial<Parameters<typeof qualityDue>[0]>): boolean =>
      qualityDue({ every: undefined, epoch: 3, lastEpoch: false, secondsSince: 0, runSeconds: 0, lastCost: 0, ...o });
    expect(at({ every: 0, lastEpoch: true })).toBe(false);
    expect(at({ every: 2, epoch: 4 })).toBe(true);
    expect(at({ every: 2, epoch: 3 })).toBe(false);
    expect(at({ every: 2, epoch: 3, lastEpoch: true })).toBe(true);
    expect(at({ lastEpoch: true, runSeconds: QUALITY_SECONDS })).toBe(true);
    expect(at({ lastEpoch: true, runSeconds: 5 })).toBe(false); // a run of seconds opens no judge
    expect(at({ secondsSince: QUALITY_SECONDS - 1 })).toBe(false);
    expect(at({ secondsSince: 200, lastCost: 5 })).toBe(true);
    expect(at({ secondsSince: 200, lastCost: 50 })).toBe(false); // an estimate costing a quarter of the time waits
    expect(bestSoFar([{ epoch: 1 }, { epoch: 2, fid: 9 }, { epoch: 3, fid: 7 }, { epoch: 4, fid: 8 }])).toEqual({ fid: 7, epoch: 3 });
    expect(bestSoFar([{ epoch: 1 }])).toBeNull();
  });
});

describe('a digit run with estimates', () => {
  const run = path.join(tmp, 'cgan');
  it('writes them each epoch, keeps best.json at the best and exports it with --best', async () => {
    const r = await runCli(['train', '--model', 'cgan', '--limit', '300', '--epochs', '2', '--quality-every', '1', '--out', run]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/quality: FID estimates of 500 samples every epoch by the report judge/);
    const m = rows(run);
    expect(m).toHaveLength(2);
    for (const row of m) {
      expect(row.fid).toBeGreaterThan(0);
      expect(Number.isFinite(row.kid)).toBe(true);
      expect(row.classAccuracy).toBeGreaterThanOrEqual(0);
      expect(row.qualitySeconds).toBeGreaterThan(0);
    }
    const best = bestSoFar(m)!;
    expect(r.stderr).toContain(`best FID estimate ${best.fid.toFixed(2)} at epoch ${best.epoch} (${path.join(run, 'best.json')})`);
    const stepOf = (f: string): number => JSON.parse(readFileSync(path.join(run, f), 'utf8')).position.step;
    expect(stepOf('best.json')).toBe(m[best.epoch - 1]!.step);
    expect(readFileSync(path.join(run, 'loss.svg'), 'utf8')).toMatch(/>fid</);

    const out = path.join(tmp, 'best.onnx');
    const e = await runCli(['export', run, '--best', '--out', out]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(new RegExp(`onnxgan.steps\\s+${m[best.epoch - 1]!.step}\\b`));
    const onFile = await runCli(['export', path.join(run, 'checkpoint.json'), '--best', '--out', out]);
    expect(onFile.code).toBe(1);
    expect(onFile.stderr).toMatch(/--best takes a run folder/);

    // Resumed with estimates off: no estimate, best.json untouched.
    const before = statSync(path.join(run, 'best.json')).mtimeMs;
    const again = await runCli([
      'train',
      '--model',
      'cgan',
      '--limit',
      '300',
      '--epochs',
      '3',
      '--lr-decay',
      '2',
      '--quality-every',
      '0',
      '--out',
      run,
      '--resume',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(rows(run)[2]!.fid).toBeUndefined();
    expect(statSync(path.join(run, 'best.json')).mtimeMs).toBe(before);
  }, 120_000);
});

describe('a folder with no judge yet', () => {
  it('trains on and says why there are no estimates; export --best says there is no best.json', async () => {
    const folder = path.join(tmp, 'clothes');
    await writeFashionPngs(folder, 20, [0, 1]);
    const run = path.join(tmp, 'folder-run');
    const r = await runCli(['train', '--model', 'gan', '--data', folder, '--epochs', '1', '--quality-every', '1', '--out', run]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/quality: no judge for these images yet/);
    expect(existsSync(path.join(run, 'best.json'))).toBe(false);
    const e = await runCli(['export', run, '--best', '--out', path.join(tmp, 'x.onnx')]);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/has no best.json: the run made no quality estimate/);
  }, 60_000);
});
