// `import 'onnxgan/element'` for bundler users: package.json exports resolve to the built bundle and
// its declarations, TypeScript checks a consumer against them, and the published package holds them
// (npm pack). The bundle itself runs in a page in tests/e2e/self-host.spec.ts.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/temp-dir.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
const element = pkg.exports['./element']!;

/** A project with onnxgan installed (a link to this checkout) and one TypeScript file. */
function consumer(code: string): string {
  const dir = tempDir('onnxgan-consumer-');
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(ROOT, path.join(dir, 'node_modules/onnxgan'));
  writeFileSync(path.join(dir, 'main.ts'), code);
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], strict: true, noEmit: true, skipLibCheck: false, types: [] }, files: ['main.ts'] }),
  );
  return dir;
}

const typecheck = (dir: string): Promise<{ ok: boolean; output: string }> =>
  run(process.execPath, [TSC, '-p', dir]).then(
    () => ({ ok: true, output: '' }),
    (e: { stdout?: string }) => ({ ok: false, output: e.stdout ?? '' }),
  );

describe('onnxgan/element', () => {
  it('exports point at the built bundle and its declarations', () => {
    for (const file of [element.default, element.types]) expect(existsSync(path.join(ROOT, file)), `${file} (npm run build)`).toBe(true);
  });

  it('TypeScript checks a consumer against the declarations: right uses pass, wrong ones fail', async () => {
    const good = consumer(`import { setRuntimeLocation, OnnxGanElement, loadGenerator } from 'onnxgan/element';
setRuntimeLocation('https://gan.example.org/ort/');
const el: OnnxGanElement = document.createElement('onnx-gan');
el.setAttribute('src', 'https://gan.example.org/models/cgan.onnx');
el.addEventListener('render', () => console.log(el.result?.count));
const g = await loadGenerator('https://gan.example.org/models/cgan.onnx', { onProgress: (bytes: number) => console.log(bytes) });
const images: Float32Array = (await g.generate({ seed: 1, count: 4, label: 7 })).images;
export { images };
`);
    const ok = await typecheck(good);
    expect(ok.output).toBe('');
    expect(ok.ok).toBe(true);

    const bad = consumer(`import { setRuntimeLocation, loadGenerator } from 'onnxgan/element';
setRuntimeLocation(42);
const g = await loadGenerator('x.onnx');
await g.generate({ seed: '1', count: 4 });
`);
    const failed = await typecheck(bad);
    expect(failed.ok).toBe(false);
    expect(failed.output).toMatch(/main\.ts\(2,20\).*number.*not assignable/);
    expect(failed.output).toMatch(/main\.ts\(4,.*string.*not assignable/);
  });

  it('the published package holds the bundle, the runtime, the declarations, the CLI and the models', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 1 << 26 });
    const files = new Set((JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path));
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'web-demo/dist/ort/manifest.json'), 'utf8')) as Record<string, string>;
    const needed = [
      element.default.replace('./', ''),
      element.types.replace('./', ''),
      ...Object.values(manifest).map((f) => `web-demo/dist/ort/${f}`),
      'dist/cli.js',
      'dist/serve/static-files.js',
      'web-demo/index.html',
      'web-demo/style.css',
      'models/cgan.onnx',
      'models/judge-mnist.json',
      'models/judge-report-mnist.json',
    ];
    expect(needed.filter((f) => !files.has(f)), 'missing from the package').toEqual([]);
    expect([...files].filter((f) => f.startsWith('models/checkpoints/') || f.startsWith('tests/')), 'not published').toEqual([]);
  });
});
