// How an image folder is read: the data options of `train` and `data` (--image-size, --channels,
// --fit, --holdout, --strict), the record that reads the same folder again (checkpoint, ONNX
// metadata) and where decoded images are cached. Light on purpose (no sharp): the CLI builds --help
// from it.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { homedir } from 'node:os';
import path from 'node:path';
import { fraction } from '../common/cli-args.js';

/** File name endings read as images (case-insensitive); other files are ignored. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'] as const;
export const isImageFileName = (name: string): boolean => IMAGE_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e));

export const FITS = ['cover', 'contain'] as const;
export type ImageFit = (typeof FITS)[number];
/** 1 (grey) or 3 (RGB); `auto`: 1 when every file is grey, else 3. */
export type ChannelRequest = 1 | 3 | 'auto';

export const DEFAULT_IMAGE_SIZE = 28;
export const DEFAULT_HOLDOUT = 0.1;
/** Images and sides below this are refused: the judge's two 2x2 poolings need 4 pixels. */
export const MIN_IMAGE_SIDE = 4;
export const MAX_IMAGE_SIDE = 4096;
/**
 * Transparent pixels are composited on white, and `--fit contain` letterboxes with white: icons,
 * logos and product shots with alpha are drawn for a light page.
 */
export const BACKGROUND = { r: 255, g: 255, b: 255 } as const;

/** [C, H, W] a run on an image folder read with these options will have at least (channels auto: 1). */
export const plannedImageShape = (o: ImageDataOptions = {}): [number, number, number] => {
  const [w, h] = o.size ?? [DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE];
  return [o.channels ?? 1, h, w];
};

/** The data options as given on a command line; undefined when not given. */
export interface ImageDataOptions {
  /** [width, height]. */
  size?: [number, number];
  channels?: 1 | 3;
  fit?: ImageFit;
  holdout?: number;
  strict?: boolean;
}

/**
 * How to read a folder again to get the same data set: stored in the checkpoint (`dataset.source`)
 * and the ONNX metadata (`onnxgan.data_source`), so resume and eval find and rebuild it.
 */
export interface DataSource {
  /** Absolute path of the folder when the run started. */
  path: string;
  /** [width, height]. */
  size: [number, number];
  channels: ChannelRequest;
  fit: ImageFit;
  holdout: number;
}

/** What loading a folder found, for the summary (`onnxgan data`), the training log and the metadata. */
export interface ImageFolderInfo {
  source: DataSource;
  /** `classes`: one subfolder per class (torchvision's ImageFolder); `flat`: images without classes. */
  layout: 'classes' | 'flat';
  /** Content hash of the decoded images, their labels, class names and shape. */
  fingerprint: string;
  /** Images per class, before the held-out split. */
  perClass: number[];
  /** Source sizes found, "WxH" -> files. */
  sizes: Record<string, number>;
  /** Source pixel formats found ("rgba", "grey 16-bit", "palette", ...) -> files. */
  kinds: Record<string, number>;
  /** Files and folders that could not be used, each with its reason. */
  skipped: { file: string; reason: string }[];
  /** Files that are not PNG, JPEG or WebP (by name): never opened. */
  ignored: { count: number; examples: string[] };
  /** The decoded-image cache file, and whether this load came from it. */
  cache: { file: string | null; hit: boolean };
  /** Wall time of the load. */
  seconds: number;
}

/** `28` or `32x24` (width x height). */
export function parseImageSize(v: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*$/.exec(v);
  const [w, h] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [NaN, NaN];
  if (!(w >= MIN_IMAGE_SIDE && h >= MIN_IMAGE_SIDE && w <= MAX_IMAGE_SIDE && h <= MAX_IMAGE_SIDE)) {
    throw new InvalidArgumentError(
      `expected N or WxH with sides from ${MIN_IMAGE_SIDE} to ${MAX_IMAGE_SIDE} (images smaller than ` +
        `${MIN_IMAGE_SIDE} px are too small for the judge)`,
    );
  }
  return [w, h];
}

const parseChannels = (v: string): 1 | 3 => {
  if (v !== '1' && v !== '3') throw new InvalidArgumentError('expected 1 (grey) or 3 (RGB)');
  return Number(v) as 1 | 3;
};

/** The flags, for --help and for naming them in errors. */
export const DATA_OPTION_FLAGS = ['--image-size', '--channels', '--fit', '--holdout', '--strict'] as const;

/** Adds the data options of an image folder to a command (train, data); no defaults, so "not given" stays visible. */
export function addImageDataOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--image-size <N|WxH>',
        `image folders: size the images are resized to (default ${DEFAULT_IMAGE_SIZE}; the networks grow ` +
          `with it, and train refuses at the start a size they cannot fit)`,
      ).argParser(parseImageSize),
    )
    .addOption(
      new Option('--channels <1|3>', 'image folders: 1 grey, 3 RGB (default: 1 when every image is grey, else 3)').argParser(parseChannels),
    )
    .addOption(new Option('--fit <how>', 'image folders: cover (centre crop, default) or contain (letterbox on white)').choices(FITS))
    .addOption(
      new Option(
        '--holdout <fraction>',
        `image folders: fraction of each class held out of training for eval (default ${DEFAULT_HOLDOUT})`,
      ).argParser(fraction),
    )
    .option('--strict', 'image folders: a file that cannot be decoded is an error instead of being skipped');
}

/** The data options from commander's parsed options. */
export function imageOptionsFrom(o: Record<string, unknown>): ImageDataOptions {
  const out: ImageDataOptions = {};
  if (o.imageSize !== undefined) out.size = o.imageSize as [number, number];
  if (o.channels !== undefined) out.channels = o.channels as 1 | 3;
  if (o.fit !== undefined) out.fit = o.fit as ImageFit;
  if (o.holdout !== undefined) out.holdout = o.holdout as number;
  if (o.strict !== undefined) out.strict = o.strict as boolean;
  return out;
}

/** The flags of the options that were given (to refuse them for sources other than image folders). */
export const givenFlags = (o: ImageDataOptions): string[] =>
  (['size', 'channels', 'fit', 'holdout', 'strict'] as const).flatMap((k, i) => (o[k] === undefined ? [] : [DATA_OPTION_FLAGS[i]!]));

/** `name@fingerprint`: an image folder's data set name in checkpoints and metadata. */
export const datasetId = (name: string, fingerprint: string): string => `${name}@${fingerprint}`;

/** The ONNX metadata key of the DataSource (written for models trained on an image folder). */
export const DATA_SOURCE_KEY = 'onnxgan.data_source';

export const dataSourceProps = (s: DataSource): Record<string, string> => ({ [DATA_SOURCE_KEY]: JSON.stringify(s) });

/** The DataSource in a model's metadata_props; null when it has none; throws naming the key when it is malformed. */
export function dataSourceFromProps(props: Record<string, string>): DataSource | null {
  const raw = props[DATA_SOURCE_KEY];
  if (raw === undefined) return null;
  let v: Partial<DataSource>;
  try {
    v = JSON.parse(raw) as Partial<DataSource>;
  } catch {
    throw new Error(`bad ${DATA_SOURCE_KEY}: not JSON`);
  }
  const side = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= MIN_IMAGE_SIDE && (n as number) <= MAX_IMAGE_SIDE;
  const ok =
    v !== null &&
    typeof v === 'object' &&
    typeof v.path === 'string' &&
    Array.isArray(v.size) &&
    v.size.length === 2 &&
    v.size.every(side) &&
    (v.channels === 1 || v.channels === 3 || v.channels === 'auto') &&
    FITS.includes(v.fit as ImageFit) &&
    typeof v.holdout === 'number' &&
    v.holdout > 0 &&
    v.holdout < 1;
  if (!ok) throw new Error(`bad ${DATA_SOURCE_KEY}: expected {"path", "size": [w, h], "channels": 1|3|"auto", "fit", "holdout"}`);
  return v as DataSource;
}

/**
 * onnxgan's cache folder: $ONNXGAN_CACHE_DIR, else $XDG_CACHE_HOME/onnxgan, else ~/.cache/onnxgan.
 * Decoded images go to images/, judges trained for image folders to judges/.
 */
export function cacheDir(sub: 'images' | 'judges'): string {
  const base = process.env.ONNXGAN_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'onnxgan');
  return path.join(base, sub);
}
