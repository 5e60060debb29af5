// @onnxgan/element (packages/element) for bundler users: its exports resolve to the built bundle and
// its declarations, TypeScript checks a consumer against them, its tarball holds them and depends on
// onnxruntime-web only, and the root's `onnxgan/element` is the same files. The packed package is
// installed, bundled and drawn with in tests/e2e/self-host.spec.ts.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/temp-dir.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const PACKAGE = path.join(ROOT, 'packages/element');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
interface Manifest {
  name: string;
  exports: Record<string, { types: string; default: string }>;
  dependencies: Record<string, string>;
}
const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
const root = readManifest(ROOT);
const pkg = readManifest(PACKAGE);
const element = pkg.exports['.']!;

/** A project with @onnxgan/element installed (a link to packages/element) and one TypeScript file. */
function consumer(code: string): string {
  const dir = tempDir('onnxgan-consumer-');
  mkdirSync(path.join(dir, 'node_modules/@onnxgan'), { recursive: true });
  symlinkSync(PACKAGE, path.join(dir, 'node_modules/@onnxgan/element'));
  writeFileSync(path.join(dir, 'main.ts'), code);
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        lib: ['ES2022', 'DOM'],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: [],
      },
      files: ['main.ts'],
    }),
  );
  return dir;
}

const typecheck = (dir: string): Promise<{ ok: boolean; output: string }> =>
  run(process.execPath, [TSC, '-p', dir]).then(
    () => ({ ok: true, output: '' }),
    (e: { stdout?: string }) => ({ ok: false, output: e.stdout ?? '' }),
  );

const packed = async (dir: string): Promise<Set<string>> => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, maxBuffer: 1 << 26 });
  return new Set((JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path));
};

describe('@onnxgan/element', () => {
  it('exports point at the built bundle and its declarations; the root re-exports the same files', () => {
    expect(pkg.name).toBe('@onnxgan/element');
    for (const file of [element.default, element.types]) expect(existsSync(path.join(PACKAGE, file)), `${file} (npm run build)`).toBe(true);
    const inRoot = (file: string): string => `./${path.posix.join('packages/element', file)}`;
    expect(root.exports['./element']).toEqual({ types: inRoot(element.types), default: inRoot(element.default) });
  });

  it('depends on onnxruntime-web only, the version the root builds and tests with', () => {
    expect(pkg.dependencies).toEqual({ 'onnxruntime-web': root.dependencies['onnxruntime-web'] });
  });

  it('TypeScript checks a consumer against the declarations: right uses pass, wrong ones fail', async () => {
    const good = consumer(`import { setRuntimeLocation, OnnxGanElement, loadGenerator } from '@onnxgan/element';
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

    const bad = consumer(`import { setRuntimeLocation, loadGenerator } from '@onnxgan/element';
setRuntimeLocation(42);
const g = await loadGenerator('x.onnx');
await g.generate({ seed: '1', count: 4 });
`);
    const failed = await typecheck(bad);
    expect(failed.ok).toBe(false);
    expect(failed.output).toMatch(/main\.ts\(2,20\).*number.*not assignable/);
    expect(failed.output).toMatch(/main\.ts\(4,.*string.*not assignable/);
  });

  it('its tarball holds the bundle, the declarations and the README, not the runtime', async () => {
    const files = await packed(PACKAGE);
    const needed = [element.default, element.types].map((f) => path.posix.normalize(f));
    expect(
      [...needed, 'README.md', 'package.json'].filter((f) => !files.has(f)),
      'missing from @onnxgan/element',
    ).toEqual([]);
    expect(
      [...files].filter((f) => !/^(dist\/|README\.md$|package\.json$)/.test(f) || /\.wasm$/.test(f)),
      'not in @onnxgan/element',
    ).toEqual([]);
  });

  it('the root package holds the element, the self-host runtime, the CLI and the models', async () => {
    const files = await packed(ROOT);
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'web-demo/dist/ort/manifest.json'), 'utf8')) as Record<string, string>;
    const needed = [
      root.exports['./element']!.default.replace('./', ''),
      root.exports['./element']!.types.replace('./', ''),
      ...Object.values(manifest).map((f) => `web-demo/dist/ort/${f}`),
      'web-demo/dist/onnx-gan.js',
      'dist/cli.js',
      'dist/serve/static-files.js',
      'web-demo/index.html',
      'web-demo/style.css',
      'models/cgan.onnx',
      'models/judge-mnist.json',
      'models/judge-report-mnist.json',
    ];
    expect(
      needed.filter((f) => !files.has(f)),
      'missing from the package',
    ).toEqual([]);
    expect(
      [...files].filter((f) => f.startsWith('models/checkpoints/') || f.startsWith('tests/')),
      'not published',
    ).toEqual([]);
  });
});
