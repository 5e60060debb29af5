// Benchmark: decoding a folder of 60,000 28x28 PNGs (Fashion-MNIST's training set exported by
// class) the first time and from the decoded-image cache, with peak memory, next to two peers in the
// same run: reading every file's bytes (the I/O floor) and loading the same images from the IDX file.
//   npm run build && node dist/bench/decode-images.js [--dir /tmp/onnxgan-bench-fashion-png] [--rounds 2] [--n 60000] [--image-size N]
// Without --image-size the 28x28 grey files are already at the target size (the plain-PNG path);
// another size sends every file through sharp's resize (the general path).
// Budget (issue 13): first decode <= 60 s, from the cache <= 3 s, memory bounded. Each measurement
// runs in its own process (its own peak RSS and a cold module cache); the PNG folder is written once.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Command } from 'commander';

const self = fileURLToPath(import.meta.url);
type Phase = 'read' | 'idx' | 'decode' | 'cache';

interface Measurement {
  phase: Phase;
  seconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  images: number;
}

/** One phase in this process; prints its measurement as JSON. */
async function phase(which: Phase, dir: string, size: number | undefined): Promise<void> {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  let images = 0;
  if (which === 'read') {
    // The floor: every file's bytes, one after the other (what any decoder must at least do).
    for (const c of readdirSync(dir)
      .filter((c) => !c.startsWith('.'))
      .sort())
      for (const f of readdirSync(path.join(dir, c))) images += readFileSync(path.join(dir, c, f)).length > 0 ? 1 : 0;
  } else if (which === 'idx') {
    const { loadData } = await import('../data/sources.js');
    const d = loadData('fashion');
    images = d.train.count;
  } else {
    const { loadImageFolder } = await import('../data/image-folder.js');
    const d = await loadImageFolder(dir, size ? { size: [size, size] } : {}, { log: () => {}, progress: false });
    if (d.folder!.cache.hit !== (which === 'cache')) throw new Error(`expected cache ${which === 'cache' ? 'hit' : 'miss'}`);
    images = d.train.count + d.heldOut.count;
  }
  const cpu = process.cpuUsage(cpu0);
  const m: Measurement = {
    phase: which,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    images,
  };
  console.log(JSON.stringify(m));
}

function runPhase(which: Phase, dir: string, cacheDir: string, size: number | undefined): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [self, '--phase', which, '--dir', dir, ...(size ? ['--image-size', String(size)] : [])], {
      env: { ...process.env, ONNXGAN_CACHE_DIR: cacheDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Measurement) : reject(new Error(`${which}: exit ${code}`)),
    );
  });
}

/** Fashion-MNIST's training images as grey PNGs, one folder per class (written once, reused). */
async function writeFolder(dir: string, n: number): Promise<void> {
  const marker = path.join(dir, '.complete');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === String(n)) return;
  rmSync(dir, { recursive: true, force: true });
  const sharp = (await import('sharp')).default;
  const { FASHION_DIR } = await import('../data/sources.js');
  const images = gunzipSync(readFileSync(path.join(FASHION_DIR, 'train-images-idx3-ubyte.gz')));
  const labels = gunzipSync(readFileSync(path.join(FASHION_DIR, 'train-labels-idx1-ubyte.gz')));
  for (let k = 0; k < 10; k++) mkdirSync(path.join(dir, `class-${k}`), { recursive: true });
  console.error(`writing ${n} PNGs to ${dir} (once)...`);
  for (let i = 0; i < n; i += 64) {
    await Promise.all(
      Array.from({ length: Math.min(64, n - i) }, (_, j) => {
        const idx = i + j;
        const raw = images.subarray(16 + idx * 784, 16 + (idx + 1) * 784);
        return sharp(raw, { raw: { width: 28, height: 28, channels: 1 } })
          .toColourspace('b-w')
          .png()
          .toFile(path.join(dir, `class-${labels[8 + idx]}`, `${String(idx).padStart(5, '0')}.png`));
      }),
    );
  }
  writeFileSync(marker, String(n));
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--dir <dir>', 'the PNG folder (written on first use)', path.join(tmpdir(), 'onnxgan-bench-fashion-png'))
    .option('--n <count>', 'images', (v) => Number(v), 60_000)
    .option('--rounds <n>', 'rounds (each: read, idx, decode with an empty cache, cache)', (v) => Number(v), 2)
    .option('--image-size <n>', "decode to NxN (default: the files' own 28x28)", (v) => Number(v))
    .option('--phase <phase>', '(internal) run one measurement')
    .parse()
    .opts<{ dir: string; n: number; rounds: number; imageSize?: number; phase?: Phase }>();
  if (o.phase) return phase(o.phase, o.dir, o.imageSize);
  await writeFolder(o.dir, o.n);
  const rows: string[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    const cache = mkdtempSync(path.join(tmpdir(), 'onnxgan-bench-cache-'));
    try {
      const load = loadavg()[0]!.toFixed(1);
      const read = await runPhase('read', o.dir, cache, o.imageSize);
      const idx = await runPhase('idx', o.dir, cache, o.imageSize);
      const decode = await runPhase('decode', o.dir, cache, o.imageSize);
      const cached = await runPhase('cache', o.dir, cache, o.imageSize);
      for (const m of [read, idx, decode, cached]) {
        rows.push(
          `| ${round} | ${m.phase} | ${m.images.toLocaleString('en-US')} | ${m.seconds.toFixed(2)} | ` +
            `${m.cpuSeconds.toFixed(1)} | ${m.maxRssMiB.toFixed(0)} | ${(m.seconds / read.seconds).toFixed(2)}x ` +
            `| ${(m.seconds / idx.seconds).toFixed(2)}x | ${load} |`,
        );
      }
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
  console.log('| round | what | images | wall s | CPU s | peak RSS MiB | vs reading the files | vs the IDX file | load avg at start |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

await main();
