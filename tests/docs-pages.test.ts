// README.md and docs/*.md as a newcomer meets them: every file or folder their shell examples write
// inside a clone is ignored by git (the outputs are read from the commands themselves: --out, -o,
// --preview, mkdir), and no page speaks of "this machine" (a reader's machine is another one).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';
import { allDocShBlocks, docFiles } from './helpers/doc-blocks.js';

const OUTPUT_FLAGS = new Set(['--out', '-o', '--preview']);

/** The relative paths a shell block writes (absolute paths and ones built from variables are skipped). */
function outputs(block: string): string[] {
  const found: string[] = [];
  for (const line of block.replace(/\\\n\s*/g, ' ').split('\n')) {
    const words = line
      .replace(/(^|\s)#.*$/, '')
      .split(/\s+/)
      .filter(Boolean);
    words.forEach((w, i) => {
      if (OUTPUT_FLAGS.has(w)) found.push(words[i + 1]!);
      // mkdir's operands: up to the first word that is not a plain path (`&&`, `;`).
      if (w === 'mkdir')
        for (const d of words.slice(i + 1).filter((d) => d !== '-p'))
          if (/^[\w./$-]+$/.test(d)) found.push(d);
          else break;
    });
  }
  return found.filter((p) => !p.startsWith('/') && !p.includes('$'));
}

describe("the docs' examples", () => {
  it('write only paths that .gitignore covers', () => {
    const written = allDocShBlocks().flatMap(({ file, body }) => outputs(body).map((p) => ({ file, p })));
    // The examples do write files: this test reads them (icons/, my-models/, triton-repo/, ...).
    expect(written.map((w) => w.p)).toEqual(
      expect.arrayContaining(['icons', 'icons-preview.png', 'my-models/cgan.onnx', 'triton-repo', 'seven.png']),
    );
    // A name with an extension is a file; anything else a folder, checked by a file inside it.
    const probes = written.map((w) => (/\.\w+$/.test(w.p) ? w.p : `${w.p}/x`));
    const r = spawnSync('git', ['check-ignore', '--no-index', '--stdin'], { cwd: ROOT, input: probes.join('\n'), encoding: 'utf8' });
    const ignored = new Set(r.stdout.trim().split('\n'));
    expect(written.filter((_, i) => !ignored.has(probes[i]!)).map((w) => `${w.file}: ${w.p}`)).toEqual([]);
  });

  it('never speak of "this machine"', () => {
    const said = docFiles().filter((f) => /this (2-core )?machine/i.test(readFileSync(path.join(ROOT, f), 'utf8')));
    expect(said).toEqual([]);
  });
});
