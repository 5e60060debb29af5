// Real image folders for the tests, built from data on this machine (tests/setup.sh installs them):
// Fashion-MNIST exported to PNG by class, and a colour set of Adwaita's icons (RGBA PNGs of 16 to
// 512 px, three categories).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { FASHION_CLASSES, FASHION_DIR } from '../../data/sources.js';

export const ADWAITA = '/usr/share/icons/Adwaita';
/** Class folder names of the Fashion-MNIST export ("T-shirt/top" cannot be a folder name). */
export const FASHION_FOLDERS = FASHION_CLASSES.map((c) => c.replace('/', '-'));
export const ICON_CLASSES = ['devices', 'mimetypes', 'places'];

let fashion: { images: Buffer; labels: Buffer } | null = null;
/** Fashion-MNIST's training images and labels (Debian's IDX files). */
export function fashionIdx(): { images: Buffer; labels: Buffer } {
  fashion ??= {
    images: gunzipSync(readFileSync(path.join(FASHION_DIR, 'train-images-idx3-ubyte.gz'))),
    labels: gunzipSync(readFileSync(path.join(FASHION_DIR, 'train-labels-idx1-ubyte.gz'))),
  };
  return fashion;
}

/**
 * The first `perClass` images of each Fashion-MNIST class as 28x28 grey PNGs in one folder per class; returns the IDX
 * index of each file.
 */
export async function writeFashionPngs(
  dir: string,
  perClass: number,
  classes = FASHION_FOLDERS.map((_, k) => k),
): Promise<Map<string, number>> {
  const { images, labels } = fashionIdx();
  const written = new Map<string, number>();
  const counts = new Map<number, number>();
  for (const k of classes) mkdirSync(path.join(dir, FASHION_FOLDERS[k]!), { recursive: true });
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; written.size < perClass * classes.length && i < 60_000; i++) {
    const k = labels[8 + i]!;
    if (!classes.includes(k) || (counts.get(k) ?? 0) >= perClass) continue;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    const file = path.join(dir, FASHION_FOLDERS[k]!, `${String(i).padStart(5, '0')}.png`);
    written.set(file, i);
    const raw = images.subarray(16 + i * 784, 16 + (i + 1) * 784);
    jobs.push(
      sharp(raw, { raw: { width: 28, height: 28, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toFile(file),
    ); // a grey PNG (colour type 0)
  }
  await Promise.all(jobs);
  return written;
}

/** Adwaita's coloured (non-symbolic) PNG icons of one category, every size. */
export function iconFiles(category: string): string[] {
  return readdirSync(ADWAITA)
    .filter((size) => /^\d+x\d+$/.test(size))
    .flatMap((size) => {
      const dir = path.join(ADWAITA, size, category);
      try {
        return readdirSync(dir)
          .filter((f) => f.endsWith('.png') && !f.includes('symbolic'))
          .map((f) => path.join(dir, f));
      } catch {
        return [];
      }
    });
}

/** The colour set: one folder per icon category, each icon copied as SIZE-NAME.png. */
export function writeIconSet(dir: string, classes = ICON_CLASSES): void {
  for (const c of classes) {
    mkdirSync(path.join(dir, c), { recursive: true });
    for (const f of iconFiles(c))
      writeFileSync(path.join(dir, c, `${path.basename(path.dirname(path.dirname(f)))}-${path.basename(f)}`), readFileSync(f));
  }
}
