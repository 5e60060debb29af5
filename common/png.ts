// PNG encoding of generated images (Node only: uses pngjs).
import { PNG } from 'pngjs';
import { gridColumns } from './grid-layout.js';
import { IMAGE_PIXELS, IMAGE_SIZE } from './metadata.js';

import { toByte } from './pixels.js';

export { toByte };

/**
 * Tile `count` 28x28 images (row-major [count, 784], values in [-1, 1]) into a grid PNG with `cols`
 * columns (default: common/grid-layout.ts, shared with the browser), a `pad`-pixel border and
 * integer upscaling `scale`.
 */
export function gridPng(images: Float32Array, count: number, cols = gridColumns(count), pad = 2, scale = 1): Buffer {
  const rows = Math.ceil(count / cols);
  const cell = IMAGE_SIZE * scale;
  const width = cols * cell + (cols + 1) * pad;
  const height = rows * cell + (rows + 1) * pad;
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.alloc(width * height, 40); // dark grey separators
  for (let i = 0; i < count; i++) {
    const ox = pad + (i % cols) * (cell + pad);
    const oy = pad + Math.floor(i / cols) * (cell + pad);
    for (let p = 0; p < IMAGE_PIXELS; p++) {
      const v = toByte(images[i * IMAGE_PIXELS + p]!);
      const x0 = ox + (p % IMAGE_SIZE) * scale;
      const y0 = oy + Math.floor(p / IMAGE_SIZE) * scale;
      for (let dy = 0; dy < scale; dy++) png.data.fill(v, (y0 + dy) * width + x0, (y0 + dy) * width + x0 + scale);
    }
  }
  // One fixed filter (Paeth): pngjs's default tries all five per row, 3x slower for ~the same size.
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, filterType: 4 });
}

/** One 28x28 greyscale PNG. */
export function imagePng(image: Float32Array): Buffer {
  return gridPng(image, 1, 1, 0, 1);
}
