// IDX files (the MNIST format): `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]` in a folder.
import { existsSync } from 'node:fs';
import { readRegularFile } from '../common/regular-file.js';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { DIGIT_CLASSES, DIGIT_SHAPE, IMAGE_PIXELS, IMAGE_SIZE } from '../common/metadata.js';
import { DataError, sliceDataset, type Dataset, type DataSplits } from './dataset.js';

/** An IDX file, compressed or not, at most this large (256 MiB; all of MNIST's training set is 47 MB). */
const MAX_IDX_BYTES = 2 ** 28;

/** A regular file only (a FIFO would block the read), bounded; a gzip bomb stops at the same bound. */
function readMaybeGz(file: string): Buffer {
  const raw = readData(file, MAX_IDX_BYTES);
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw, { maxOutputLength: MAX_IDX_BYTES });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        throw new DataError(
          `${file}: decompresses to more than ${MAX_IDX_BYTES / 2 ** 20} MiB: not an IDX file of images this trainer takes`,
        );
      throw new DataError(`${file}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  return raw;
}

const readData = (file: string, max: number): Buffer => {
  try {
    return readRegularFile(file, max).bytes;
  } catch (e) {
    throw new DataError((e as Error).message);
  }
};

/** Parse an IDX images file (magic 2051, uint8 pixels) to [-1, 1] floats. */
export function parseIdxImages(buf: Buffer, file: string): { images: Float32Array; count: number } {
  if (buf.length < 16) throw new DataError(`${file}: truncated header (${buf.length} bytes, need 16)`);
  const magic = buf.readUInt32BE(0);
  if (magic !== 0x803) throw new DataError(`${file}: wrong magic number 0x${magic.toString(16)} (IDX images are 0x803)`);
  const [count, rows, cols] = [buf.readUInt32BE(4), buf.readUInt32BE(8), buf.readUInt32BE(12)];
  if (rows !== IMAGE_SIZE || cols !== IMAGE_SIZE)
    throw new DataError(`${file}: images are ${rows}x${cols}, not ${IMAGE_SIZE}x${IMAGE_SIZE}`);
  const need = 16 + count * IMAGE_PIXELS;
  if (buf.length < need)
    throw new DataError(`${file}: truncated data (${buf.length} bytes, header promises ${count} images = ${need} bytes)`);
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
  if (count === 0) throw new DataError(`${imgFile}: holds no images (its header counts 0)`);
  const labels = parseIdxLabels(readMaybeGz(lblFile), lblFile, classes.length);
  if (labels.length !== count) throw new DataError(`${imgFile}: ${count} images but ${lblFile} has ${labels.length} labels`);
  return { images, labels, count, classes, name, shape: DIGIT_SHAPE };
}

/** Class names of a folder: `classes.json` (a JSON list) if present, else the digits. */
function folderClasses(dir: string): string[] {
  const file = path.join(dir, 'classes.json');
  if (!existsSync(file)) return DIGIT_CLASSES;
  const text = readData(file, 2 ** 20).toString('utf8');
  const bad = (why: string): DataError =>
    new DataError(`${file}: ${why}; expected a JSON list of at least 2 class names, like ["cat", "dog"]`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v)) throw bad(`holds ${v === null ? 'null' : typeof v}, not a list`);
  if (v.length < 2) throw bad(`lists ${v.length} class name${v.length === 1 ? '' : 's'}`);
  const i = v.findIndex((s) => typeof s !== 'string' || s.trim() === '');
  if (i >= 0) throw bad(`entry ${i} is ${JSON.stringify(v[i])}, not a class name`);
  const dup = v.find((s, j) => v.indexOf(s) !== j) as string | undefined;
  if (dup !== undefined) throw bad(`"${dup}" is listed twice`);
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
  if (cut === 0)
    throw new DataError(`${dir}: a single training image is too few to hold 10% out for evaluation (add images or t10k-* files)`);
  return { train: sliceDataset(train, 0, cut), heldOut: sliceDataset(train, cut, train.count, `${name}-heldout`) };
}
