// Bundles the browser demo and the <onnx-gan> element into web-demo/dist/ and copies the
// onnxruntime-web WASM runtime next to them, so web-demo/ can be hosted as plain static files.
// Run by `npm run build` (after tsc); `node web-demo/build.mjs --watch` rebuilds on change.
import { build, context } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));

// The ORT files the element loads at run time (ES module API, its WASM glue and the binary).
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

const options = {
  entryPoints: { 'onnx-gan': join(here, 'src/onnx-gan-element.ts'), demo: join(here, 'src/demo-page.ts') },
  outdir: out,
  bundle: true,
  splitting: true, // the page and the element share one generator chunk
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  minify: true,
  sourcemap: true,
  chunkNames: '[name]-[hash]', // next to the entries: import.meta.url finds ort/ from any file
  logLevel: 'warning',
};

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'ort'), { recursive: true });
for (const f of ORT_FILES) copyFileSync(join(ortDist, f), join(out, 'ort', f));

if (process.argv.includes('--watch')) {
  await (await context(options)).watch();
  console.log('web-demo: watching web-demo/src');
} else {
  await build(options);
}
