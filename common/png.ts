// PNG encoding of generated images (Node only: uses pngjs).
import { PNG } from 'pngjs';
import { gridColumns } from './grid-layout.js';
import { DIGIT_SHAPE, imageValues, type ImageShape } from './metadata.js';

import { toByte } from './pixels.js';

export { toByte };

/**
 * Tile `count` images of `shape` [C, H, W] (row-major [count, C*H*W], each planar, values in
 * [-1, 1]) into a grid PNG with `cols` columns, columns (default: common/grid-layout.ts, shared with the browser), a `pad`-pixel border and integer upscaling `scale`:
 * a greyscale PNG for C = 1, RGB for C = 3.
 */
export function gridPng(images: Float32Array, count: number, cols = gridColumns(count), pad = 2, scale = 1, shape: ImageShape = DIGIT_SHAPE): Buffer {
  const [channels, h, w] = shape;
  const colorType = channels === 3 ? 2 : 0;
  const rows = Math.ceil(count / cols);
  const width = cols * w * scale + (cols + 1) * pad;
  const height = rows * h * scale + (rows + 1) * pad;
  const png = new PNG({ width, height, colorType, inputColorType: colorType, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.alloc(width * height * channels, 40); // dark grey separators
  const plane = h * w;
  const values = imageValues(shape);
  for (let i = 0; i < count; i++) {
    const ox = pad + (i % cols) * (w * scale + pad);
    const oy = pad + Math.floor(i / cols) * (h * scale + pad);
    for (let c = 0; c < channels; c++) {
      for (let p = 0; p < plane; p++) {
        const v = toByte(images[i * values + c * plane + p]!);
        const x0 = ox + (p % w) * scale;
        const y0 = oy + Math.floor(p / w) * scale;
        for (let dy = 0; dy < scale; dy++) {
          const row = (y0 + dy) * width;
          for (let dx = 0; dx < scale; dx++) png.data[(row + x0 + dx) * channels + c] = v;
        }
      }
    }
  }
  // One fixed filter (Paeth): pngjs's default tries all five per row, 3x slower for ~the same size.
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false, filterType: 4 });
}

/** One image of `shape` (default the digits' 1x28x28) as a PNG. */
export function imagePng(image: Float32Array, shape: ImageShape = DIGIT_SHAPE): Buffer {
  return gridPng(image, 1, 1, 0, 1, shape);
}
