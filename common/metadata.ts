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
  kind: ModelKind;
  noiseDim: number;
  noise: string; // e.g. "uniform(-1,1)"
  classes: string[] | null; // conditional models only
  dataset: string;
  epochs: number;
  steps: number;
  valueRange: [number, number];
  /** The `image` output is [N, ...imageShape]. */
  imageShape: ImageShape;
  ema?: number;
}

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
    [KEY('noise')]: m.noise,
    [KEY('dataset')]: m.dataset,
    [KEY('epochs')]: String(m.epochs),
    [KEY('steps')]: String(m.steps),
    [KEY('value_range')]: JSON.stringify(m.valueRange),
    [KEY('image_shape')]: JSON.stringify(m.imageShape),
  };
  if (m.classes) props[KEY('classes')] = JSON.stringify(m.classes);
  if (m.ema !== undefined) props[KEY('ema')] = String(m.ema);
  return props;
}

/** Parse metadata_props; throws with the offending key when the file is not an onnxgan model. */
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
  if (!(Array.isArray(imageShape) && imageShape.length === 3 && imageShape.every((d) => Number.isInteger(d) && d > 0 && d <= 4096) && [1, 3].includes(imageShape[0]))) {
    throw new Error(`bad ${KEY('image_shape')}: expected [channels (1 or 3), height, width]`);
  }
  get('value_range');
  const valueRange = json('value_range');
  if (!(Array.isArray(valueRange) && valueRange.length === 2 && valueRange.every((v) => typeof v === 'number'))) throw new Error(`bad ${KEY('value_range')}: expected [low, high]`);
  const ema = props[KEY('ema')];
  return {
    kind,
    noiseDim,
    noise: get('noise'),
    classes: classes as string[] | null,
    dataset: get('dataset'),
    epochs: Number(get('epochs')),
    steps: Number(get('steps')),
    valueRange: valueRange as [number, number],
    imageShape: imageShape as ImageShape,
    ...(ema !== undefined ? { ema: Number(ema) } : {}),
  };
}
