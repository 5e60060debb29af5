// PNG encoding of generated images (Node only). A small writer on node:zlib (deflate, crc32): PNG's
// framing is four chunks, and the server writes one PNG per request, where pngjs's general-purpose
// encoder (stream objects, a colour-type converter, level-9 deflate) cost ~30x the deflate itself
// and was the largest item of a single-image request's profile (bench/RESULTS.md, issue 16).
import { constants, crc32, deflateSync } from 'node:zlib';
import { gridColumns } from './grid-layout.js';
import { DIGIT_SHAPE, imageValues, type ImageShape } from './metadata.js';

import { toByte } from './pixels.js';

export { toByte };

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Frames the chunk whose `length` bytes of data are at o + 8: its length, type and CRC; returns the offset after it. */
function frameChunk(out: Buffer, o: number, type: string, length: number): number {
  out.writeUInt32BE(length, o);
  out.write(type, o + 4, 'latin1');
  out.writeUInt32BE(crc32(out.subarray(o + 4, o + 8 + length)), o + 8 + length);
  return o + 12 + length;
}

/** PNG filter type 4 (Paeth) of every scanline of `raw` (rows of 1 filter byte + `stride` samples). */
function paethFilter(raw: Buffer, stride: number, height: number, bpp: number): Buffer {
  const out = Buffer.allocUnsafe(raw.length);
  const line = stride + 1;
  for (let y = 0, r = 0; y < height; y++, r += line) {
    out[r] = 4;
    for (let x = 1; x <= stride; x++) {
      const a = x > bpp ? raw[r + x - bpp]! : 0;
      const b = y > 0 ? raw[r - line + x]! : 0;
      const c = x > bpp && y > 0 ? raw[r - line + x - bpp]! : 0;
      const pa = Math.abs(b - c);
      const pb = Math.abs(a - c);
      const pc = Math.abs(a + b - 2 * c);
      out[r + x] = (raw[r + x]! - (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
    }
  }
  return out;
}

/**
 * An 8-bit PNG, grey for `channels` 1 and RGB for 3, of `raw`: `height` scanlines of one filter-type
 * byte (0, none) and `width * channels` interleaved samples. `paeth` filters the rows first: best for
 * grids (upscaled cells and separators: 39 KB for the gan model card, 109 KB unfiltered), while a
 * single generated image compresses best unfiltered (~300 vs ~390 bytes for a gan digit). Deflate's
 * run-length strategy (pngjs's choice too) gives the same sizes as its default or smaller, at ~2/3
 * of its CPU time on a 28x28 image.
 */
export function encodePng(raw: Buffer, width: number, height: number, channels: number, paeth: boolean): Buffer {
  // chunkSize: zlib's output buffer, 16 KiB by default, allocated per call: a small image needs less.
  const idat = deflateSync(paeth ? paethFilter(raw, width * channels, height, channels) : raw, {
    strategy: constants.Z_RLE,
    chunkSize: Math.min(16384, raw.length + 1024),
  });
  const out = Buffer.allocUnsafe(SIGNATURE.length + 3 * 12 + 13 + idat.length);
  SIGNATURE.copy(out, 0);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out[24] = 8; // bit depth
  out[25] = channels === 3 ? 2 : 0; // colour type: RGB or grey
  out.fill(0, 26, 29); // compression, filter method, no interlace
  let o = frameChunk(out, SIGNATURE.length, 'IHDR', 13);
  idat.copy(out, o + 8);
  o = frameChunk(out, o, 'IDAT', idat.length);
  frameChunk(out, o, 'IEND', 0);
  return out;
}

/**
 * Tile `count` images of `shape` [C, H, W] (row-major [count, C*H*W], each planar, values in
 * [-1, 1]) into a grid PNG with `cols` columns (default: common/grid-layout.ts, shared with the
 * browser), a `pad`-pixel border and integer upscaling `scale`: a greyscale PNG for C = 1, RGB for C = 3.
 */
export function gridPng(
  images: Float32Array,
  count: number,
  cols = gridColumns(count),
  pad = 2,
  scale = 1,
  shape: ImageShape = DIGIT_SHAPE,
): Buffer {
  const [channels, h, w] = shape;
  const rows = Math.ceil(count / cols);
  const width = cols * w * scale + (cols + 1) * pad;
  const height = rows * h * scale + (rows + 1) * pad;
  const line = width * channels + 1; // a filter-type byte, then the row's samples
  const raw = Buffer.allocUnsafe(line * height).fill(40); // dark grey separators (allocUnsafe: pooled when small)
  for (let r = 0; r < raw.length; r += line) raw[r] = 0;
  const values = imageValues(shape);
  for (let i = 0; i < count; i++) {
    const ox = pad + (i % cols) * (w * scale + pad);
    const oy = pad + Math.floor(i / cols) * (h * scale + pad);
    for (let c = 0, p = i * values; c < channels; c++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++, p++) {
          const v = toByte(images[p]!);
          if (scale === 1) {
            raw[(oy + y) * line + 1 + (ox + x) * channels + c] = v;
            continue;
          }
          for (let dy = 0; dy < scale; dy++) {
            const at = (oy + y * scale + dy) * line + 1 + (ox + x * scale) * channels + c;
            for (let dx = 0; dx < scale; dx++) raw[at + dx * channels] = v;
          }
        }
      }
    }
  }
  return encodePng(raw, width, height, channels, count > 1 || scale > 1);
}

/** One image of `shape` (default the digits' 1x28x28) as a PNG. */
export function imagePng(image: Float32Array, shape: ImageShape = DIGIT_SHAPE): Buffer {
  return gridPng(image, 1, 1, 0, 1, shape);
}
