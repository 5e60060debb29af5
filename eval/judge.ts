// Judge files' names, places and errors: models/judge-<data>.json (select) and
// models/judge-report-<data>.json (report) ship, so every user evaluates against the same networks.
// What a judge is: eval/judge-spec.ts; its file: eval/judge-file.ts.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageInfo } from '../common/package-info.js';
import type { JudgeRole } from './judge-spec.js';

export class JudgeError extends Error {}

/** The judge's short name for a --data source: mnist, fashion, or a folder's base name. */
export function judgeName(data: string): string {
  if (data === 'mnist' || data === 'fashion') return data;
  return path.basename(path.resolve(data)).replace(/[^A-Za-z0-9._-]+/g, '_') || 'data';
}

/** The shipped judge of a role for a data set. */
export const judgePath = (role: JudgeRole, data: string): string =>
  path.join(packageInfo().root, 'models', `judge-${role === 'report' ? 'report-' : ''}${judgeName(data)}.json`);

/** The command that (re)builds a judge, for messages. */
export const retrainCommand = (role: JudgeRole, data: string): string =>
  `onnxgan eval --retrain-judge${role === 'report' ? ' --judge report' : ''} --data ${data}`;

/** A judge file's JSON, parsed once; errors name the file and the command that (re)builds it. */
export function readJudgeJson(file: string, rebuild: string): { format?: unknown } {
  if (!existsSync(file)) throw new JudgeError(`judge file ${file} not found: build it with \`${rebuild}\` (minutes)`);
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return typeof j === 'object' && j !== null ? j : {};
  } catch (e) {
    throw new JudgeError(`${file}: not valid JSON (${(e as Error).message}); rebuild it with \`${rebuild}\``);
  }
}
