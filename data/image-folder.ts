// A folder of images as a data set: scan (image-scan.ts) -> decode with sharp, several files in
// flight, into the cache (image-cache.ts) -> held-out split per class -> [-1, 1] floats. Files are
// decoded one by one from disk, so memory holds the decoded bytes, never all encoded files.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { bytesText, MAX_TYPED_ARRAY, memoryLimit } from '../common/memory-limit.js';
import { imageValues, type ImageShape } from '../common/metadata.js';
import { DataError, type Dataset, type DataSplits } from './dataset.js';
import { cacheFile, cacheKey, contentFingerprint, readCache, writeCache, type DecodeRequest, type DecodedFolder } from './image-cache.js';
import { decodeImage, ImageDecodeError, type DecodedImage } from './image-decode.js';
import { datasetId, DEFAULT_HOLDOUT, DEFAULT_IMAGE_SIZE, type ImageDataOptions, type ImageFolderInfo } from './image-options.js';
import { scanImageFolder, type FolderScan } from './image-scan.js';
import { progressBar } from './progress.js';

export interface LoadOptions {
  /** Progress and notes (default: stderr). */
  log?: (line: string) => void;
  /** Show a progress bar while decoding (default true). */
  progress?: boolean;
}

/** Loads an image folder with the given data options (defaults: 28x28, channels auto, cover, 10% held out). */
export async function loadImageFolder(dir: string, o: ImageDataOptions = {}, lo: LoadOptions = {}): Promise<DataSplits> {
  const log = lo.log ?? ((l: string) => console.error(l));
  const started = performance.now();
  const scan = scanImageFolder(dir);
  if (scan.files.length === 0) {
    const other = scan.ignored.count
      ? ` (${scan.ignored.count} other file${scan.ignored.count > 1 ? 's' : ''}, e.g. ${scan.ignored.examples[0]})`
      : '';
    throw new DataError(`${dir}: no PNG, JPEG or WebP images here${other}, and no IDX files (train-images-idx3-ubyte[.gz])`);
  }
  const [width, height] = o.size ?? [DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE];
  const request: DecodeRequest = { width, height, channels: o.channels ?? 'auto', fit: o.fit ?? 'cover' };
  checkDecodedSize(dir, scan.files.length, request);
  const holdout = o.holdout ?? DEFAULT_HOLDOUT;
  const key = cacheKey(scan, request);
  const file = cacheFile(scan.root, request);
  let decoded = readCache(file, key);
  const hit = decoded !== null;
  if (!decoded) {
    decoded = await decodeAll(scan, request, lo.progress ?? true);
    if (!writeCache(file, key, decoded)) log(`note: could not write the image cache ${file}: the next run decodes again`);
  }
  const skipped = [...scan.skipped, ...decoded.decodeSkipped];
  if (o.strict && skipped.length) {
    throw new DataError(
      `--strict: ${skipped.length} file${skipped.length > 1 ? 's' : ''} or folder` +
        `${skipped.length > 1 ? 's' : ''} could not be used, first ${skipped[0]!.file}: ${skipped[0]!.reason}`,
    );
  }
  const perClass =
    scan.layout === 'flat' ? [decoded.labels.length] : scan.classes.map((_, k) => decoded.labels.filter((l) => l === k).length);
  const empty = perClass.findIndex((n) => n === 0);
  if (empty >= 0) {
    const where = scan.layout === 'flat' ? scan.root : path.join(scan.root, scan.classes[empty]!);
    const first = decoded.decodeSkipped.find((s) => s.file.startsWith(where + path.sep));
    throw new DataError(`${where}: none of its images could be decoded${first ? ` (${path.basename(first.file)}: ${first.reason})` : ''}`);
  }
  const name = path.basename(scan.root) || 'images';
  const classes = scan.layout === 'flat' ? [name] : scan.classes;
  const info: ImageFolderInfo = {
    source: { path: scan.root, size: [width, height], channels: request.channels, fit: request.fit, holdout },
    layout: scan.layout,
    fingerprint: decoded.fingerprint,
    perClass,
    sizes: decoded.sizes,
    kinds: decoded.kinds,
    skipped,
    ignored: scan.ignored,
    cache: { file, hit },
    seconds: (performance.now() - started) / 1000,
  };
  return { ...splitHeldOut(decoded, classes, datasetId(name, decoded.fingerprint), holdout, scan), folder: info };
}

/**
 * Refuses, before decoding, a folder whose decoded images cannot fit: they are held as bytes and then
 * as float32 in [-1, 1] (5 bytes per value), in arrays no larger than a typed array can be.
 * Channels auto counts as grey (the least it can be).
 */
function checkDecodedSize(dir: string, count: number, r: DecodeRequest): void {
  const values = count * (r.channels === 'auto' ? 1 : r.channels) * r.width * r.height;
  const bytes = values * 5;
  const limit = memoryLimit();
  if (bytes > limit || values > MAX_TYPED_ARRAY) {
    throw new DataError(
      `${dir}: ${count} images at ${r.width}x${r.height} are ${values.toExponential(2)} values decoded, ` +
        `${bytesText(bytes)} as bytes and float32, more than ` +
        `${values > MAX_TYPED_ARRAY ? 'one typed array holds' : `the ${bytesText(limit)} of memory here`}: ` +
        `use a smaller --image-size or fewer images`,
    );
  }
}

/** Decodes every scanned file, a few at a time; files that fail are recorded with their reason. */
async function decodeAll(scan: FolderScan, r: DecodeRequest, showProgress: boolean): Promise<DecodedFolder> {
  const n = scan.files.length;
  const results: (DecodedImage | null)[] = new Array(n).fill(null);
  const decodeSkipped: DecodedFolder['decodeSkipped'] = [];
  const target = { width: r.width, height: r.height, fit: r.fit, channels: r.channels === 'auto' ? ('native' as const) : r.channels };
  const bar = showProgress ? progressBar(`decoding ${path.basename(scan.root)}`, n, 'images') : null;
  // sharp works on libuv's thread pool: a few files per core in flight keep it busy while bounding memory.
  const inFlight = Math.max(2, availableParallelism()) * 2;
  let next = 0;
  let done = 0;
  try {
    await Promise.all(
      Array.from({ length: Math.min(inFlight, n) }, async () => {
        while (next < n) {
          const i = next++;
          try {
            results[i] = await decodeImage(scan.files[i]!.source, target, scan.files[i]!.size);
          } catch (e) {
            decodeSkipped.push({
              file: scan.files[i]!.file,
              reason: e instanceof ImageDecodeError ? e.message : `cannot read it (${(e as Error).message})`,
            });
          }
          bar?.update(++done);
        }
      }),
    );
  } finally {
    bar?.stop();
  }
  decodeSkipped.sort((a, b) => (a.file < b.file ? -1 : 1));
  // `auto`: grey when every decoded file is grey; grey images join colour ones as R = G = B.
  const channels = r.channels === 'auto' ? (results.some((x) => x?.channels === 3) ? 3 : 1) : r.channels;
  const shape: ImageShape = [channels, r.height, r.width];
  const plane = r.width * r.height;
  const v = channels * plane;
  const kept = results.flatMap((x, i) => (x ? [i] : []));
  const pixels = new Uint8Array(kept.length * v);
  const labels = new Int32Array(kept.length);
  const sizes: Record<string, number> = {};
  const kinds: Record<string, number> = {};
  kept.forEach((src, i) => {
    const x = results[src]!;
    for (let c = 0; c < channels; c++)
      pixels.set(x.channels === channels ? x.pixels.subarray(c * plane, (c + 1) * plane) : x.pixels, i * v + c * plane);
    labels[i] = scan.files[src]!.label;
    sizes[x.sourceSize] = (sizes[x.sourceSize] ?? 0) + 1;
    kinds[x.kind] = (kinds[x.kind] ?? 0) + 1;
  });
  const classes = scan.layout === 'flat' ? [] : scan.classes;
  return {
    shape,
    classes,
    layout: scan.layout,
    pixels,
    labels,
    fingerprint: contentFingerprint(shape, classes, labels, pixels),
    sizes,
    kinds,
    decodeSkipped,
  };
}

/**
 * The last `max(1, floor(holdout * n))` images of each class (in file-name order) are held out, as
 * the embedded digits hold out the last 100 of each digit; a class needs 2 images to give one.
 */
function splitHeldOut(
  d: DecodedFolder,
  classes: string[],
  name: string,
  holdout: number,
  scan: FolderScan,
): Pick<DataSplits, 'train' | 'heldOut'> {
  const byClass = classes.map(() => [] as number[]);
  d.labels.forEach((l, i) => byClass[scan.layout === 'flat' ? 0 : l]!.push(i));
  const train: number[] = [];
  const held: number[] = [];
  byClass.forEach((idx, k) => {
    if (idx.length < 2) {
      const what = scan.layout === 'flat' ? `${scan.root} holds` : `class "${classes[k]}" (${path.join(scan.root, classes[k]!)}) has`;
      throw new DataError(`${what} 1 usable image: need at least 2 (one is held out for evaluation)`);
    }
    const cut = idx.length - Math.max(1, Math.floor(holdout * idx.length));
    idx.forEach((i, j) => (j < cut ? train : held).push(i));
  });
  const v = imageValues(d.shape);
  const toUnit = Float32Array.from({ length: 256 }, (_, b) => (b / 255) * 2 - 1); // as the IDX reader
  const pack = (idx: number[], setName: string): Dataset => {
    const images = new Float32Array(idx.length * v);
    idx.forEach((src, i) => {
      const o = i * v;
      const s = src * v;
      for (let p = 0; p < v; p++) images[o + p] = toUnit[d.pixels[s + p]!]!;
    });
    return {
      images,
      labels: Int32Array.from(idx, (i) => (scan.layout === 'flat' ? 0 : d.labels[i]!)),
      count: idx.length,
      classes,
      name: setName,
      shape: d.shape,
    };
  };
  return { train: pack(train, name), heldOut: pack(held, `${name}-heldout`) };
}
