// In-memory data sets and the operations on them, whatever file format they were read from.
import { IMAGE_PIXELS } from '../common/metadata.js';
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

export class DataError extends Error {}

/** Images [from, to) as a data set of their own (copied). */
export function sliceDataset(ds: Dataset, from: number, to: number, name = ds.name): Dataset {
  return {
    ...ds,
    name,
    images: ds.images.slice(from * IMAGE_PIXELS, to * IMAGE_PIXELS),
    labels: ds.labels.slice(from, to),
    count: to - from,
  };
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

/** Fisher-Yates shuffle in place, seeded. */
export function shuffle<T>(a: T[] | Int32Array, rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}
