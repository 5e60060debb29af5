// Bundles the browser demo and the <onnx-gan> element into web-demo/dist/ and copies the
// onnxruntime-web WASM runtime next to them, so web-demo/dist/ can be hosted as plain static files
// at any path; and the element alone into packages/element/dist/ (the npm package @onnxgan/element,
// whose users serve onnxruntime-web's own files). Run by `npm run build` (after tsc, which writes the
// package's declarations); `node web-demo/build.mjs --watch` rebuilds on change.
//
// - Content-hashed names (chunk-HASH.js, ort/NAME-HASH.ext) for everything but the two entry files
//   (onnx-gan.js, demo.js, which pages name): a server may cache those forever (immutable).
// - Brotli (.br) and gzip (.gz) copies of every js/mjs/wasm/css/json file, made here once and not per
//   request; a hashed file's copies are reused by later builds (brotli 11 of the 14 MB wasm takes a minute).
// - ort/manifest.json maps onnxruntime-web's own file names to the hashed copies (the server's /ort/).
import { build, context } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
const packageOut = join(here, '../packages/element/dist');
const ortOut = join(out, 'ort');
const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));

// The ORT files the element loads at run time: the ES module API, its WASM glue and the binary.
const ORT_FILES = { module: 'ort.wasm.min.mjs', glue: 'ort-wasm-simd-threaded.mjs', wasm: 'ort-wasm-simd-threaded.wasm' };
const COMPRESSED = /\.(m?js|wasm|css|json)$/;
/** The same alphabet and length as esbuild's [hash]; serve/static-files.ts recognises the pattern. */
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function contentHash(bytes) {
  const digest = createHash('sha256').update(bytes).digest();
  let bits = 0,
    value = 0,
    hash = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && hash.length < 8) {
      hash += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return hash;
}

/** Writes via a temporary file, so an interrupted build never leaves a truncated file to reuse. */
function writeAtomic(file, bytes) {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

/** Copies the ORT files under hashed names; returns their paths relative to dist/. */
function copyRuntime(keep) {
  mkdirSync(ortOut, { recursive: true });
  const files = {};
  const manifest = {};
  for (const [key, name] of Object.entries(ORT_FILES)) {
    const bytes = readFileSync(join(ortDist, name));
    const hashed = name.replace(/(\.[a-z]+)$/, `-${contentHash(bytes)}$1`);
    const target = join(ortOut, hashed);
    if (!existsSync(target) || statSync(target).size !== bytes.length) writeAtomic(target, bytes);
    keep.add(target);
    files[key] = `ort/${hashed}`;
    manifest[name] = hashed;
  }
  writeAtomic(join(ortOut, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  keep.add(join(ortOut, 'manifest.json'));
  return files;
}

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/** .br and .gz next to each file (zlib's thread pool runs them in parallel). */
async function precompress(files) {
  const hashed = /-[A-Z2-7]{8}\.[a-z]+$/;
  const jobs = [];
  for (const file of files) {
    if (!COMPRESSED.test(file)) continue;
    for (const [suffix, compress] of [
      [
        '.br',
        (b) =>
          brotli(b, {
            params: {
              [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
              [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
              [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length,
            },
          }),
      ],
      ['.gz', (b) => gzip(b, { level: 9 })],
    ]) {
      const target = file + suffix;
      if (hashed.test(basename(file)) && existsSync(target)) continue; // same name, same content
      jobs.push(compress(readFileSync(file)).then((z) => writeAtomic(target, z)));
    }
  }
  await Promise.all(jobs);
}

/** Deletes what earlier builds left in dist/ and dist/ort/ (files only). */
function removeStale(keep) {
  for (const dir of [out, ortOut]) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = join(dir, entry.name);
      const source = file.replace(/\.(br|gz|map)$/, '');
      if (!keep.has(file) && !(keep.has(source) && source !== file)) rmSync(file, { force: true });
    }
  }
}

const keep = new Set();
mkdirSync(out, { recursive: true });
const ortFiles = copyRuntime(keep);

/** Re-compresses what esbuild wrote and forgets the files of earlier builds. */
const finish = {
  name: 'precompress',
  setup(b) {
    b.onEnd(async (result) => {
      if (result.errors.length) return;
      const outputs = Object.keys(result.metafile.outputs).map((f) => join(process.cwd(), f));
      const current = new Set([...keep, ...outputs]);
      await precompress([...current]);
      removeStale(current);
    });
  },
};

const element = join(here, 'src/onnx-gan-element.ts');
const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  // Not minifyWhitespace: it drops the webpackIgnore / @vite-ignore comments of the runtime's
  // import(), which bundlers of @onnxgan/element need (whitespace costs ~1 KB once compressed).
  minifySyntax: true,
  minifyIdentifiers: true,
  sourcemap: true,
  logLevel: 'warning',
};

const options = {
  ...common,
  entryPoints: { 'onnx-gan': element, demo: join(here, 'src/demo-page.ts') },
  outdir: out,
  splitting: true, // the page and the element share one generator chunk
  chunkNames: '[name]-[hash]', // next to the entries: import.meta.url finds ort/ from any file
  // Where the runtime is, relative to the bundle: ort-runtime.ts reads it.
  define: { __ONNXGAN_ORT_FILES__: JSON.stringify(ortFiles) },
  metafile: true,
  plugins: [finish],
};

// The package's one file finds onnxruntime-web's files under their own names in ort/ next to the
// script that holds it (the consumer's bundle), copied from node_modules/onnxruntime-web/dist/.
const packageOptions = {
  ...common,
  entryPoints: { 'onnx-gan': element },
  outdir: packageOut,
  define: {
    __ONNXGAN_ORT_FILES__: JSON.stringify(Object.fromEntries(Object.entries(ORT_FILES).map(([key, name]) => [key, `ort/${name}`]))),
  },
};

if (process.argv.includes('--watch')) {
  await Promise.all([options, packageOptions].map(async (o) => (await context(o)).watch()));
  console.log('web-demo: watching web-demo/src');
} else {
  const started = Date.now();
  await Promise.all([build(options), build(packageOptions)]);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (Number(seconds) > 5)
    console.log(`web-demo: built ${relative(process.cwd(), out)} in ${seconds} s (brotli copies of new runtime files)`);
}
