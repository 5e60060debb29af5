// Reading a file a user named, whatever is there: a FIFO (which would block a plain read until a
// writer comes), a device, a folder, a link loop or a file larger than the reader takes. The answer
// is the bytes, or one error saying what the entry is, never a hang and never an allocation larger
// than the limit. Node-only (convert/ and data/; serve/model-file.ts is the async twin for the server).
import { closeSync, constants, fstatSync, openSync, readSync, type PathLike, type Stats } from 'node:fs';

export class FileReadError extends Error {}

/** What a non-regular entry is, in words. */
export const entryKind = (s: Stats): string =>
  s.isDirectory()
    ? 'a folder'
    : s.isFIFO()
      ? 'a FIFO'
      : s.isCharacterDevice() || s.isBlockDevice()
        ? 'a device'
        : s.isSocket()
          ? 'a socket'
          : 'not a regular file';

/** An errno as a person would say it. */
export const openErrorText = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  const what: Record<string, string> = {
    ENOENT: 'no such file',
    ELOOP: 'a symbolic link loop',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOTDIR: 'a path through something that is not a folder',
    ENAMETOOLONG: 'a path that is too long',
    ENXIO: 'a socket or a FIFO',
    EISDIR: 'a folder',
  };
  return (err.code && what[err.code]) ?? err.message ?? String(e);
};

const mb = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${(n / 1e6).toFixed(1)} MB`);

/**
 * The bytes of a regular file (or of a link to one), at most `maxBytes`. Opened with O_NONBLOCK, so a
 * FIFO (or a file swapped for one after a check) returns at once, and the opened handle's own type
 * and size are checked: no race between a check and the read. `name` is how errors name the file,
 * `limit` what the maximum is.
 */
export function readRegularFile(
  file: PathLike,
  maxBytes: number,
  name = String(file),
  limit = `the ${mb(maxBytes)} this reader takes`,
): { bytes: Buffer; stat: Stats } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new FileReadError(`${name}: cannot read: ${openErrorText(e)}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new FileReadError(`${name}: ${entryKind(stat)}, not a regular file`);
    if (stat.size > maxBytes) throw new FileReadError(`${name}: ${mb(stat.size)}, more than ${limit}`);
    const bytes = Buffer.allocUnsafe(stat.size);
    let at = 0;
    // The size from fstat bounds the read: a file that grows meanwhile is cut, not read without end.
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return { bytes: at === bytes.length ? bytes : bytes.subarray(0, at), stat };
  } finally {
    closeSync(fd);
  }
}
