// The decoded-image cache: one file per (folder, data options) in cacheDir('images'), holding the
// decoded bytes, labels and what the decode found. It is valid while its key matches: a hash of
// every file's relative path, size and mtime, the classes and the options. A second load then reads
// one file instead of decoding thousands. A cache that cannot be read or written never stops a load.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../common/atomic.js';
import type { ImageShape } from '../common/metadata.js';
import { cacheDir, type ChannelRequest, type ImageFit, type ImageFolderInfo } from './image-options.js';
import type { FolderScan } from './image-scan.js';

const MAGIC = 'onnxgan-image-cache/1\n';

/** What decides the decoded bytes besides the files. */
export interface DecodeRequest {
  width: number;
  height: number;
  channels: ChannelRequest;
  fit: ImageFit;
}

export interface DecodedFolder {
  shape: ImageShape;
  classes: string[];
  layout: FolderScan['layout'];
  /** [count, C, H, W] bytes. */
  pixels: Uint8Array;
  labels: Int32Array;
  fingerprint: string;
  sizes: ImageFolderInfo['sizes'];
  kinds: ImageFolderInfo['kinds'];
  /** Files the decoder could not use (scan problems are found again by every scan). */
  decodeSkipped: ImageFolderInfo['skipped'];
}

type Header = Omit<DecodedFolder, 'pixels' | 'labels'> & { key: string; count: number };

const sha256 = (...parts: (string | Uint8Array)[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

/** The cache file of a folder read with these options (one per pair: a changed folder replaces it). */
export const cacheFile = (root: string, r: DecodeRequest): string =>
  path.join(cacheDir('images'), `${sha256(JSON.stringify([root, r])).slice(0, 32)}.bin`);

/** Changes whenever a file is added, removed, replaced or touched, a class renamed, or an option changed. */
export function cacheKey(scan: FolderScan, r: DecodeRequest): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([MAGIC, scan.root, scan.layout, scan.classes, r]));
  for (const f of scan.files) h.update(`\n${f.label}\0${f.rel}\0${f.size}\0${f.mtimeMs}`);
  return h.digest('hex');
}

/** Hash of what the generator learns from: shape, class names, labels and pixels (not paths or dates). */
export const contentFingerprint = (shape: ImageShape, classes: string[], labels: Int32Array, pixels: Uint8Array): string =>
  sha256(JSON.stringify([shape, classes]), new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength), pixels).slice(0, 16);

/** The cached decode of this key, or null (absent, stale, or unreadable). */
export function readCache(file: string, key: string): DecodedFolder | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    // Check the key from the header before reading tens of megabytes of pixels.
    const head = Buffer.alloc(MAGIC.length + 4);
    if (readSync(fd, head, 0, head.length, 0) !== head.length || head.toString('latin1', 0, MAGIC.length) !== MAGIC) return null;
    const headerLength = head.readUInt32LE(MAGIC.length);
    if (headerLength > fstatSync(fd).size - head.length) return null; // a corrupt length: allocate nothing it claims
    const headerBytes = Buffer.alloc(headerLength);
    if (readSync(fd, headerBytes, 0, headerLength, head.length) !== headerLength) return null;
    const header = JSON.parse(headerBytes.toString('utf8')) as Header;
    if (header.key !== key) return null;
    const body = readFileSync(file).subarray(head.length + headerLength);
    const [c, h, w] = header.shape;
    const nPixels = header.count * c * h * w;
    if (body.length !== nPixels + header.count * 4) return null;
    const labels = new Int32Array(header.count);
    new Uint8Array(labels.buffer).set(body.subarray(nPixels));
    const { key: _k, count: _n, ...rest } = header;
    return { ...rest, pixels: body.subarray(0, nPixels), labels };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Writes the cache atomically; returns false (and leaves no partial file) when it cannot. */
export function writeCache(file: string, key: string, d: DecodedFolder): boolean {
  const { pixels, labels, ...rest } = d;
  const header: Header = { ...rest, key, count: labels.length };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  try {
    writeFileAtomic(
      file,
      Buffer.concat([
        Buffer.from(MAGIC, 'latin1'),
        length,
        json,
        pixels,
        new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength),
      ]),
    );
    return true;
  } catch {
    return false;
  }
}
