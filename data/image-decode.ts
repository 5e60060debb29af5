// Decoding one image file into the trainer's pixels with sharp (libvips): PNG, JPEG and WebP, 8 or
// 16 bits, grey, RGB, RGBA, CMYK or palette; EXIF orientation applied; alpha composited on
// BACKGROUND; resized with a Lanczos filter (libvips shrinks by box-averaging first, so large
// reductions are area-correct) to cover (centre crop) or contain (letterbox) the target size.
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { BACKGROUND, MIN_IMAGE_SIDE, type ImageFit } from './image-options.js';

// Many small images: one libvips thread per image and images in parallel (decodeAll) use the cores
// better than several threads on one 28x28 image; the operation cache only holds memory here.
sharp.concurrency(1);
sharp.cache(false);

export interface DecodeTarget {
  width: number;
  height: number;
  /** Channels to produce; `native`: 1 for grey files, 3 for the others. */
  channels: 1 | 3 | 'native';
  fit: ImageFit;
}

export interface DecodedImage {
  /** Planar C x H x W bytes. */
  pixels: Uint8Array;
  channels: 1 | 3;
  /** The file's own size and pixel format, for the summary. */
  sourceSize: string;
  kind: string;
  /** `png`: a plain 8-bit PNG already at the target size, read without a sharp pipeline (see plainPng). */
  via: 'sharp' | 'png';
}

/** A file that is not a usable image; the message names the problem (the caller adds the file). */
export class ImageDecodeError extends Error {}

/** Files up to this size are read once into memory (sharp reads larger ones from disk itself). */
const READ_WHOLE = 4 << 20;
/**
 * Largest source image decoded (sharp's default limit, 16383 x 16383 = 268 Mpx): a file's header is
 * read before its pixels, so a small file declaring 60000 x 60000 (a decompression bomb) is refused
 * without decoding a row.
 */
export const MAX_SOURCE_PIXELS = 0x3fff * 0x3fff;

/** "rgba", "grey 16-bit", "palette", "cmyk"...: the file's pixel format, as a person would name it. */
function kindOf(m: Metadata): string {
  if (m.isPalette) return 'palette';
  const base = m.space === 'cmyk' ? 'cmyk' : isGreySpace(m) ? (m.hasAlpha ? 'grey+alpha' : 'grey') : m.hasAlpha ? 'rgba' : 'rgb';
  const bits = m.depth === 'ushort' || m.bitsPerSample === 16 ? ' 16-bit' : '';
  return base + bits;
}

const isGreySpace = (m: Metadata): boolean => m.space === 'b-w' || m.space === 'grey16';
const isGrey = (m: Metadata): boolean => !m.isPalette && isGreySpace(m);

/**
 * A PNG whose pixels are already the result, decoded by pngjs, or null. A sharp pipeline costs about
 * 1 ms of CPU per file whatever its size (its set-up, plus a metadata call), which dominates for
 * small images; an 8-bit grey or RGB PNG at the target size, with nothing before its pixels that
 * changes them (transparency, colour profile, gamma, rotation), needs no processing: pngjs decodes
 * it several times cheaper, to the same bytes (tests/image-folders.test.ts).
 */
function plainPng(buf: Buffer, t: DecodeTarget): DecodedImage | null {
  const h = pngHeader(buf);
  if (!h || h.width !== t.width || h.height !== t.height) return null;
  const grey = h.colorType === 0;
  const channels = t.channels === 'native' ? (grey ? 1 : 3) : t.channels;
  if (!grey && channels === 1) return null; // colour to grey: sharp's conversion
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch {
    return null; // sharp names the problem
  }
  return { pixels: planar(png.data, 4, channels), channels, sourceSize: `${h.width}x${h.height}`, kind: grey ? 'grey' : 'rgb', via: 'png' };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Chunks before the pixels that do not change them. */
const NEUTRAL_CHUNKS = new Set(['IHDR', 'pHYs', 'tEXt', 'zTXt', 'iTXt', 'tIME']);

/** Size and colour type of an 8-bit grey (0) or RGB (2) PNG whose chunks before IDAT are all neutral; else null. */
function pngHeader(b: Buffer): { width: number; height: number; colorType: number } | null {
  if (b.length < 33 || !b.subarray(0, 8).equals(PNG_SIGNATURE) || b.toString('latin1', 12, 16) !== 'IHDR') return null;
  const [width, height, depth, colorType] = [b.readUInt32BE(16), b.readUInt32BE(20), b[24], b[25]];
  if (depth !== 8 || (colorType !== 0 && colorType !== 2)) return null;
  for (let pos = 8; pos + 8 <= b.length;) {
    const type = b.toString('latin1', pos + 4, pos + 8);
    if (type === 'IDAT') return { width, height, colorType };
    if (!NEUTRAL_CHUNKS.has(type)) return null;
    pos += 12 + b.readUInt32BE(pos);
  }
  return null;
}

/** Decodes `file` (a path, or its bytes when its name is not UTF-8: sharp then gets the file's content). */
export async function decodeImage(file: string | Buffer, t: DecodeTarget, size = 0): Promise<DecodedImage> {
  let input: string | Buffer = file;
  if (size <= READ_WHOLE || typeof file !== 'string') {
    try {
      input = readFileSync(file); // small files: one read (the async one costs several thread-pool hops)
    } catch (e) {
      throw new ImageDecodeError(`not a readable image (${plainMessage(e)})`);
    }
    const plain = plainPng(input, t);
    if (plain) return plain;
  }
  let meta: Metadata;
  try {
    // First frame of animations.
    meta = await sharp(input, { animated: false, limitInputPixels: false }).metadata(); // the header only: the size is checked below
  } catch (e) {
    throw new ImageDecodeError(`not a readable image (${plainMessage(e)})`);
  }
  const { width = 0, height = 0 } = meta.autoOrient ?? meta;
  if (width * height > MAX_SOURCE_PIXELS) {
    throw new ImageDecodeError(
      `declares ${width}x${height} px (${((width * height) / 1e6).toFixed(0)} Mpx), more than the ` +
        `${(MAX_SOURCE_PIXELS / 1e6).toFixed(0)} Mpx decoded: not decoded (a decompression bomb?)`,
    );
  }
  if (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE)
    throw new ImageDecodeError(`${width}x${height} px: smaller than ${MIN_IMAGE_SIDE} px`);
  const channels = t.channels === 'native' ? (isGrey(meta) ? 1 : 3) : t.channels;
  let data: Buffer;
  let info: OutputInfo;
  try {
    let img = sharp(input, { animated: false, limitInputPixels: MAX_SOURCE_PIXELS })
      .autoOrient()
      .flatten({ background: BACKGROUND })
      .resize(t.width, t.height, { fit: t.fit, position: 'centre', kernel: 'lanczos3', background: BACKGROUND });
    // Colour-space conversions scale 16-bit samples to 8 bits (a plain cast would clip them).
    img = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
    ({ data, info } = await img.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new ImageDecodeError(`cannot decode it (${plainMessage(e)})`);
  }
  if (info.width !== t.width || info.height !== t.height || info.channels !== channels || data.length !== t.width * t.height * channels) {
    throw new ImageDecodeError(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${t.width}x${t.height}x${channels}`);
  }
  return { pixels: planar(data, channels, channels), channels, sourceSize: `${width}x${height}`, kind: kindOf(meta), via: 'sharp' };
}

/** Interleaved H x W x `stride` bytes -> planar C x H x W (the generators' [C, H, W] layout), the first `c` channels. */
function planar(hwc: Uint8Array, stride: number, c: number): Uint8Array {
  const n = hwc.length / stride;
  const out = new Uint8Array(n * c);
  for (let k = 0; k < c; k++) {
    const o = k * n;
    for (let p = 0; p < n; p++) out[o + p] = hwc[p * stride + k]!;
  }
  return out;
}

/** sharp's wordings that mean nothing to a user, in plain words. */
const PLAIN_WORDS: [RegExp, string][] = [
  [/Warning treated as error due to failOn setting/g, 'truncated or corrupt image data'],
  [/^Input buffer has corrupt header:\s*$/, 'corrupt header'],
];

/** A library's message on one line, repeated parts once, in plain words. */
export const plainMessage = (e: unknown): string => {
  const parts = (e instanceof Error ? e.message : String(e))
    .split(/\s*\n\s*/)
    .map((p) => p.trim())
    .filter(Boolean);
  const line = [...new Set(parts)].join('; ');
  return PLAIN_WORDS.reduce((l, [pattern, words]) => l.replace(pattern, words), line);
};
