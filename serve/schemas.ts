// Request validation. The generate body's `label` rule depends on the model (conditional or not,
// its class names), so each loaded model gets its own schema, built once at load time.
import { z } from 'zod';
import { classIndex } from '../common/class-label.js';
import { isConditional, type ModelMetadata } from '../common/metadata.js';
import { SERVE_DEFAULTS } from './defaults.js';

export const MAX_COUNT = SERVE_DEFAULTS.maxCount;
export const FORMATS = ['png', 'grid', 'json', 'tensor'] as const;
export type Format = (typeof FORMATS)[number];

export function generateSchemaFor(meta: ModelMetadata) {
  const classes = meta.classes ?? [];
  const expected = `a class index 0..${classes.length - 1} or one of ${JSON.stringify(classes)}`;
  const label = isConditional(meta)
    ? z
        .union([z.number(), z.string()], {
          error: (iss) =>
            iss.input === undefined ? `required: this ${meta.kind} model is conditional (${expected})` : `expected ${expected}`,
        })
        .transform((v, ctx) => {
          try {
            return classIndex(classes, v); // the element's and the demo page's resolver
          } catch {
            ctx.addIssue({ code: 'custom', message: `expected ${expected}` });
            return z.NEVER;
          }
        })
    : z.never({ error: `not allowed: this ${meta.kind} model is unconditional` }).optional();
  return z
    .strictObject({
      count: z.int().min(1).max(MAX_COUNT).default(1),
      label,
      seed: z.int().min(0).max(0xffffffff).optional(),
      format: z.enum(FORMATS).default('json'),
    })
    .refine((b) => b.format !== 'png' || b.count === 1, {
      path: ['count'],
      message: 'format "png" returns one image: count must be 1 (use "grid" or "json")',
    })
    .transform((b) => ({
      count: b.count,
      seed: b.seed,
      format: b.format,
      /** Class index, or null for unconditional models. */
      label: b.label ?? null,
    }));
}

export type GenerateSchema = ReturnType<typeof generateSchemaFor>;
export type GenerateRequest = z.output<GenerateSchema>;

/** Model names come from file names and end up in URLs and metric labels. */
export const MODEL_NAME = /^[A-Za-z0-9._-]+$/;

/** URL parameter of /v1/models/:name/... and /models/:file. */
export const modelNameSchema = z.string().regex(MODEL_NAME, `model names match ${MODEL_NAME.source}`);

/** Turns a zod error into the code, message and field of a 400 (the detail is `field: message`). */
export function validationError(err: z.ZodError): { error: string; message: string; field: string } {
  const issue = err.issues[0]!;
  let field = issue.path.join('.');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    field = issue.keys.join(', ');
    message =
      `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} ` +
      `(allowed: count, label, seed, format)`;
  }
  return { error: 'invalid_request', message, field: field || '(body)' };
}
