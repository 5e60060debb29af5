import { renameSync, writeFileSync, mkdirSync, openSync, fsyncSync, closeSync, rmSync, readdirSync, lstatSync, rmdirSync } from 'node:fs';
import path from 'node:path';

/** Write a file so readers see the old or the new content, never a torn one (temp + fsync + rename). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  const created = mkdirSync(dir, { recursive: true }); // the first folder made, if any
  const tmp = tempName(file, process.pid);
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
    // A failed write (disk full, rename refused) must not leave a partial temp file (or folders
    // made for it) behind; the caller gets the write's error, not one from the clean-up.
    try {
      rmSync(tmp, { force: true });
      // Folders made for the file go too, innermost first, each only while empty.
      for (let d = dir; created && d.length >= created.length; d = path.dirname(d)) rmdirSync(d);
    } catch {}
    throw e;
  }
}

/** The temp file writeFileAtomic uses for `file` in process `pid`. */
const tempName = (file: string, pid: number): string => `${file}.tmp-${pid}`;
const TEMP = /\.tmp-(\d+)$/;

/** Whether a process of this PID is running (EPERM: it is, under another user). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files of writeFileAtomic that processes killed mid-write (SIGKILL, power loss)
 * left in `dir`: regular files named NAME.tmp-PID whose PID runs no process. A live PID's file is
 * kept (that process may be writing it now); folders and other names are never touched. Returns the
 * names removed; a missing or unreadable folder removes nothing.
 */
export function removeStaleTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    const file = path.join(dir, name);
    try {
      if (!lstatSync(file).isFile()) continue;
      rmSync(file);
      removed.push(name);
    } catch {
      // gone meanwhile, or not ours to remove: nothing lost either way
    }
  }
  return removed;
}
