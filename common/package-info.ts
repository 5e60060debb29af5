import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** onnxgan's package.json, found by walking up from this module (works from sources and dist/). */
export function packageInfo(): { name: string; version: string; root: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string };
      if (pkg.name === 'onnxgan') return { ...pkg, root: dir };
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('onnxgan package.json not found');
    dir = up;
  }
}
