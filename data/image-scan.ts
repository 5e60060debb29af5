// Finding the images of a folder (no decoding): one subfolder per class, the torchvision ImageFolder
// convention (class = folder name, sorted; files found recursively inside), or a flat folder of
// images without classes. The walk follows symbolic links but visits each folder once (a link loop
// is reported, not followed), never opens anything but regular files (a FIFO named x.png would
// block a read forever), and reports folders it cannot read instead of failing. Names are read as
// bytes: a name that is not valid UTF-8 (or holds control characters) is still a file to train on;
// it is opened by its bytes and shown with those bytes escaped (caf\xe9.png).
import { readdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { DataError } from './dataset.js';
import { isImageFileName } from './image-options.js';

export interface ScannedFile {
  /** Absolute path, as shown (bytes that are not UTF-8 escaped). */
  file: string;
  /** What to open: the path, as bytes when `file` had to escape some. */
  source: string | Buffer;
  /** Path relative to the scanned folder (part of the cache key). */
  rel: string;
  size: number;
  mtimeMs: number;
  /** Class index (0 for a flat folder). */
  label: number;
}

export interface FolderScan {
  root: string;
  layout: 'classes' | 'flat';
  /** Class names (NFC-normalised folder names, sorted by code point); empty for a flat folder. */
  classes: string[];
  /** Sorted by class, then by relative path. */
  files: ScannedFile[];
  skipped: { file: string; reason: string }[];
  ignored: { count: number; examples: string[] };
}

/** Folders deeper than this inside a class folder are not entered (a chain of links can be long without looping). */
const MAX_DEPTH = 32;
const MAX_EXAMPLES = 5;

/**
 * Python's sorted(), by code point. JS compares UTF-16 units, which differs only where a surrogate
 * (half of a code point above U+FFFF) meets a unit from U+E000 up: the surrogate's code point is larger.
 */
const byCodePoint = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    return sx === sy ? x - y : sx ? 1 : -1;
  }
  return a.length - b.length;
};

const errorText = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  const what: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOENT: 'broken link or removed',
    ELOOP: 'link loop',
    ENOTDIR: 'not a folder',
  };
  return err.code ? `${what[err.code] ?? err.message} (${err.code})` : String(err.message ?? e);
};

/** An entry: `name` and `full` as shown, `source` the path to open (bytes when the shown one escapes some). */
type Entry = { name: string; full: string; source: string | Buffer; kind: 'dir' | 'file' | 'other'; stat: Stats };
type Folder = Pick<Entry, 'full' | 'source'>;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const CONTROL = /[\u0000-\u001f\u007f]/;
const hex = (b: number): string => `\\x${b.toString(16).padStart(2, '0')}`;
const decodes = (bytes: Buffer): string | null => {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
};

/** A file name's bytes as text: valid UTF-8 as it is, every other byte (and control characters) as \xNN. */
export function shownName(raw: Buffer): { name: string; exact: boolean } {
  const whole = decodes(raw);
  if (whole !== null && !CONTROL.test(whole)) return { name: whole, exact: true };
  let out = '';
  for (let i = 0; i < raw.length;) {
    const lead = raw[i]!;
    const len =
      lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    const text = len ? decodes(raw.subarray(i, i + len)) : null;
    if (text === null || text.length === 0 || (len === 1 && CONTROL.test(text))) {
      out += hex(lead);
      i++;
    } else {
      out += text;
      i += len;
    }
  }
  return { name: out, exact: false };
}

const sepBytes = Buffer.from(path.sep);
const child = (dir: Folder, raw: Buffer): { name: string; full: string; source: string | Buffer } => {
  const { name, exact } = shownName(raw);
  // absolute and normalised: no path.join per file
  const full = dir.full.endsWith(path.sep) ? dir.full + name : `${dir.full}${path.sep}${name}`;
  if (exact && typeof dir.source === 'string') return { name, full, source: full };
  const parent = typeof dir.source === 'string' ? Buffer.from(dir.source) : dir.source;
  return { name, full, source: Buffer.concat(parent.at(-1) === sepBytes[0] ? [parent, raw] : [parent, sepBytes, raw]) };
};

/** The visible entries of a folder with link targets resolved; unusable ones go to `skipped`. */
function entries(dir: Folder, skipped: FolderScan['skipped']): Entry[] | null {
  let list: Buffer[];
  try {
    list = readdirSync(dir.source, { encoding: 'buffer' });
  } catch (e) {
    skipped.push({ file: dir.full, reason: `cannot read folder: ${errorText(e)}` });
    return null;
  }
  const out: Entry[] = [];
  for (const raw of list) {
    if (raw[0] === 0x2e) continue; // .DS_Store, .git, editors' files
    const { name, full, source } = child(dir, raw);
    let stat: Stats;
    try {
      stat = statSync(source); // follows links
    } catch (e) {
      skipped.push({ file: full, reason: errorText(e) });
      continue;
    }
    out.push({ name, full, source, stat, kind: stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : 'other' });
  }
  return out.sort((a, b) => byCodePoint(a.name, b.name));
}

export function scanImageFolder(dir: string): FolderScan {
  const root = path.resolve(dir);
  const st = statSync(root, { throwIfNoEntry: false });
  if (!st) throw new DataError(`${dir}: no such folder`);
  if (!st.isDirectory()) throw new DataError(`${dir}: not a folder`);
  const skipped: FolderScan['skipped'] = [];
  const ignored: FolderScan['ignored'] = { count: 0, examples: [] };
  const top = entries({ full: root, source: root }, skipped);
  if (!top) throw new DataError(`${dir}: ${skipped[0]!.reason}`);
  const files: ScannedFile[] = [];
  const prefix = root.endsWith(path.sep) ? root.length : root.length + 1;

  const addFile = (e: Entry, label: number): void => {
    if (!isImageFileName(e.name)) {
      ignored.count++;
      if (ignored.examples.length < MAX_EXAMPLES) ignored.examples.push(path.relative(root, e.full));
    } else if (e.kind !== 'file') {
      skipped.push({ file: e.full, reason: 'not a regular file' });
    } else {
      files.push({ file: e.full, source: e.source, rel: e.full.slice(prefix), size: e.stat.size, mtimeMs: e.stat.mtimeMs, label });
    }
  };

  const classDirs = top.filter((e) => e.kind === 'dir');
  if (classDirs.length === 0) {
    for (const e of top) addFile(e, 0);
    return { root, layout: 'flat', classes: [], files, skipped, ignored };
  }

  const classes = classDirs.map((e) => e.name.normalize('NFC'));
  const dup = classes.find((c, i) => classes.indexOf(c) !== i);
  if (dup !== undefined) throw new DataError(`${dir}: two class folders are both named "${dup}" (after Unicode normalisation): rename one`);
  const loose = top.filter((e) => e.kind !== 'dir' && isImageFileName(e.name)).length;
  if (loose)
    skipped.push({ file: root, reason: `${loose} image${loose > 1 ? 's' : ''} directly in the folder, not in a class folder: not used` });

  classDirs.forEach((classDir, label) => {
    // Folders are identified by device and inode, so a link back to an ancestor is seen once; the
    // data folder is an ancestor too (a link to it would bring every class into this one).
    const visited = new Set<string>([`${st.dev}:${st.ino}`]);
    const walk = (d: Entry, stat: Stats, depth: number, list: Entry[] | null): void => {
      const id = `${stat.dev}:${stat.ino}`;
      if (visited.has(id)) {
        skipped.push({ file: d.full, reason: 'folder already scanned (a symbolic link loop or a second link to it): not followed' });
        return;
      }
      visited.add(id);
      if (depth > MAX_DEPTH) {
        skipped.push({ file: d.full, reason: `more than ${MAX_DEPTH} folders deep: not entered` });
        return;
      }
      for (const e of list ?? entries(d, skipped) ?? []) {
        if (e.kind === 'dir') walk(e, e.stat, depth + 1, null);
        else addFile(e, label);
      }
    };
    const before = files.length;
    const list = entries(classDir, skipped);
    if (!list) throw new DataError(`${classDir.full}: class folder "${classes[label]}": ${skipped.at(-1)!.reason}`);
    walk(classDir, classDir.stat, 0, list);
    if (files.length === before) {
      throw new DataError(
        `${classDir.full}: empty class folder "${classes[label]}" (no PNG, JPEG or WebP images in it): add images or remove the folder`,
      );
    }
  });
  files.sort((a, b) => a.label - b.label || byCodePoint(a.rel, b.rel));
  return { root, layout: 'classes', classes, files, skipped, ignored };
}
