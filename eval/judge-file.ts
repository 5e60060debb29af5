// The one judge file format: `onnxgan-judge` version 2, a judge's spec (eval/judge-spec.ts), its facts
// and its weights (base64 float32). Files written before it are read as version 2: `onnxgan-judge`
// version 1 (select and folder judges) and `onnxgan-report-judge` version 1 carry no spec, and get
// the spec they were trained with.
import { writeFileAtomic } from '../common/atomic.js';
import { DIGIT_SHAPE, type ImageShape } from '../common/metadata.js';
import { JudgeError, readJudgeJson } from './judge.js';
import { judgeSpecSchema, minSide, REPORT_SPEC, selectSpec, weightShapes, type JudgeSpec } from './judge-spec.js';

export const JUDGE_FORMAT = 'onnxgan-judge';
export const JUDGE_VERSION = 2;

export interface JudgeInfo {
  /** Data set short name (mnist, fashion, a folder's). */
  data: string;
  classes: string[];
  /** [C, H, W] of its input. */
  imageShape: ImageShape;
  architecture: string;
  /** Accuracy on the data set's held-out split (un-augmented), measured through onnxruntime. */
  heldOutAccuracy: number;
  heldOutCount: number;
  trainCount: number;
  epochs: number;
  created: string;
}

/** Conv kernels [k*k*Cin, Cout], dense [in, out] (judge-spec.ts weightShapes). */
export type Weights = Record<string, { shape: number[]; values: Float32Array }>;

/** A judge as data (no tfjs needed). */
export interface JudgeModel {
  spec: JudgeSpec;
  info: JudgeInfo;
  weights: Weights;
}

type StoredWeights = Record<string, { shape: number[]; dtype: 'float32'; data: string }>;

export function saveJudge(file: string, j: JudgeModel): void {
  const weights: StoredWeights = {};
  for (const [name, { shape, values }] of Object.entries(j.weights)) {
    weights[name] = { shape, dtype: 'float32', data: Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64') };
  }
  writeFileAtomic(file, JSON.stringify({ format: JUDGE_FORMAT, version: JUDGE_VERSION, ...j.info, spec: j.spec, weights }) + '\n');
}

/** The spec of a parsed file of this format or an older one, or why it has none. */
export function specOf(j: Record<string, unknown>): JudgeSpec | string {
  if (j.format === JUDGE_FORMAT && j.version === JUDGE_VERSION) {
    const s = judgeSpecSchema.safeParse(j.spec);
    return s.success ? s.data : `its spec is not valid (${s.error.issues[0]?.path.join('.')}: ${s.error.issues[0]?.message})`;
  }
  if (j.format === JUDGE_FORMAT && j.version === 1) return { ...selectSpec(Number(j.maxShift)), seed: Number(j.seed) };
  if (j.format === 'onnxgan-report-judge' && j.version === 1)
    return {
      ...REPORT_SPEC,
      augmentation: { kind: 'affine', ...(j.augmentation as object) } as JudgeSpec['augmentation'],
      seed: Number(j.seed),
    };
  if (j.format === JUDGE_FORMAT || j.format === 'onnxgan-report-judge')
    return `judge format version ${String(j.version)}, this onnxgan reads ${JUDGE_VERSION} (and 1)`;
  return `not an onnxgan judge file (format "${String(j.format)}")`;
}

/** Read and check a judge file (`json`: the file already parsed); errors name the file and the command that rebuilds it. */
export function readJudgeModel(file: string, rebuild: string, json: unknown = readJudgeJson(file, rebuild)): JudgeModel {
  const bad = (why: string): JudgeError => new JudgeError(`${file}: ${why}; rebuild it with \`${rebuild}\``);
  const j = (json ?? {}) as Record<string, unknown> & { classes?: unknown; imageShape?: unknown; weights?: StoredWeights };
  const spec = specOf(j);
  if (typeof spec === 'string') throw bad(spec);
  const classes = j.classes;
  if (!Array.isArray(classes) || classes.length < 2 || !classes.every((c) => typeof c === 'string')) throw bad('missing class names');
  const image = (j.imageShape ?? DIGIT_SHAPE) as ImageShape; // version 1 digit judges carry no shape
  const side = minSide(spec);
  if (!(
    Array.isArray(image) &&
    image.length === 3 &&
    image.every((d) => Number.isInteger(d) && d >= 1) &&
    image[1] >= side &&
    image[2] >= side
  ))
    throw bad(`imageShape is not [C, H, W] with H, W >= ${side}`);
  const weights: Weights = {};
  for (const [name, shape] of Object.entries(weightShapes(spec, image, classes.length))) {
    const w = j.weights?.[name];
    if (!w || w.shape?.join() !== shape.join()) throw bad(`weight ${name} missing or not of shape [${shape}]`);
    const buf = Buffer.from(w.data, 'base64');
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    if (buf.length !== bytes) throw bad(`weight ${name} holds ${buf.length} bytes, expected ${bytes}`);
    weights[name] = { shape, values: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)) };
  }
  const info: JudgeInfo = {
    data: String(j.data),
    classes,
    imageShape: image,
    architecture: String(j.architecture),
    heldOutAccuracy: Number(j.heldOutAccuracy),
    heldOutCount: Number(j.heldOutCount),
    trainCount: Number(j.trainCount),
    epochs: Number(j.epochs),
    created: String(j.created),
  };
  return { spec, info, weights };
}
