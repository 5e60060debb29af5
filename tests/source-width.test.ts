// Prettier (npm run format:check, part of npm test) wraps code at .prettierrc.json's printWidth but cannot break a string,
// a template or a comment: this holds those to the same width, so no source line is wider.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const { printWidth } = JSON.parse(readFileSync(path.join(ROOT, '.prettierrc.json'), 'utf8')) as { printWidth: number };

describe('source files', () => {
  it(`have no line over ${printWidth} characters`, () => {
    const files = execFileSync('git', ['ls-files', '*.ts', '*.mjs', '*.js'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && !f.startsWith('tests/fixtures/') && !f.startsWith('models/'));
    expect(files.length).toBeGreaterThan(100);
    const wide = files.flatMap((f) =>
      readFileSync(path.join(ROOT, f), 'utf8')
        .split('\n')
        .flatMap((line, i) => ([...line].length > printWidth ? [`${f}:${i + 1} (${[...line].length})`] : [])),
    );
    expect(wide).toEqual([]);
  });
});
