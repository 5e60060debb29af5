// The README's shell examples, read from its fenced ```sh blocks, so tests run what the README shows.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli.js';

/** The ```sh blocks of the README's `## heading` section, in order, as written. */
export function readmeShBlocks(heading: string): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  if (!section) throw new Error(`README.md has no "## ${heading}" section`);
  const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  if (blocks.length === 0) throw new Error(`README.md's "## ${heading}" has no sh block`);
  return blocks;
}
