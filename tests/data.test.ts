// Data sources: embedded MNIST split, IDX files (raw and gz) written here, and broken ones.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { balancedSubset } from '../data/dataset.js';
import { loadData, loadEmbeddedMnist, FASHION_CLASSES } from '../data/sources.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('onnxgan-data-');

function idxImages(count: number, rows = 28, cols = 28, magic = 0x803, fill = (i: number) => i % 256): Buffer {
  const b = Buffer.alloc(16 + count * rows * cols);
  b.writeUInt32BE(magic, 0);
  b.writeUInt32BE(count, 4);
  b.writeUInt32BE(rows, 8);
  b.writeUInt32BE(cols, 12);
  for (let i = 16; i < b.length; i++) b[i] = fill(i);
  return b;
}
function idxLabels(labels: number[], magic = 0x801): Buffer {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(magic, 0);
  b.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (b[8 + i] = l));
  return b;
}
function folder(name: string, images: Buffer, labels: Buffer, gz = false): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const suffix = gz ? '.gz' : '';
  writeFileSync(path.join(dir, `train-images-idx3-ubyte${suffix}`), gz ? gzipSync(images) : images);
  writeFileSync(path.join(dir, `train-labels-idx1-ubyte${suffix}`), gz ? gzipSync(labels) : labels);
  return dir;
}

/** An IDX folder of 5 images (labels 0..4) with the given classes.json text. */
function withClasses(name: string, json: string): string {
  const dir = folder(name, idxImages(5), idxLabels([0, 1, 2, 3, 4]));
  writeFileSync(path.join(dir, 'classes.json'), json);
  return dir;
}

describe('embedded MNIST', () => {
  it('holds out the last 100 images of each digit and scales to [-1, 1]', () => {
    const { train, heldOut } = loadEmbeddedMnist();
    expect(train.count + heldOut.count).toBe(10_000);
    expect(heldOut.count).toBe(1000);
    expect(Array.from({ length: 10 }, (_, d) => heldOut.labels.filter((l) => l === d).length)).toEqual(Array(10).fill(100));
    let min = Infinity,
      max = -Infinity;
    for (const v of train.images) ((min = Math.min(min, v)), (max = Math.max(max, v)));
    expect(min).toBe(-1);
    expect(max).toBeCloseTo(1, 2);
    expect(train.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('--limit takes a class-balanced subset', () => {
    const sub = balancedSubset(loadEmbeddedMnist().train, 600, 3);
    expect(sub.count).toBe(600);
    for (let d = 0; d < 10; d++) expect(sub.labels.filter((l) => l === d).length).toBe(60);
  });
});

describe('IDX folders', () => {
  for (const gz of [false, true]) {
    it(`reads ${gz ? 'gzipped' : 'raw'} IDX files`, () => {
      const dir = folder(`ok-${gz}`, idxImages(20), idxLabels(Array.from({ length: 20 }, (_, i) => i % 10)), gz);
      const { train, heldOut } = loadData(dir);
      expect(train.count + heldOut.count).toBe(20); // no t10k files: the last 10% are held out
      expect(heldOut.count).toBe(2);
      expect(train.images[0]).toBeCloseTo(((16 % 256) / 255) * 2 - 1, 5);
      expect(train.labels[3]).toBe(3);
    });
  }

  it('takes class names from classes.json', () => {
    const dir = withClasses('classes-ok', JSON.stringify(['a', 'b', 'c', 'd', 'e']));
    expect(loadData(dir).train.classes).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it("reads Debian's Fashion-MNIST with its class names", () => {
    const { train, heldOut } = loadData('fashion');
    expect(train.count).toBe(60_000);
    expect(heldOut.count).toBe(10_000);
    expect(train.classes).toEqual(FASHION_CLASSES);
  });

  const broken: [string, () => string, RegExp][] = [
    [
      'wrong magic number',
      () => folder('magic', idxImages(5, 28, 28, 0x801), idxLabels([0, 1, 2, 3, 4])),
      /train-images-idx3-ubyte: wrong magic number 0x801/,
    ],
    [
      'truncated data',
      () => folder('trunc', idxImages(5).subarray(0, 16 + 784 * 3), idxLabels([0, 1, 2, 3, 4]), true),
      /train-images-idx3-ubyte.gz: truncated data/,
    ],
    ['truncated header', () => folder('head', idxImages(5).subarray(0, 10), idxLabels([0, 1, 2, 3, 4])), /truncated header/],
    ['count mismatch', () => folder('count', idxImages(5), idxLabels([0, 1, 2])), /5 images but .*train-labels-idx1-ubyte has 3 labels/],
    ['not 28x28', () => folder('size', idxImages(5, 32, 32), idxLabels([0, 1, 2, 3, 4])), /images are 32x32, not 28x28/],
    ['label out of range', () => folder('label', idxImages(2), idxLabels([0, 12])), /label 12 at index 1 is out of range 0..9/],
    [
      'corrupt gzip',
      () => {
        const dir = folder('gzip', idxImages(2), idxLabels([0, 1]), true);
        writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
        return dir;
      },
      /corrupt gzip data/,
    ],
    [
      'a gzip bomb (small file, 320 MB inflated), stopped at the bound',
      () => {
        const dir = folder('bomb', idxImages(2), idxLabels([0, 1]), true);
        const member = gzipSync(Buffer.alloc(64 << 20), { level: 1 }); // concatenated gzip members inflate one after another
        writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), Buffer.concat(Array(5).fill(member)));
        return dir;
      },
      /bomb\/train-images-idx3-ubyte.gz: decompresses to more than 256 MiB/,
    ],
    [
      'a FIFO as the images file (refused, not waited on)',
      () => {
        const dir = folder('fifo', idxImages(2), idxLabels([0, 1]));
        rmSync(path.join(dir, 'train-images-idx3-ubyte'));
        execFileSync('mkfifo', [path.join(dir, 'train-images-idx3-ubyte')]);
        return dir;
      },
      /fifo\/train-images-idx3-ubyte: a FIFO, not a regular file/,
    ],
    [
      'classes.json a folder',
      () => {
        const dir = folder('classes-dir', idxImages(5), idxLabels([0, 1, 2, 3, 4]));
        mkdirSync(path.join(dir, 'classes.json'));
        return dir;
      },
      /classes-dir\/classes.json: a folder, not a regular file/,
    ],
    ['no images', () => folder('empty', idxImages(0), idxLabels([])), /empty\/train-images-idx3-ubyte: holds no images/],
    [
      'a single image, nothing to hold out',
      () => folder('single', idxImages(1), idxLabels([3])),
      /single: a single training image is too few/,
    ],
    [
      'classes.json not JSON',
      () => withClasses('classes-syntax', '["cat", "dog"'),
      /classes-syntax\/classes\.json: not valid JSON \(.+\); expected a JSON list/,
    ],
    [
      'classes.json not a list',
      () => withClasses('classes-object', '{"0": "cat", "1": "dog"}'),
      /classes-object\/classes\.json: holds object, not a list/,
    ],
    ['classes.json one class', () => withClasses('classes-one', '["cat"]'), /classes-one\/classes\.json: lists 1 class name;/],
    [
      'classes.json non-string entry',
      () => withClasses('classes-number', '["cat", 7]'),
      /classes-number\/classes\.json: entry 1 is 7, not a class name/,
    ],
    [
      'classes.json duplicate',
      () => withClasses('classes-dup', '["cat", "dog", "cat"]'),
      /classes-dup\/classes\.json: "cat" is listed twice/,
    ],
    [
      'classes.json fewer classes than labels',
      () => withClasses('classes-few', '["cat", "dog"]'),
      /train-labels-idx1-ubyte: label 2 at index 2 is out of range 0..1/,
    ],
    [
      'missing labels file',
      () => {
        const dir = path.join(tmp, 'nolabels');
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), idxImages(2));
        return dir;
      },
      /but not its labels file/,
    ],
  ];
  for (const [what, make, message] of broken) {
    it(`names the file and the problem: ${what}`, () => {
      const dir = make();
      expect(() => loadData(dir)).toThrow(message);
    });
  }
});
