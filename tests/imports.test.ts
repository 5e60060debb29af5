// The module graph: no import circles (type imports included), and the CLI's --help path loads no heavy module (tfjs,
// express, onnxruntime, sharp): those load inside a command's action, so `onnxgan --help` is fast.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers/cli.js';

const FOLDERS = ['common', 'data', 'backend', 'train', 'export', 'serve', 'eval', 'convert', 'web-demo/src'];
const HEAVY = /^(@tensorflow\/|express|onnxruntime-|sharp|pino|helmet|prom-client|ml-matrix|pngjs|zod$)/;

function sources(): string[] {
  const out = [path.join(ROOT, 'cli.ts')];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir)) {
      const p = path.join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.ts') && !f.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const f of FOLDERS) walk(path.join(ROOT, f));
  return out;
}

/**
 * Static (top-level) imports of a module: relative ones resolved to files, type imports included (a
 * circle of types is a circle of modules too); packages by name, values only (types are erased).
 */
function staticImports(file: string): { local: string[]; packages: string[] } {
  const text = readFileSync(file, 'utf8');
  const local: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
    const spec = m[2]!;
    if (spec.startsWith('.')) local.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    else if (!spec.startsWith('node:') && !m[1]) packages.push(spec);
  }
  // Packages loaded by a top-level require (backend/tfjs.ts loads tfjs so) count as static imports.
  for (const m of text.matchAll(/^(?:export\s+)?const\s+[^=]+=\s*\w*[rR]equire\w*\(['"]([^'"]+)['"]\)/gm)) packages.push(m[1]!);
  return { local, packages };
}

describe('module graph', () => {
  const graph = new Map(sources().map((f) => [f, staticImports(f)]));

  it('has no import circles', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, trail: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(f)), f].map((p) => path.relative(ROOT, p)).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const dep of graph.get(f)?.local ?? []) visit(dep, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of graph.keys()) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('cli.ts and every command module load no heavy package before a command runs', () => {
    const seen = new Set<string>();
    const heavy: string[] = [];
    const visit = (f: string, trail: string[]): void => {
      if (seen.has(f)) return;
      seen.add(f);
      const deps = graph.get(f);
      expect(deps, `${path.relative(ROOT, f)} imported by ${trail.map((p) => path.relative(ROOT, p)).join(' <- ')}`).toBeDefined();
      for (const p of deps!.packages)
        if (HEAVY.test(p)) heavy.push(`${[...trail, f].map((t) => path.relative(ROOT, t)).join(' -> ')} -> ${p}`);
      for (const dep of deps!.local) visit(dep, [...trail, f]);
    };
    visit(path.join(ROOT, 'cli.ts'), []);
    expect(heavy).toEqual([]);
    // The walk did reach the command modules.
    expect([...seen].filter((f) => f.endsWith('command.ts')).length).toBeGreaterThanOrEqual(4);
  });
});
