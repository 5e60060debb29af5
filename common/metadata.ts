// The contract every exported generator follows; read by export, serve, eval and the web demo.

export const MODEL_KINDS = ['gan', 'wgan-gp', 'cgan'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export const IMAGE_SIZE = 28;
export const IMAGE_PIXELS = IMAGE_SIZE * IMAGE_SIZE;
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
  const classes = props[KEY('classes')] ? (JSON.parse(props[KEY('classes')]!) as string[]) : null;
  if (kind === 'cgan' && !classes) throw new Error(`conditional model without ${KEY('classes')}`);
  if (classes && (!Array.isArray(classes) || classes.length === 0)) throw new Error(`bad ${KEY('classes')}: expected a non-empty list of class names`);
  const ema = props[KEY('ema')];
  return {
    kind,
    noiseDim,
    noise: get('noise'),
    classes,
    dataset: get('dataset'),
    epochs: Number(get('epochs')),
    steps: Number(get('steps')),
    valueRange: JSON.parse(get('value_range')) as [number, number],
    ...(ema !== undefined ? { ema: Number(ema) } : {}),
  };
}
