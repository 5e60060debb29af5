// A judge as data: the one description of a judge network and how it trains. The select, report and
// folder judges are three values of it; one trainer (judge-train.ts), one tfjs forward pass
// (judge-net.ts), one ONNX builder (judge-onnx.ts) and one file format (judge-file.ts) read it.
import { z } from 'zod';
import type { ImageShape } from '../common/metadata.js';
import { REPORT_AUGMENTATION } from './augment.js';

/** report: the judge users see numbers from; select: the one development decisions were made with. */
export type JudgeRole = 'report' | 'select';

const convSchema = z.object({ name: z.string(), kernel: z.number().int().positive(), out: z.number().int().positive(), pool: z.boolean() });
const affineSchema = z.object({
  kind: z.literal('affine'),
  shift: z.number(),
  rotate: z.number(),
  scale: z.number(),
  speckle: z.number(),
  noise: z.number(),
  specks: z.number(),
});

export const judgeSpecSchema = z.object({
  role: z.enum(['report', 'select']),
  /** Each conv: k x k 'same', stride 1, bias, (batch norm while training,) ReLU, then optionally 2x2 max pool. */
  convs: z.array(convSchema).min(1),
  /**
   * Features: a dense ReLU layer over the last maps flattened in (h, w, c) order, or their global
   * average (features that do not encode placement); then the dense `logits` layer.
   */
  head: z.object({
    features: z.union([z.object({ dense: z.string(), size: z.number().int().positive() }), z.literal('global-average')]),
    logits: z.string(),
  }),
  /** Batch normalisation before each ReLU while training, folded into the convolutions when saved. */
  batchNorm: z.boolean(),
  /** Training augmentation: whole-pixel shifts (background fill), or eval/augment.ts's affine map and speckle. */
  augmentation: z.union([z.object({ kind: z.literal('shift'), pixels: z.number().int().nonnegative() }), affineSchema]),
  seed: z.number().int(),
  batch: z.number().int().positive(),
  learningRate: z.number().positive(),
  /** Default epochs: about `images` training images seen, clamped to [min, max]. */
  epochs: z.object({ images: z.number().positive(), min: z.number().int().positive(), max: z.number().int().positive() }),
});
export type JudgeSpec = z.infer<typeof judgeSpecSchema>;
export type ConvSpec = JudgeSpec['convs'][number];

const SELECT_CONVS: ConvSpec[] = [
  { name: 'conv1', kernel: 3, out: 16, pool: true },
  { name: 'conv2', kernel: 3, out: 32, pool: true },
];

/** The select judge; digits vary in position more than the centred Fashion-MNIST items (2 px, else 1). */
export const selectSpec = (pixels: number): JudgeSpec => ({
  role: 'select',
  convs: SELECT_CONVS,
  head: { features: { dense: 'fc1', size: 128 }, logits: 'fc2' },
  batchNorm: false,
  augmentation: { kind: 'shift', pixels },
  seed: 0,
  batch: 100,
  learningRate: 1e-3,
  epochs: { images: 240_000, min: 4, max: 8 },
});

/** Another architecture and seed than the select judge, with augmentation that removes shortcuts. */
export const REPORT_SPEC: JudgeSpec = {
  role: 'report',
  convs: [
    { name: 'conv1', kernel: 5, out: 16, pool: true },
    { name: 'conv2', kernel: 3, out: 32, pool: true },
    { name: 'conv3', kernel: 3, out: 64, pool: true },
    { name: 'conv4', kernel: 3, out: 128, pool: false },
  ],
  head: { features: 'global-average', logits: 'fc' },
  // Without it this small GAP network learns slowly (0.951 held-out after 20 epochs).
  batchNorm: true,
  augmentation: { kind: 'affine', ...REPORT_AUGMENTATION },
  seed: 2,
  batch: 128,
  learningRate: 2e-3,
  epochs: { images: 72_000, min: 6, max: 8 },
};

/**
 * An image folder's judge: the report judge's network and augmentation (what the digits' numbers
 * are measured with), about 60,000 images seen in at least 6 epochs; images smaller than its three
 * poolings allow take the select network.
 */
export function folderSpec([, h, w]: ImageShape): JudgeSpec {
  const epochs = { images: 60_000, min: 6, max: 100 };
  return Math.min(h, w) >= minSide(REPORT_SPEC) ? { ...REPORT_SPEC, epochs } : { ...selectSpec(1), epochs };
}

/** Whether two specs are the same judge (key order aside: one may come from a file). */
export function sameSpec(a: JudgeSpec, b: JudgeSpec): boolean {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .sort()
              .map(([k, x]) => [k, canon(x)]),
          )
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

export const defaultEpochs = (spec: JudgeSpec, trainCount: number): number =>
  Math.min(spec.epochs.max, Math.max(spec.epochs.min, Math.ceil(spec.epochs.images / trainCount)));

/** Feature dimension (FID, KID, precision/recall live in this space). */
export const featureDim = (spec: JudgeSpec): number =>
  spec.head.features === 'global-average' ? spec.convs.at(-1)!.out : spec.head.features.size;

/** Smallest image side: every pooling leaves at least one position. */
export const minSide = (spec: JudgeSpec): number => 2 ** spec.convs.filter((c) => c.pool).length;

/** The last maps' [H, W] after the poolings. */
export function pooledSize(spec: JudgeSpec, [, h, w]: ImageShape): [number, number] {
  for (const c of spec.convs) if (c.pool) [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
  return [h, w];
}

/**
 * Weight shapes, in training's initialisation order: conv kernels [k*k*Cin, Cout] (rows (dy, dx, c), tfjs's [k, k, Cin, Cout]),
 * dense [in, out].
 */
export function weightShapes(spec: JudgeSpec, image: ImageShape, classes: number): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  let cin = image[0];
  for (const c of spec.convs) {
    shapes[`${c.name}/kernel`] = [c.kernel * c.kernel * cin, c.out];
    shapes[`${c.name}/bias`] = [c.out];
    cin = c.out;
  }
  const f = spec.head.features;
  if (f !== 'global-average') {
    const [h, w] = pooledSize(spec, image);
    shapes[`${f.dense}/kernel`] = [h * w * cin, f.size];
    shapes[`${f.dense}/bias`] = [f.size];
  }
  shapes[`${spec.head.logits}/kernel`] = [featureDim(spec), classes];
  shapes[`${spec.head.logits}/bias`] = [classes];
  return shapes;
}

/** How it was trained, in words (eval's report line). */
export function trainingText(spec: JudgeSpec, epochs: number): string {
  const a = spec.augmentation;
  if (a.kind === 'shift') return `${epochs} epochs, shifts up to ${a.pixels} px`;
  return (
    `${epochs} epochs, shifts up to ${a.shift * 100}% of the side, ` +
    `rotations up to ${a.rotate} degrees, scaling up to ${a.scale * 100}%, speckle on ${a.speckle * 100}% of the images`
  );
}

/** The architecture in words (stored in the file, shown by tests and cards). */
export function architectureText(spec: JudgeSpec, [c, h, w]: ImageShape): string {
  const layers = spec.convs.map((l) => `conv${l.kernel}x${l.kernel}(${l.out})+ReLU${l.pool ? '+maxpool2' : ''}`);
  const f = spec.head.features;
  const features = f === 'global-average' ? 'global average pool [features]' : `dense(${f.size})+ReLU [features]`;
  return [
    `input ${c}x${h}x${w} in [-1,1]`,
    ...layers,
    features,
    'dense(K) [logits]',
    ...(spec.batchNorm ? ['trained with batch normalisation before each ReLU, folded into the convolutions'] : []),
  ].join('; ');
}
