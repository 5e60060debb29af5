// Folders of images as data sets: real images (Fashion-MNIST exported to PNG by class, Adwaita's
// colour icons), the decoded-image cache, the held-out split, `onnxgan data`, and hostile folders.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { openData } from '../data/sources.js';
import { scanImageFolder } from '../data/image-scan.js';
import { decodeImage } from '../data/image-decode.js';
import type { DataSplits } from '../data/dataset.js';
import { CLI, ROOT, runCli, type CliResult } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { FASHION_FOLDERS, fashionIdx, ICON_CLASSES, iconFiles, writeFashionPngs, writeIconSet } from './helpers/image-sets.js';

const tmp = tempDir('onnxgan-images-');
// Every load in this file (and the CLI runs it starts) caches here, not in ~/.cache.
process.env.ONNXGAN_CACHE_DIR = path.join(tmp, 'cache');
const quiet = { log: () => {}, progress: false };

const fashionDir = path.join(tmp, 'fashion-png');
const iconDir = path.join(tmp, 'icons');
let fashionFiles: Map<string, number>;
const PER_CLASS = 30;

beforeAll(async () => {
  fashionFiles = await writeFashionPngs(fashionDir, PER_CLASS);
  writeIconSet(iconDir);
});

/** 8-bit RGB pixels with a colour gradient, as sharp's raw input. */
const gradient = (w: number, h: number) => {
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) [px[i * 3], px[i * 3 + 1], px[i * 3 + 2]] = [(i % w) * 5, 200 - (i % 97), 40 + ((i * 7) % 180)];
  return sharp(px, { raw: { width: w, height: h, channels: 3 } });
};

describe('image folders: real data', () => {
  it('reads Fashion-MNIST exported to PNG class folders as the same pixels, grey, with the class names sorted', async () => {
    const d = await openData(fashionDir, {}, quiet);
    expect(d.train.classes).toEqual([...FASHION_FOLDERS].sort());
    expect(d.train.shape).toEqual([1, 28, 28]); // every file is grey: one channel
    expect(d.folder!.layout).toBe('classes');
    expect(d.folder!.kinds).toEqual({ grey: 10 * PER_CLASS });
    expect(d.folder!.sizes).toEqual({ '28x28': 10 * PER_CLASS });
    expect(d.train.name).toMatch(/^fashion-png@[0-9a-f]{16}$/);
    // The held-out split: the last 10% of each class, in file-name order.
    expect(d.train.count).toBe(10 * (PER_CLASS - 3));
    expect(d.heldOut.count).toBe(10 * 3);
    // 28x28 to 28x28 leaves the pixels as they are: the same values as the IDX file.
    const { images } = fashionIdx();
    const byClass = d.train.classes.map((c) =>
      [...fashionFiles]
        .filter(([f]) => path.basename(path.dirname(f)) === c)
        .map(([, i]) => i)
        .sort((a, b) => a - b),
    );
    let checked = 0;
    for (const [set, offset] of [
      [d.train, 0],
      [d.heldOut, PER_CLASS - 3],
    ] as const) {
      const seen = new Array(10).fill(0);
      for (let i = 0; i < set.count; i++) {
        const k = set.labels[i]!;
        const idx = byClass[k]![offset + seen[k]++]!;
        for (let p = 0; p < 784; p += 7) expect(set.images[i * 784 + p]).toBe(Math.fround((images[16 + idx * 784 + p]! / 255) * 2 - 1));
        checked++;
      }
    }
    expect(checked).toBe(10 * PER_CLASS);
  });

  it('reads plain 8-bit PNGs already at the target size without a sharp pipeline, to the bytes sharp gives', async () => {
    const grey = [...fashionFiles.keys()][5]!;
    const rgb = path.join(tmp, 'plain-rgb.png');
    await gradient(28, 28).png().toFile(rgb);
    const planes = async (file: string, space: 'b-w' | 'srgb'): Promise<number[]> => {
      const { data, info } = await sharp(file).toColourspace(space).raw().toBuffer({ resolveWithObject: true });
      const n = info.width * info.height;
      return Array.from({ length: n * info.channels }, (_, i) => data[(i % n) * info.channels + Math.floor(i / n)]!);
    };
    const target = { width: 28, height: 28, fit: 'cover' as const };
    for (const [file, channels, space] of [
      [grey, 'native', 'b-w'],
      [grey, 3, 'srgb'],
      [rgb, 'native', 'srgb'],
      [rgb, 3, 'srgb'],
    ] as const) {
      const d = await decodeImage(file, { ...target, channels }, 1000);
      expect(d.via, `${file} ${channels}`).toBe('png');
      expect(Array.from(d.pixels), `${file} ${channels}`).toEqual(await planes(file, space));
    }
    // Anything else goes through sharp: another size, colour to grey, alpha.
    expect((await decodeImage(grey, { ...target, width: 27, channels: 'native' }, 1000)).via).toBe('sharp');
    expect((await decodeImage(rgb, { ...target, channels: 1 }, 1000)).via).toBe('sharp');
    expect(
      (
        await decodeImage(
          iconFiles('places').find((f) => f.includes('/24x24/'))!,
          { ...target, width: 24, height: 24, channels: 'native' },
          1000,
        )
      ).via,
    ).toBe('sharp');
  });

  it('reads the colour icons (RGBA PNGs of 16-512 px) as RGB, cover or contain, at any size', async () => {
    const d = await openData(iconDir, { size: [32, 24] }, quiet);
    expect(d.train.classes).toEqual(ICON_CLASSES);
    expect(d.train.shape).toEqual([3, 24, 32]); // [C, H, W] of --image-size WxH
    expect(Object.keys(d.folder!.sizes).length).toBeGreaterThanOrEqual(6);
    expect(d.folder!.kinds.rgba).toBeGreaterThan(100);
    expect(d.folder!.perClass).toEqual(ICON_CLASSES.map((c) => iconFiles(c).length));
    // Colour survives: the places (folder icons) are blue, not grey.
    const v = 3 * 24 * 32;
    const places = ICON_CLASSES.indexOf('places');
    let blue = 0;
    let n = 0;
    for (let i = 0; i < d.train.count; i++) {
      if (d.train.labels[i] !== places) continue;
      for (let p = 0; p < 24 * 32; p++) {
        const [r, b] = [d.train.images[i * v + p]!, d.train.images[i * v + 2 * 24 * 32 + p]!];
        if (b - r > 0.3) blue++;
        n++;
      }
    }
    expect(blue / n).toBeGreaterThan(0.2);
    // contain letterboxes a non-square target on white; cover crops: different images.
    const contain = await openData(iconDir, { size: [32, 24], fit: 'contain' }, quiet);
    expect(contain.train.name).not.toBe(d.train.name);
    expect(contain.train.images[0]).toBeCloseTo(1, 5); // top-left corner: white letterbox
  });

  it('caches the decoded images: the second load reads the cache; touching a file or changing an option decodes again', async () => {
    const first = await openData(fashionDir, { size: [20, 20] }, quiet);
    expect(first.folder!.cache.hit).toBe(false);
    const second = await openData(fashionDir, { size: [20, 20] }, quiet);
    expect(second.folder!.cache.hit).toBe(true);
    expect(second.train.name).toBe(first.train.name);
    expect(second.train.images).toEqual(first.train.images);
    expect(second.folder!.seconds).toBeLessThan(first.folder!.seconds);
    const file = [...fashionFiles.keys()][0]!;
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const touched = await openData(fashionDir, { size: [20, 20] }, quiet);
    expect(touched.folder!.cache.hit).toBe(false);
    expect(touched.train.name).toBe(first.train.name); // same pixels: same fingerprint
    expect((await openData(fashionDir, { size: [20, 20], fit: 'contain' }, quiet)).folder!.cache.hit).toBe(false);
    // A broken cache file is decoded again, not an error.
    writeFileSync(touched.folder!.cache.file!, 'garbage');
    const again = await openData(fashionDir, { size: [20, 20] }, quiet);
    expect(again.folder!.cache.hit).toBe(false);
    expect(again.train.images).toEqual(first.train.images);
  });

  it('takes Unicode class names (NFC, sorted by code point) and a flat folder without classes', async () => {
    const dir = path.join(tmp, 'unicode');
    for (const [name, glyph] of [
      ['Ωmega', 'Ω'],
      ['été', 'é'],
      ['Zeta', 'Z'],
      ['ä', 'ä'],
    ]) {
      const folder = path.join(dir, name.normalize('NFD')); // as macOS writes names
      mkdirSync(folder, { recursive: true });
      for (let i = 0; i < 3; i++) {
        await sharp({
          text: { text: glyph!, font: 'DejaVu Sans', fontfile: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', dpi: 150 + 40 * i },
        })
          .png()
          .toFile(path.join(folder, `${i}.png`));
      }
    }
    const d = await openData(dir, {}, quiet);
    expect(d.train.classes).toEqual(['Zeta', 'ä', 'été', 'Ωmega']);
    const flat = path.join(tmp, 'flat');
    mkdirSync(flat, { recursive: true });
    for (const f of iconFiles('places').slice(0, 12))
      copyFileSync(f, path.join(flat, `${path.basename(path.dirname(path.dirname(f)))}-${path.basename(f)}`));
    const f = await openData(flat, {}, quiet);
    expect(f.folder!.layout).toBe('flat');
    expect(f.train.count + f.heldOut.count).toBe(12);
    expect(f.heldOut.count).toBe(1);
  });

  it('onnxgan data: images per class, sizes and pixel formats, skipped files, and a preview grid as the trainer sees it', async () => {
    const preview = path.join(tmp, 'preview.png');
    const r = await runCli(['data', iconDir, '--image-size', '32', '--preview', preview]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/icons: 3 classes, [\d,]+ images as 3x32x32 \(RGB, cover, channels auto\)/);
    expect(r.stdout).toMatch(/^places\s+\d+\s+\d+\s+\d+$/m);
    expect(r.stdout).toMatch(
      /source sizes: \d+ sizes from 16x16 to 512x512; most common (\d+x\d+ [\d,]+, ){3}\d+x\d+ [\d,]+ \([\d,]+ files in other sizes\)$/m,
    );
    expect(r.stdout).toMatch(/pixel formats: rgba \d+/);
    const png = PNG.sync.read(readFileSync(preview));
    expect([png.width, png.height]).toEqual([10 * 32 + 11 * 2, 3 * 32 + 4 * 2]); // one row per class
    expect(png.data.length).toBe(png.width * png.height * 4);
    const json = await runCli(['data', fashionDir, '--json']);
    const s = JSON.parse(json.stdout);
    expect(s.shape).toEqual([1, 28, 28]);
    expect(s.classes.find((c: { name: string }) => c.name === 'Trouser')).toEqual({ name: 'Trouser', train: PER_CLASS - 3, heldOut: 3 });
    const mnist = await runCli(['data', 'mnist']);
    expect(mnist.stdout).toMatch(/mnist: 10 classes, 10,000 images as 1x28x28 \(grey\); 9,000 to train, 1,000 held out/);
  });
});

describe('image folders: hostile input', () => {
  /** A folder with one good class and everything that can go wrong inside another. */
  async function hostileFolder(): Promise<string> {
    const dir = path.join(tmp, 'hostile');
    rmSync(dir, { recursive: true, force: true });
    const good = path.join(dir, 'good');
    const mixed = path.join(dir, 'mixed');
    mkdirSync(good, { recursive: true });
    mkdirSync(path.join(mixed, 'nested', 'deeper'), { recursive: true });
    for (let i = 0; i < 4; i++)
      await gradient(30 + i, 20)
        .png()
        .toFile(path.join(good, `g${i}.png`));
    const real = iconFiles('devices')[0]!;
    await gradient(40, 30).toColourspace('rgb16').png().toFile(path.join(mixed, 'sixteen-bit.png'));
    await gradient(40, 30).toColourspace('grey16').png().toFile(path.join(mixed, 'grey-16-bit.png'));
    await gradient(40, 30).png({ palette: true }).toFile(path.join(mixed, 'palette.png'));
    await gradient(40, 30)
      .ensureAlpha(0.3)
      .png()
      .toFile(path.join(mixed, 'nested', 'rgba.png'));
    await gradient(40, 30)
      .toColourspace('b-w')
      .png()
      .toFile(path.join(mixed, 'nested', 'deeper', 'grey.png'));
    await gradient(40, 30).toColourspace('cmyk').jpeg().toFile(path.join(mixed, 'cmyk.JPG'));
    await gradient(40, 30).webp().toFile(path.join(mixed, 'photo.webp'));
    await gradient(2, 2).png().toFile(path.join(mixed, 'tiny.png'));
    const bytes = readFileSync(real);
    writeFileSync(path.join(mixed, 'truncated.png'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    writeFileSync(path.join(mixed, 'noise.png'), Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 7919) % 256)));
    writeFileSync(path.join(mixed, 'text.jpg'), 'this is not a JPEG\n');
    writeFileSync(path.join(mixed, 'notes.txt'), 'not an image, by name: ignored');
    writeFileSync(path.join(mixed, '.DS_Store'), 'hidden');
    symlinkSync('..', path.join(mixed, 'nested', 'loop')); // back to mixed/
    symlinkSync('self.png', path.join(mixed, 'self.png')); // a link to itself
    symlinkSync('gone.png', path.join(mixed, 'dangling.png'));
    symlinkSync(real, path.join(mixed, 'linked-icon.png'));
    execFileSync('mkfifo', [path.join(mixed, 'pipe.png')]); // reading it would block forever
    return dir;
  }

  it('converts mixed sizes and pixel formats, names and skips what it cannot use, and never hangs on links or FIFOs', async () => {
    const dir = await hostileFolder();
    const d: DataSplits = await openData(dir, { size: [16, 16] }, quiet);
    const f = d.folder!;
    expect(d.train.shape).toEqual([3, 16, 16]); // grey and colour files together: RGB
    expect(f.kinds).toMatchObject({ 'rgb 16-bit': 1, 'grey 16-bit': 1, palette: 1, cmyk: 1, grey: 1 });
    expect(f.perClass).toEqual([4, 8]); // good: 4; mixed: 16-bit x2, palette, rgba, grey, cmyk, webp, the linked icon
    const reasons = Object.fromEntries(f.skipped.map((s) => [path.relative(dir, s.file), s.reason]));
    expect(reasons['mixed/tiny.png']).toMatch(/2x2 px: smaller than 4 px/);
    expect(reasons['mixed/truncated.png']).toMatch(/cannot decode it|not a readable image/);
    expect(reasons['mixed/noise.png']).toMatch(/not a readable image/);
    expect(reasons['mixed/text.jpg']).toMatch(/not a readable image/);
    expect(reasons['mixed/pipe.png']).toBe('not a regular file');
    expect(reasons['mixed/self.png']).toMatch(/ELOOP/);
    expect(reasons['mixed/dangling.png']).toMatch(/ENOENT/);
    expect(reasons['mixed/nested/loop']).toMatch(/already scanned/);
    expect(f.ignored).toEqual({ count: 1, examples: ['mixed/notes.txt'] });
    // The grey file joins the colour ones as R = G = B.
    const r = await runCli(['data', dir, '--image-size', '16']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/skipped 8 \(--strict makes this an error\)/);
    expect(r.stdout).toMatch(/mixed\/tiny\.png: 2x2 px: smaller than 4 px/);
    const strict = await runCli(['data', dir, '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/^onnxgan data: --strict: 8 files or folders could not be used, first .*mixed\/\S+: /m);
  });

  it(
    'refuses before training, in one line: no images, an empty class, a class with only broken files, ' +
      'one image, clashing names, a file, sizes below 4 px',
    async () => {
      const make = (name: string, files: Record<string, string | Buffer>): string => {
        const dir = path.join(tmp, 'bad', name);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        for (const [f, content] of Object.entries(files)) {
          mkdirSync(f.endsWith('/') ? path.join(dir, f) : path.dirname(path.join(dir, f)), { recursive: true });
          if (!f.endsWith('/')) writeFileSync(path.join(dir, f), content);
        }
        return dir;
      };
      const png = await gradient(8, 8).png().toBuffer();
      mkdirSync(path.join(tmp, 'bad-runs'), { recursive: true });
      const cases: [string, string, RegExp][] = [
        [
          make('nothing', { 'readme.txt': 'hi' }),
          'gan',
          /nothing: no PNG, JPEG or WebP images here \(1 other file, e\.g\. readme\.txt\), and no IDX files/,
        ],
        [
          make('empty-class', { 'a/1.png': png, 'a/2.png': png, 'b/': '' }),
          'cgan',
          /empty-class\/b: empty class folder "b" \(no PNG, JPEG or WebP images in it\)/,
        ],
        [
          make('broken-class', { 'a/1.png': png, 'a/2.png': png, 'b/1.png': 'garbage' }),
          'cgan',
          /broken-class\/b: none of its images could be decoded \(1\.png: not a readable image/,
        ],
        [make('one-image', { 'a/1.png': png, 'a/2.png': png, 'b/1.png': png }), 'cgan', /class "b" .* has 1 usable image: need at least 2/],
        [make('clash', { 'e\u0301/1.png': png, '\u00e9/1.png': png }), 'cgan', /two class folders are both named "é"/],
        [make('flat', { '1.png': png, '2.png': png }), 'cgan', /flat folder of images without classes: cgan needs one subfolder per class/],
        [
          make('single', { 'only/1.png': png, 'only/2.png': png }),
          'cgan',
          /has a single class \(only\): cgan needs at least 2 class folders/,
        ],
      ];
      for (const [dir, model, message] of cases) {
        const r = await runCli([
          'train',
          '--model',
          model,
          '--data',
          dir,
          '--epochs',
          '1',
          '--backend',
          'cpu',
          '--out',
          path.join(tmp, 'bad-runs', path.basename(dir)),
        ]);
        expect(r.code, `${dir}: ${r.stderr}`).toBe(1);
        expect(r.stderr, dir).toMatch(message);
        expect(r.stderr.trim().split('\n').at(-1), dir).toMatch(/^onnxgan train: /); // one line, no stack trace
        expect(readdirSync(path.join(tmp, 'bad-runs')).includes(path.basename(dir)), `${dir}: no run folder left`).toBe(false);
      }
      const tooSmall = await runCli(['train', '--model', 'gan', '--data', iconDir, '--image-size', '3']);
      expect(tooSmall.code).toBe(2);
      expect(tooSmall.stderr).toMatch(/--image-size.*sides from 4 to 4096/);
      const notForMnist = await runCli(['train', '--model', 'gan', '--data', 'mnist', '--image-size', '32', '--backend', 'cpu']);
      expect(notForMnist.code).toBe(1);
      expect(notForMnist.stderr).toMatch(/--image-size: only for folders of images; mnist is 1x28x28/);
      const file = path.join(tmp, 'bad', 'one-image', 'a', '1.png');
      expect((await runCli(['data', file])).stderr).toMatch(/1\.png: not a folder/);
    },
  );

  it('skips a folder and a file it may not read, and refuses an unreadable class folder', async () => {
    const dir = path.join(tmp, 'perm');
    for (const c of ['a', 'b', 'c']) {
      mkdirSync(path.join(dir, c, 'private'), { recursive: true });
      for (let i = 0; i < 3; i++)
        await gradient(10, 10)
          .png()
          .toFile(path.join(dir, c, `${i}.png`));
      await gradient(10, 10)
        .png()
        .toFile(path.join(dir, c, 'private', 'hidden.png'));
    }
    writeFileSync(path.join(dir, 'a', 'secret.png'), readFileSync(path.join(dir, 'a', '0.png')));
    chmodSync(path.join(dir, 'a', 'private'), 0o700);
    chmodSync(path.join(dir, 'a', 'secret.png'), 0o600);
    // Root reads everything: run as nobody then, with a folder and a cache nobody can use.
    const asRoot = process.getuid?.() === 0;
    const run = (args: string[]): Promise<CliResult> => (asRoot ? runAsNobody(args) : runCli(args));
    for (let d = dir; d !== tmp; d = path.dirname(d)) chmodSync(d, 0o755);
    chmodSync(tmp, 0o755);
    mkdirSync(process.env.ONNXGAN_CACHE_DIR!, { recursive: true });
    chmodSync(process.env.ONNXGAN_CACHE_DIR!, 0o777);
    if (!asRoot) {
      chmodSync(path.join(dir, 'a', 'private'), 0o000);
      chmodSync(path.join(dir, 'a', 'secret.png'), 0o000);
    } else {
      chmodSync(path.join(dir, 'a', 'private'), 0o700);
    }
    const r = await run(['data', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    const reasons = Object.fromEntries(
      s.folder.skipped.map((k: { file: string; reason: string }) => [path.relative(dir, k.file), k.reason]),
    );
    expect(reasons['a/private']).toMatch(/cannot read folder: permission denied \(EACCES\)/);
    expect(reasons['a/secret.png']).toMatch(/not a readable image/);
    expect(s.classes.map((c: { train: number; heldOut: number }) => c.train + c.heldOut)).toEqual([3, 4, 4]);
    chmodSync(path.join(dir, 'b'), asRoot ? 0o700 : 0o000);
    const refused = await run(['data', dir]);
    chmodSync(path.join(dir, 'b'), 0o755);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/perm\/b: class folder "b": cannot read folder: permission denied \(EACCES\)/);
  });

  it('scans a folder of links in a loop and a deep chain without hanging', () => {
    const dir = path.join(tmp, 'loops');
    mkdirSync(path.join(dir, 'x'), { recursive: true });
    mkdirSync(path.join(dir, 'y'), { recursive: true });
    copyFileSync(iconFiles('places')[0]!, path.join(dir, 'x', 'a.png'));
    copyFileSync(iconFiles('places')[1]!, path.join(dir, 'y', 'b.png'));
    symlinkSync(path.join(dir, 'y'), path.join(dir, 'x', 'to-y'));
    symlinkSync(path.join(dir, 'x'), path.join(dir, 'y', 'to-x'));
    const started = Date.now();
    const scan = scanImageFolder(dir);
    expect(Date.now() - started).toBeLessThan(5000);
    // Class x holds its file and, through the link, y's; the link back to x is not followed.
    expect(scan.files.map((f) => f.rel)).toEqual(['x/a.png', 'x/to-y/b.png', 'y/b.png', 'y/to-x/a.png']);
    expect(scan.skipped.map((s) => path.relative(dir, s.file))).toEqual(['x/to-y/to-x', 'y/to-x/to-y']);
  });
});

/** The built CLI as user nobody (for permission tests when the tests run as root). */
function runAsNobody(args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    uid: 65534,
    gid: 65534,
    env: { ...process.env, HOME: '/tmp' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}
