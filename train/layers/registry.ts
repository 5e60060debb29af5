// The layer kinds of list.ts, and what is derived from them: the checkpoint's layer schema, export's
// ONNX mapping, the tfjs LayersModel writer and "runs on the hand-written engine". Adding a kind is
// its own file (see kind.ts) and one line in list.ts.
import type { z } from 'zod';
import type { Rng } from '../../common/rng.js';
import type { Layer, LayerKind } from './kind.js';
import * as kinds from './list.js';

/** In list.ts's order. */
export const LAYER_KINDS = Object.values(kinds);

type Kinds = (typeof kinds)[keyof typeof kinds];
/** A layer's config as the checkpoint stores it: the union of every kind's. */
export type LayerConfig = Kinds extends infer K ? (K extends LayerKind<infer C, Layer> ? C : never) : never;
export type LayerType = LayerConfig['type'];

const byType = new Map<string, LayerKind>(LAYER_KINDS.map((k) => [k.type, k as unknown as LayerKind]));

/** The kind of a config or layer; an unknown type is a one-line error naming it. */
export function kindOf(c: { type: string }): LayerKind {
  const k = byType.get(c.type);
  if (!k) throw new Error(`no layer kind ${JSON.stringify(c.type)} (known: ${[...byType.keys()].join(', ')})`);
  return k;
}

/** The checkpoint's schema of one layer's config. */
export function layerConfigSchema(zod: typeof z): z.ZodType<LayerConfig> {
  const [first, ...rest] = LAYER_KINDS.map((k) => k.schema(zod) as unknown as z.ZodObject);
  return zod.discriminatedUnion('type', [first!, ...rest]) as unknown as z.ZodType<LayerConfig>;
}

export function createLayer(name: string, config: LayerConfig, rng: Rng): Layer {
  return kindOf(config).create(name, config, rng);
}

/** The tfjs kernels the gradients of these layers need (a backend lacking one cannot train them). */
export function kernelsNeeded(configs: { type: string }[]): string[] {
  return [...new Set(configs.flatMap((c) => kindOf(c).kernels ?? []))];
}
