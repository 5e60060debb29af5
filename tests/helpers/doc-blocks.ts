// The docs' examples (README.md and docs/*.md), read from their fenced blocks, so tests run what the
// docs show wherever the text lives: a block is found by its section's heading or its tag, not its file.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli.js';

interface Fence {
  info: string; // the info string: `sh`, `html cross-origin`, ...
  indent: string; // the fence's own indentation (inside a list item), taken off each line
  body: string;
}

interface Section {
  file: string;
  fences: Fence[];
}

/** README.md, then docs/*.md: the files the tests read examples from (relative to the root). */
export function docFiles(): string[] {
  const pages = readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort();
  return ['README.md', ...pages.map((f) => `docs/${f}`)];
}

/**
 * Every section of every doc file: a heading (any level) up to the next heading of the same or a
 * higher level, with the fenced blocks in it. Lines inside fences are never headings (`# comment`).
 */
function sections(): Map<string, Section[]> {
  const found = new Map<string, Section[]>();
  for (const file of docFiles()) {
    const open: { level: number; section: Section }[] = [];
    let fence: Fence | undefined;
    for (const line of readFileSync(path.join(ROOT, file), 'utf8').split('\n')) {
      const marker = /^(\s*)```(.*)$/.exec(line);
      if (fence) {
        if (marker && marker[2]!.trim() === '') {
          for (const { section } of open) section.fences.push(fence);
          fence = undefined;
        } else fence.body += `${line.startsWith(fence.indent) ? line.slice(fence.indent.length) : line}\n`;
        continue;
      }
      if (marker) {
        fence = { info: marker[2]!.trim(), indent: marker[1]!, body: '' };
        continue;
      }
      const heading = /^(#+) (.+)$/.exec(line);
      if (!heading) continue;
      const level = heading[1]!.length;
      while (open.length > 0 && open.at(-1)!.level >= level) open.pop();
      const section: Section = { file, fences: [] };
      open.push({ level, section });
      found.set(heading[2]!, [...(found.get(heading[2]!) ?? []), section]);
    }
  }
  return found;
}

/** The one section headed `heading` in README.md or docs/*.md. */
function section(heading: string): Section {
  const matches = sections().get(heading) ?? [];
  if (matches.length !== 1) {
    const where = matches.length === 0 ? 'none' : matches.map((s) => s.file).join(', ');
    throw new Error(`expected one "${heading}" heading in README.md or docs/*.md, found ${where}`);
  }
  return matches[0]!;
}

/** The ```sh blocks of the section headed `heading`, in order, as written. */
export function docShBlocks(heading: string): string[] {
  const blocks = section(heading)
    .fences.filter((f) => f.info === 'sh')
    .map((f) => f.body);
  if (blocks.length === 0) throw new Error(`the "${heading}" section has no sh block`);
  return blocks;
}

/** The code blocks of the section headed `heading` with the language `lang` (untagged or not), in order. */
export function docBlocks(heading: string, lang: string): string[] {
  return section(heading)
    .fences.filter((f) => f.info.split(' ')[0] === lang)
    .map((f) => f.body);
}

/** The tags of the section's code blocks (```html NAME -> NAME; an untagged block is named as such). */
export function docBlockTags(heading: string): string[] {
  return section(heading).fences.map((f) => f.info.split(' ')[1] ?? `(untagged ${f.info} block)`);
}

/** The one code block tagged `tag` (```LANG tag) in README.md or docs/*.md. */
export function docTaggedBlock(tag: string): string {
  const matches = [...sections().values()]
    .flat()
    .flatMap((s) => s.fences)
    .filter((f) => f.info.split(' ')[1] === tag);
  // A fence is in every section that encloses it: the same object may appear several times.
  const unique = [...new Set(matches)];
  if (unique.length !== 1) throw new Error(`expected one code block tagged "${tag}" in README.md or docs/*.md, found ${unique.length}`);
  return unique[0]!.body;
}

/** Every shell block (```sh, tagged or not) of README.md and docs/*.md, with the file it is in. */
export function allDocShBlocks(): { file: string; body: string }[] {
  const seen = new Set<Fence>();
  const blocks: { file: string; body: string }[] = [];
  for (const s of [...sections().values()].flat())
    for (const f of s.fences)
      if (f.info.split(' ')[0] === 'sh' && !seen.has(f)) {
        seen.add(f);
        blocks.push({ file: s.file, body: f.body });
      }
  return blocks;
}
