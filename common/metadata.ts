// The contract every exported generator follows; read by export, serve, eval and the web demo.

export const MODEL_KINDS = ['gan', 'wgan-gp', 'cgan'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** The embedded digits' side and pixel count (IDX data and the seed's generators). */
export const IMAGE_SIZE = 28;
export const IMAGE_PIXELS = IMAGE_SIZE * IMAGE_SIZE;
/** [channels, height, width] of one generated image. */
export type ImageShape = [number, number, number];
/** Files without onnxgan.image_shape are the digits' [1, 28, 28]. */
export const DIGIT_SHAPE: ImageShape = [1, IMAGE_SIZE, IMAGE_SIZE];
/** Values in one image of this shape. */
export const imageValues = ([c, h, w]: ImageShape): number => c * h * w;
export const NOISE_DIM = 100;
export const VALUE_RANGE: [number, number] = [-1, 1];

/** ONNX graph input/output names. */
export const IO = { noise: 'noise', label: 'label', image: 'image' } as const;

export const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface ModelMetadata {
  // Runnable: what the graph takes and gives. Read strictly: a model whose runnable metadata is
  // malformed cannot be run correctly and is refused.
  kind: ModelKind;
  noiseDim: number;
  classes: string[] | null; // conditional models only
  valueRange: [number, number];
  /** The `image` output is [N, ...imageShape]. */
  imageShape: ImageShape;
  // Informational (INFORMATIONAL_FIELDS): how the model was made. A malformed one is dropped
  // (listed in `dropped`), and the model still runs.
  noise?: string; // e.g. "uniform(-1,1)"
  dataset?: string;
  epochs?: number;
  steps?: number;
  ema?: number;
  /** Informational fields present in the file but malformed, left out with why (absent when none). */
  dropped?: DroppedField[];
}

export interface DroppedField {
  key: string;
  reason: string;
}

/** Short printable text (no control characters: it ends up in logs, headers and pages). */
const text =
  (max: number) =>
  (v: string): string | undefined =>
    v.length > max ? `longer than ${max} characters` : /[\u0000-\u001f\u007f-\u009f]/.test(v) ? 'holds control characters' : undefined;
const wholeNumber = (v: string): string | undefined => (/^\d{1,15}$/.test(v) ? undefined : 'expected a whole number');
const decay = (v: string): string | undefined =>
  v.trim() !== '' && Number(v) >= 0 && Number(v) < 1 ? undefined : 'expected a decay in [0, 1)';

/**
 * The one list of informational metadata: fields that say how a model was made and change nothing
 * about how it runs. Each with its check (a reason when malformed) and its reading.
 */
export const INFORMATIONAL_FIELDS = {
  noise: { check: text(200), read: (v: string) => v },
  dataset: { check: text(1000), read: (v: string) => v },
  epochs: { check: wholeNumber, read: Number },
  steps: { check: wholeNumber, read: Number },
  ema: { check: decay, read: Number },
} as const satisfies Record<string, { check: (v: string) => string | undefined; read: (v: string) => unknown }>;

/**
 * The one test of "does this generator take a `label` input?": it does exactly when its metadata
 * names classes (the exporter writes them only for networks with a label embedding).
 */
export const isConditional = (m: ModelMetadata): m is ModelMetadata & { classes: string[] } => m.classes !== null;

/** ONNX metadata_props keys. */
const KEY = (k: string): string => `onnxgan.${k}`;

export function metadataToProps(m: ModelMetadata): Record<string, string> {
  const props: Record<string, string> = {
    [KEY('kind')]: m.kind,
    [KEY('noise_dim')]: String(m.noiseDim),
    [KEY('value_range')]: JSON.stringify(m.valueRange),
    [KEY('image_shape')]: JSON.stringify(m.imageShape),
  };
  if (m.classes) props[KEY('classes')] = JSON.stringify(m.classes);
  for (const k of Object.keys(INFORMATIONAL_FIELDS) as (keyof typeof INFORMATIONAL_FIELDS)[])
    if (m[k] !== undefined) props[KEY(k)] = String(m[k]);
  return props;
}

/**
 * Parse metadata_props; throws with the offending key when the runnable metadata is missing or
 * malformed (not an onnxgan model, or one that cannot run as described). Malformed informational
 * fields are dropped and listed in `dropped`.
 */
export function metadataFromProps(props: Record<string, string>): ModelMetadata {
  const get = (k: string): string => {
    const v = props[KEY(k)];
    if (v === undefined) throw new Error(`missing metadata ${KEY(k)}: not an onnxgan generator`);
    return v;
  };
  const kind = get('kind') as ModelKind;
  if (!MODEL_KINDS.includes(kind)) throw new Error(`unknown ${KEY('kind')} "${kind}"`);
  const noiseDim = Number(get('noise_dim'));
  if (!Number.isInteger(noiseDim) || noiseDim <= 0) throw new Error(`bad ${KEY('noise_dim')}`);
  const json = (k: string): unknown => {
    try {
      return JSON.parse(props[KEY(k)]!);
    } catch {
      throw new Error(`bad ${KEY(k)}: not JSON`);
    }
  };
  const classes = props[KEY('classes')] !== undefined ? json('classes') : null;
  if (classes !== null && !(Array.isArray(classes) && classes.length > 0 && classes.every((c) => typeof c === 'string'))) {
    throw new Error(`bad ${KEY('classes')}: expected a non-empty list of class names`);
  }
  if (kind === 'cgan' && !classes) throw new Error(`conditional model without ${KEY('classes')}`);
  const imageShape = props[KEY('image_shape')] !== undefined ? json('image_shape') : DIGIT_SHAPE;
  if (!(
    Array.isArray(imageShape) &&
    imageShape.length === 3 &&
    imageShape.every((d) => Number.isInteger(d) && d > 0 && d <= 4096) &&
    [1, 3].includes(imageShape[0])
  )) {
    throw new Error(`bad ${KEY('image_shape')}: expected [channels (1 or 3), height, width]`);
  }
  get('value_range');
  const valueRange = json('value_range');
  if (!(Array.isArray(valueRange) && valueRange.length === 2 && valueRange.every((v) => typeof v === 'number')))
    throw new Error(`bad ${KEY('value_range')}: expected [low, high]`);
  const [lo, hi] = valueRange as [number, number];
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi))
    throw new Error(`bad ${KEY('value_range')} [${lo}, ${hi}]: expected [low, high] with low < high`);
  const meta: ModelMetadata = {
    kind,
    noiseDim,
    classes: classes as string[] | null,
    valueRange: [lo, hi],
    imageShape: imageShape as ImageShape,
  };
  const dropped: DroppedField[] = [];
  for (const [k, field] of Object.entries(INFORMATIONAL_FIELDS)) {
    const v = props[KEY(k)];
    if (v === undefined) continue;
    const reason = field.check(v);
    if (reason) dropped.push({ key: KEY(k), reason: `${reason}, got ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}` });
    else (meta as unknown as Record<string, unknown>)[k] = field.read(v);
  }
  return dropped.length ? { ...meta, dropped } : meta;
}
