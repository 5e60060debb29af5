// In-memory data sets and the operations on them, whatever file format they were read from.
import { imageValues, type ImageShape } from '../common/metadata.js';
import { Rng } from '../common/rng.js';
import type { ImageFolderInfo } from './image-options.js';

export interface Dataset {
  /** Row-major [count, C*H*W] (each image planar C x H x W), scaled to [-1, 1] like Normalize((0.5,), (0.5,)). */
  images: Float32Array;
  labels: Int32Array;
  count: number;
  classes: string[];
  /** The data set's name; for image folders with its content fingerprint (`icons@3f2a...`). */
  name: string;
  /** [C, H, W] of every image: the digits' [1, 28, 28] for mnist, fashion and IDX folders. */
  shape: ImageShape;
}

export interface DataSplits {
  train: Dataset;
  /** Never trained on by default; evaluation compares generators against it. */
  heldOut: Dataset;
  /** Image folders only: where the images came from, how they were read, what was skipped. */
  folder?: ImageFolderInfo;
}

export class DataError extends Error {}

/** Images [from, to) as a data set of their own (copied). */
export function sliceDataset(ds: Dataset, from: number, to: number, name = ds.name): Dataset {
  const v = imageValues(ds.shape);
  return {
    ...ds,
    name,
    images: ds.images.slice(from * v, to * v),
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
  const v = imageValues(ds.shape);
  const images = new Float32Array(picked.length * v);
  picked.forEach((src, i) => images.set(ds.images.subarray(src * v, (src + 1) * v), i * v));
  return { ...ds, images, labels: Int32Array.from(picked.map((i) => ds.labels[i]!)), count: picked.length };
}

/** Fisher-Yates shuffle in place, seeded. */
export function shuffle<T>(a: T[] | Int32Array, rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}
