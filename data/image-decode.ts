// Decoding one image file into the trainer's pixels with sharp (libvips): PNG, JPEG and WebP, 8 or
// 16 bits, grey, RGB, RGBA, CMYK or palette; EXIF orientation applied; alpha composited on
// BACKGROUND; resized with a Lanczos filter (libvips shrinks by box-averaging first, so large
// reductions are area-correct) to cover (centre crop) or contain (letterbox) the target size.
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
}

/** A file that is not a usable image; the message names the problem (the caller adds the file). */
export class ImageDecodeError extends Error {}

/** "rgba", "grey 16-bit", "palette", "cmyk"...: the file's pixel format, as a person would name it. */
function kindOf(m: Metadata): string {
  if (m.isPalette) return 'palette';
  const base = m.space === 'cmyk' ? 'cmyk' : m.space === 'b-w' || m.space === 'grey16' ? (m.hasAlpha ? 'grey+alpha' : 'grey') : m.hasAlpha ? 'rgba' : 'rgb';
  const bits = m.depth === 'ushort' || m.bitsPerSample === 16 ? ' 16-bit' : '';
  return base + bits;
}

const isGrey = (m: Metadata): boolean => !m.isPalette && (m.space === 'b-w' || m.space === 'grey16');

export async function decodeImage(file: string, t: DecodeTarget): Promise<DecodedImage> {
  let meta: Metadata;
  try {
    // First frame of animations; limitInputPixels (sharp's default, 268 Mpx) refuses decompression bombs.
    meta = await sharp(file, { animated: false }).metadata();
  } catch (e) {
    throw new ImageDecodeError(`not a readable image (${oneLine(e)})`);
  }
  const { width = 0, height = 0 } = meta.autoOrient ?? meta;
  if (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE) throw new ImageDecodeError(`${width}x${height} px: smaller than ${MIN_IMAGE_SIDE} px`);
  const channels = t.channels === 'native' ? (isGrey(meta) ? 1 : 3) : t.channels;
  let data: Buffer;
  let info: OutputInfo;
  try {
    let img = sharp(file, { animated: false })
      .autoOrient()
      .flatten({ background: BACKGROUND })
      .resize(t.width, t.height, { fit: t.fit, position: 'centre', kernel: 'lanczos3', background: BACKGROUND });
    // Colour-space conversions scale 16-bit samples to 8 bits (a plain cast would clip them).
    img = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
    ({ data, info } = await img.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new ImageDecodeError(`cannot decode it (${oneLine(e)})`);
  }
  if (info.width !== t.width || info.height !== t.height || info.channels !== channels || data.length !== t.width * t.height * channels) {
    throw new ImageDecodeError(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${t.width}x${t.height}x${channels}`);
  }
  return { pixels: planar(data, channels), channels, sourceSize: `${width}x${height}`, kind: kindOf(meta) };
}

/** Interleaved H x W x C bytes -> planar C x H x W (the generators' [C, H, W] layout). */
function planar(hwc: Buffer, c: number): Uint8Array {
  if (c === 1) return new Uint8Array(hwc.buffer, hwc.byteOffset, hwc.length).slice();
  const n = hwc.length / c;
  const out = new Uint8Array(hwc.length);
  for (let p = 0; p < n; p++) for (let k = 0; k < c; k++) out[k * n + p] = hwc[p * c + k]!;
  return out;
}

const oneLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, '; ').trim();
