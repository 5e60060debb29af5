import { renameSync, writeFileSync, mkdirSync, openSync, fsyncSync, closeSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Write a file so readers see the old or the new content, never a torn one (temp + fsync + rename). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    // A failed write (disk full, rename refused) must not leave a partial temp file behind; the
    // caller gets the write's error, not one from the clean-up.
    try {
      rmSync(tmp, { force: true });
    } catch {}
    throw e;
  }
}
