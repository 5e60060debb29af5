// Broken copies of a good tfjs model and the check every refused conversion passes: exit code, one
// stderr line naming the problem, and no output file written.
import * as tf from '@tensorflow/tfjs';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { selectBackend } from '../../backend/select.js';
import type { CliResult } from './cli.js';
import { saveLayersModel } from './tfjs-models.js';

/** A copy of the model folder `from` at `dir`, changed by `edit` (model.json as an object, and the folder). */
export function modelVariant(from: string, dir: string, edit: (json: any, dir: string) => void): string {
  cpSync(from, dir, { recursive: true });
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(readFileSync(file, 'utf8'));
  edit(json, dir);
  writeFileSync(file, JSON.stringify(json));
  return dir;
}

/** Checks a failed `onnxgan convert`: the exit code and a single stderr line matching `pattern`; returns the line. */
export function expectRefusal(r: CliResult, pattern: RegExp, code = 1): string {
  expect(r.code, r.stdout + r.stderr).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^onnxgan convert: /);
  expect(lines[0]).toMatch(pattern);
  return lines[0]!;
}

/** The good model the refusal cases break: functional x [8] -> Dense 16 relu ("hidden") -> Dense 6 ("out"), in 256-byte shards. */
export async function saveSmallModel(dir: string): Promise<string> {
  await selectBackend('auto');
  const x = tf.input({ shape: [8], name: 'x' });
  const h = tf.layers.dense({ units: 16, activation: 'relu', name: 'hidden' }).apply(x) as tf.SymbolicTensor;
  const y = tf.layers.dense({ units: 6, name: 'out' }).apply(h) as tf.SymbolicTensor;
  await saveLayersModel(tf.model({ inputs: x, outputs: y }), dir, { shardBytes: 256 });
  return dir;
}
