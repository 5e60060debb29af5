// The PNG writer (common/png.ts) read back by two independent decoders, pngjs and sharp (libvips),
// both of which check every chunk's CRC: each image's pixels land in its cell, quantised by toByte,
// with the separators grey, for grey and RGB, single images and upscaled grids of odd sizes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { ImageShape } from '../common/metadata.js';
import { gridPng, imagePng, toByte } from '../common/png.js';
import { ROOT } from './helpers/cli.js';

/** Values in [-1, 1] and beyond (clamped), every one different enough to catch a misplaced sample. */
function images(count: number, [c, h, w]: ImageShape): Float32Array {
  const out = new Float32Array(count * c * h * w);
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(i * 12.9898) * 1.1;
  return out;
}

/** What the grid must show at (x, y), channel ch: the layout of common/png.ts written out. */
function expected(values: Float32Array, count: number, cols: number, pad: number, scale: number, [c, h, w]: ImageShape) {
  return (x: number, y: number, ch: number): number => {
    const cellW = w * scale + pad;
    const cellH = h * scale + pad;
    const col = Math.floor((x - pad) / cellW);
    const row = Math.floor((y - pad) / cellH);
    const cx = x - pad - col * cellW;
    const cy = y - pad - row * cellH;
    const i = row * cols + col;
    if (x < pad || y < pad || cx >= w * scale || cy >= h * scale || col >= cols || i >= count) return 40;
    return toByte(values[i * c * h * w + ch * h * w + Math.floor(cy / scale) * w + Math.floor(cx / scale)]!);
  };
}

async function decodeBoth(png: Buffer, channels: number) {
  const a = PNG.sync.read(png); // always RGBA
  expect((await sharp(png).metadata()).channels).toBe(channels); // grey stays grey, RGB stays RGB (no alpha)
  const b = await sharp(png).raw().toBuffer({ resolveWithObject: true }); // grey may come out as 3 equal channels
  const stride = b.info.channels;
  expect([b.info.width, b.info.height]).toEqual([a.width, a.height]);
  return {
    width: a.width,
    height: a.height,
    pngjs: (x: number, y: number, ch: number) => a.data[(y * a.width + x) * 4 + (channels === 1 ? 0 : ch)]!,
    sharp: (x: number, y: number, ch: number) => b.data[(y * a.width + x) * stride + ch]!,
  };
}

describe('common/png.ts', () => {
  const cases: [string, ImageShape, number, number, number, number][] = [
    // name, shape, count, cols, pad, scale
    ['one grey digit', [1, 28, 28], 1, 1, 0, 1],
    ['one RGB image of odd size', [3, 7, 5], 1, 1, 0, 1],
    ['a grey grid with an empty cell', [1, 28, 28], 5, 3, 2, 1],
    ['an upscaled RGB grid of odd cells', [3, 5, 9], 7, 4, 2, 3],
    ['an upscaled grey grid (model card layout)', [1, 28, 28], 4, 2, 2, 2],
  ];
  for (const [name, shape, count, cols, pad, scale] of cases) {
    it(`decodes to the same pixels with pngjs and sharp: ${name}`, async () => {
      const values = images(count, shape);
      const png = count === 1 && pad === 0 ? imagePng(values, shape) : gridPng(values, count, cols, pad, scale, shape);
      const want = expected(values, count, cols, pad, scale, shape);
      const [c, h, w] = shape;
      const rows = Math.ceil(count / cols);
      const d = await decodeBoth(png, c);
      expect([d.width, d.height]).toEqual([cols * w * scale + (cols + 1) * pad, rows * h * scale + (rows + 1) * pad]);
      let wrong = 0;
      for (let y = 0; y < d.height; y++) {
        for (let x = 0; x < d.width; x++) {
          for (let ch = 0; ch < c; ch++) if (d.pngjs(x, y, ch) !== want(x, y, ch) || d.sharp(x, y, ch) !== want(x, y, ch)) wrong++;
        }
      }
      expect(wrong).toBe(0);
    });
  }

  it('compresses: a served digit and a model card are far smaller than their pixels', async () => {
    // A smooth real image, not noise: the gan model card's cells, at 1x and as the card itself (2x).
    const card = PNG.sync.read(readFileSync(path.join(ROOT, 'models', 'gan.png')));
    const cell = new Float32Array(28 * 28);
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) cell[y * 28 + x] = card.data[((2 + 2 * y) * card.width + 2 + 2 * x) * 4]! / 127.5 - 1;
    expect(imagePng(cell).length).toBeLessThan(0.75 * 28 * 28);
    const cells = new Float32Array(100 * 784);
    for (let i = 0; i < 100; i++) {
      const ox = 2 + (i % 10) * 58;
      const oy = 2 + Math.floor(i / 10) * 58;
      for (let p = 0; p < 784; p++)
        cells[i * 784 + p] = card.data[((oy + 2 * Math.floor(p / 28)) * card.width + ox + 2 * (p % 28)) * 4]! / 127.5 - 1;
    }
    const again = gridPng(cells, 100, 10, 2, 2);
    expect(again.length).toBeLessThan(0.25 * card.width * card.height);
    expect(PNG.sync.read(again).data.equals(card.data)).toBe(true); // the card's own pixels, written again
  });
});
