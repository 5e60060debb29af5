// writeFileAtomic: the new content or the old one, and no temp file left behind when a write fails.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../common/atomic.js';

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

  it('keeps the write\'s error and leaves a folder in the temp file\'s place alone', () => {
    const dir = freshDir();
    const file = path.join(dir, 'out.json');
    mkdirSync(`${file}.tmp-${process.pid}`);
    expect(() => writeFileAtomic(file, '{}')).toThrow(/EISDIR/);
    expect(readdirSync(dir)).toEqual([`out.json.tmp-${process.pid}`]);
  });
});
