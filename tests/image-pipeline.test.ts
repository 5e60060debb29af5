// "Train on your own images", end to end as a user runs it: docs/data.md's example block runs as it is
// written (`npx onnxgan` is this checkout's CLI) on Adwaita's colour icons, the exported model is
// served and asked for a class by name; gan and wgan-gp train briefly on Fashion-MNIST exported to
// PNG (a flat folder and class folders), export and serve grey images of their shape.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, startCli } from './helpers/cli.js';
import { writeFashionPngs } from './helpers/image-sets.js';
import { docShBlocks } from './helpers/doc-blocks.js';
import { tempDir } from './helpers/temp-dir.js';

const work = tempDir('onnxgan-own-images-');
const bin = path.join(work, 'bin');
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, ONNXGAN_CACHE_DIR: path.join(work, 'cache') };

/** Runs a shell script in the work folder; resolves with its exit code and output. */
function sh(script: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** `onnxgan serve --models DIR` on a free port until `use(url)` is done. */
async function withServer(models: string, use: (url: string) => Promise<void>): Promise<void> {
  const { child, done } = startCli(['serve', '--models', models, '--port', '0', '--log-format', 'json', '--no-access-log']);
  let out = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d;
        const m = /"url":"(http:[^"]+)"[^\n]*"msg":"listening"/.exec(out);
        if (m) resolve(m[1]!.replace(/\/$/, ''));
      });
      void done.then((r) => reject(new Error(`serve exited (${r.code}) before listening:\n${out}${r.stderr}`)));
    });
    await use(url);
  } finally {
    child.kill('SIGTERM');
    await done;
  }
}

const generate = async (url: string, model: string, body: object): Promise<Response> =>
  fetch(`${url}/v1/models/${model}/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** Mean of each channel over an RGBA PNG's pixels, 0..255. */
function channelMeans(png: PNG): [number, number, number] {
  const sums = [0, 0, 0];
  for (let i = 0; i < png.data.length; i += 4) for (let c = 0; c < 3; c++) sums[c]! += png.data[i + c]!;
  const n = png.data.length / 4;
  return [sums[0]! / n, sums[1]! / n, sums[2]! / n];
}

beforeAll(() => {
  // The docs say `npx onnxgan`: in this checkout that is the built CLI (the npx route itself is
  // tested by newcomer-readme.test.ts).
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    path.join(bin, 'npx'),
    `#!/bin/sh\nif [ "$1" = onnxgan ]; then shift; exec "${process.execPath}" "${CLI}" "$@"; fi\necho ` +
      `"npx $1: not in this test" >&2; exit 1\n`,
  );
  chmodSync(path.join(bin, 'npx'), 0o755);
});

describe("docs/data.md's own-images example, as written", () => {
  const [written, request] = docShBlocks('Train on your own images');
  // The docs' 3 minutes of training, shortened to keep the suite quick.
  const example = written!.replace('--minutes 3 ', '--minutes 0.25 ');

  it('makes a colour data set from the icons, previews it, trains a cgan, exports and evaluates it', async () => {
    expect(written).toContain('--minutes 3 ');
    const r = await sh(example);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/run: --minutes 0\.25 is about \d+ epochs of 9 steps/);
    expect(r.out).toContain('samples runs/icons/samples.png');
    expect(readdirSync(path.join(work, 'icons')).sort()).toEqual(['devices', 'mimetypes', 'places']);
    const preview = PNG.sync.read(readFileSync(path.join(work, 'icons-preview.png')));
    // Ten images in each of three rows (one per class) with 2 px separators, 24 px images drawn at a whole scale.
    const cell = (preview.width - 11 * 2) / 10;
    expect([cell % 24, preview.height]).toEqual([0, 3 * cell + 4 * 2]);
    expect(existsSync(path.join(work, 'my-models', 'icons.onnx'))).toBe(true);
    expect(r.out).toMatch(/wrote my-models\/icons\.onnx/);
    expect(r.out).toMatch(/training the judge for icons@/); // trained for the icons on first use, with its held-out accuracy
    expect(r.out).toMatch(/held-out accuracy 0\.\d+/);
    expect(r.out).toMatch(/FID/);
  }, 900_000);

  it('serves it: a class asked for by name comes back as colour images of [3, 24, 24]', async () => {
    expect(existsSync(path.join(work, 'my-models', 'icons.onnx'))).toBe(true);
    await withServer(path.join(work, 'my-models'), async (url) => {
      const listed = (await (await fetch(`${url}/v1/models`)).json()) as {
        models: { name: string; classes: string[]; image_shape: number[] }[];
      };
      expect(listed.models).toMatchObject([{ name: 'icons', classes: ['devices', 'mimetypes', 'places'], image_shape: [3, 24, 24] }]);
      // The docs' curl line, against this server.
      const r = await sh(request!.replaceAll('localhost:8080', url.replace(/^http:\/\//, '')));
      expect(r.code, r.out).toBe(0);
      const grid = PNG.sync.read(readFileSync(path.join(work, 'places.png')));
      expect(grid.width).toBeGreaterThanOrEqual(4 * 24);
      // Colour, not grey: Adwaita's places (folders) are blue on white, and so are the samples.
      const [red, , blue] = channelMeans(grid);
      expect(blue - red, `channel means ${channelMeans(grid).map((v) => v.toFixed(0))}`).toBeGreaterThan(15);
      const t = (await (await generate(url, 'icons', { label: 'places', count: 2, seed: 3, format: 'tensor' })).json()) as {
        shape: number[];
        label: number;
      };
      expect(t.shape).toEqual([2, 3, 24, 24]);
      expect(t.label).toBe(2);
      const unknown = await generate(url, 'icons', { label: 'cats', format: 'png' });
      expect(unknown.status).toBe(400);
      expect((await unknown.json()).detail).toMatch(/"devices","mimetypes","places"/);
    });
  }, 120_000);

  it('eval says what it needs once the folder is gone, and reuses the cached judge with --data', async () => {
    renameSync(path.join(work, 'icons'), path.join(work, 'icons-moved'));
    try {
      const gone = await sh('npx onnxgan eval my-models/icons.onnx --n 100');
      expect(gone.code).toBe(1);
      const line = gone.out.trim().split('\n').at(-1)!;
      expect(line).toMatch(/^onnxgan eval: .*icons.*--data DIR/);
      // The same images elsewhere: the same data set fingerprint, so the judge trained above is reused.
      const moved = await sh('npx onnxgan eval my-models/icons.onnx --n 100 --no-ceiling --data icons-moved');
      expect(moved.code, moved.out).toBe(0);
      expect(moved.out).not.toMatch(/training the judge/);
      expect(moved.out).toMatch(/FID/);
    } finally {
      renameSync(path.join(work, 'icons-moved'), path.join(work, 'icons'));
    }
  }, 600_000);
});

describe('gan and wgan-gp on a folder of Fashion-MNIST PNGs', () => {
  it('train briefly (flat folder and class folders), export, and serve grey [1, 28, 28] images', async () => {
    const byClass = path.join(work, 'fashion');
    await writeFashionPngs(byClass, 40, [1, 7, 9]);
    const flat = path.join(work, 'fashion-flat');
    mkdirSync(flat);
    for (const c of readdirSync(byClass))
      for (const f of readdirSync(path.join(byClass, c))) renameSync(path.join(byClass, c, f), path.join(flat, `${c}-${f}`));
    await writeFashionPngs(byClass, 40, [1, 7, 9]);
    const models = path.join(work, 'fashion-models');
    for (const [kind, data] of [
      ['gan', flat],
      ['wgan-gp', byClass],
    ] as const) {
      const r = await sh(
        `npx onnxgan train --model ${kind} --data ${data} --epochs 1 --batch 36 --out runs/${kind} && npx ` +
          `onnxgan export runs/${kind} --out ${models}/${kind}.onnx`,
      );
      expect(r.code, r.out).toBe(0);
    }
    await withServer(models, async (url) => {
      for (const kind of ['gan', 'wgan-gp']) {
        const t = (await (await generate(url, kind, { count: 2, seed: 1, format: 'tensor' })).json()) as {
          shape: number[];
          data: number[];
        };
        expect(t.shape, kind).toEqual([2, 1, 28, 28]);
        expect(t.data.every((v) => v >= -1 && v <= 1)).toBe(true);
        const png = PNG.sync.read(Buffer.from(await (await generate(url, kind, { seed: 1, format: 'png' })).arrayBuffer()));
        expect([png.width, png.height]).toEqual([28, 28]);
        const [r, g, b] = channelMeans(png);
        expect(r).toBe(g); // grey
        expect(g).toBe(b);
      }
    });
  }, 600_000);
});
