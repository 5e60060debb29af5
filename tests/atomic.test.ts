// writeFileAtomic: the new content or the old one, and no temp file left behind when a write fails;
// removeStaleTempFiles: what a killed writer left is removed by the next run, a live writer's kept.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { removeStaleTempFiles, writeFileAtomic } from '../common/atomic.js';

let dirs: string[] = [];
const freshDir = (): string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'onnxgan-atomic-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

describe('writeFileAtomic', () => {
  it('replaces the content and leaves only the file', () => {
    const dir = freshDir();
    const file = path.join(dir, 'sub', 'model.onnx');
    writeFileAtomic(file, 'old');
    writeFileAtomic(file, Uint8Array.from([110, 101, 119]));
    expect(readFileSync(file, 'utf8')).toBe('new');
    expect(readdirSync(path.dirname(file))).toEqual(['model.onnx']);
  });

  it('removes its temp file when the final rename fails', () => {
    const dir = freshDir();
    // A non-empty folder in the file's place: the temp file is written, the rename is refused.
    const file = path.join(dir, 'taken');
    mkdirSync(file);
    writeFileSync(path.join(file, 'keep'), 'x');
    expect(() => writeFileAtomic(file, 'data'.repeat(1000))).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readdirSync(dir)).toEqual(['taken']);
    expect(readdirSync(file)).toEqual(['keep']);
  });

  it("keeps the write's error and leaves a folder in the temp file's place alone", () => {
    const dir = freshDir();
    const file = path.join(dir, 'out.json');
    mkdirSync(`${file}.tmp-${process.pid}`);
    expect(() => writeFileAtomic(file, '{}')).toThrow(/EISDIR/);
    expect(readdirSync(dir)).toEqual([`out.json.tmp-${process.pid}`]);
  });
});

describe('removeStaleTempFiles', () => {
  it('removes the temp files of dead processes only, and nothing else', async () => {
    const dir = freshDir();
    // A real process that has exited: its PID runs nothing now.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const sleeper = spawn('sleep', ['30']);
    try {
      const names = [
        `checkpoint.json.tmp-${dead}`,
        `metrics.jsonl.tmp-${dead}`,
        `checkpoint.json.tmp-${process.pid}`,
        `samples.png.tmp-${sleeper.pid}`,
        'checkpoint.json',
        'notes.tmp-x',
        `keep.tmp-${dead}.bak`,
      ];
      for (const n of names) writeFileSync(path.join(dir, n), 'x');
      mkdirSync(path.join(dir, `folder.tmp-${dead}`));
      expect(removeStaleTempFiles(dir).sort()).toEqual([`checkpoint.json.tmp-${dead}`, `metrics.jsonl.tmp-${dead}`]);
      expect(readdirSync(dir).sort()).toEqual([...names.slice(2), `folder.tmp-${dead}`].sort());
      expect(removeStaleTempFiles(path.join(dir, 'nowhere'))).toEqual([]);
    } finally {
      sleeper.kill();
    }
  });
});

describe('writeFileAtomic on a full disk', () => {
  it('leaves neither the temp file nor the folders it made (a small real tmpfs; needs root)', (ctx) => {
    const mnt = freshDir();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      ctx.skip('cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)');
    }
    try {
      writeFileSync(path.join(mnt, 'old'), 'kept');
      expect(() => writeFileAtomic(path.join(mnt, 'new', 'deeper', 'big.bin'), new Uint8Array(1 << 20))).toThrow(/ENOSPC/);
      expect(readdirSync(mnt)).toEqual(['old']);
      expect(readFileSync(path.join(mnt, 'old'), 'utf8')).toBe('kept');
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
