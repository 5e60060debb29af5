// A training run SIGKILLed while writing leaves NAME.tmp-PID files (issue 27): the next run in that
// folder, new or --resume, removes those of dead processes and keeps a live writer's.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('onnxgan-run-temp-');
const train = (out: string, ...more: string[]): string[] => [
  'train',
  '--model',
  'gan',
  '--limit',
  '300',
  '--backend',
  'cpu',
  '--out',
  out,
  ...more,
];
const temps = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.includes('.tmp-'))
    .sort();

describe('stale temp files of killed runs', () => {
  it("are removed by --resume after a real SIGKILL; a live process's are kept", async () => {
    const out = path.join(tmp, 'run');
    expect((await runCli(train(out, '--epochs', '1'))).code).toBe(0);
    // A real run, killed mid-training; what its atomic writes would leave is put where they write.
    const { child, done } = startCli(train(out, '--epochs', '500', '--resume'));
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
      if (/resuming/.test(err)) child.kill('SIGKILL');
    });
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    const ckpt = readFileSync(path.join(out, 'checkpoint.json'));
    writeFileSync(path.join(out, `checkpoint.json.tmp-${child.pid}`), ckpt.subarray(0, ckpt.length >> 1));
    writeFileSync(path.join(out, `samples.png.tmp-${child.pid}`), 'torn');
    const live = spawn('sleep', ['60']);
    try {
      writeFileSync(path.join(out, `metrics.jsonl.tmp-${live.pid}`), 'being written');
      const r = await runCli(train(out, '--epochs', '2', '--resume'));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`removed ${path.join(out, `checkpoint.json.tmp-${child.pid}`)}: left by a process that no longer runs`);
      expect(r.stderr).toContain(`removed ${path.join(out, `samples.png.tmp-${child.pid}`)}`);
      expect(temps(out)).toEqual([`metrics.jsonl.tmp-${live.pid}`]);
      expect(JSON.parse(readFileSync(path.join(out, 'checkpoint.json'), 'utf8')).position.epoch).toBe(2);
    } finally {
      live.kill();
    }
  });

  it('are removed by a new run in a folder a killed first run left without a checkpoint', async () => {
    const out = path.join(tmp, 'first');
    mkdirSync(out);
    const { child, done } = startCli(['--version']);
    await done; // a real process that has exited: its PID runs nothing now
    writeFileSync(path.join(out, `checkpoint.json.tmp-${child.pid}`), '{"format":');
    const r = await runCli(train(out, '--epochs', '1'));
    expect(r.code, r.stderr).toBe(0);
    expect(temps(out)).toEqual([]);
    expect(existsSync(path.join(out, 'checkpoint.json'))).toBe(true);
  });
});
