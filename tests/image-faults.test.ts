// Image folders as careless or hostile users leave them (issue 29, 27), against the real CLI: names
// that are not UTF-8 (trained on, shown escaped), decompression bombs and link loops (skipped with
// a reason, nothing allocated or followed), a run folder inside its data (refused at the start), and
// image sizes whose networks cannot fit (refused before anything is decoded, with the numbers).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { writeFashionPngs } from './helpers/image-sets.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('onnxgan-image-faults-');
process.env.ONNXGAN_CACHE_DIR = path.join(tmp, 'cache'); // the CLI children inherit it: no cache outside tmp

/** A path whose last part is raw bytes (not necessarily UTF-8). */
const bytesPath = (dir: string, ...name: number[] | [Buffer]): Buffer =>
  Buffer.concat([Buffer.from(dir + path.sep), Buffer.isBuffer(name[0]) ? name[0] : Buffer.from(name as number[])]);
const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A valid PNG that declares `width` x `height` but holds one row: a decompression bomb's header. */
function bombPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // 8-bit grey
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + width))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

let named: string; // classes "Bag", "Coat" and "Sandal" renamed to non-UTF-8 bytes, files too
let hostile: string; // good images plus a bomb, link loops and a FIFO

beforeAll(async () => {
  named = path.join(tmp, 'named');
  await writeFashionPngs(named, 6, [4, 5, 8]); // Coat, Sandal, Bag
  renameSync(path.join(named, 'Coat'), bytesPath(named, latin1('Caf\u00e9'))); // "Café" in Latin-1: 0xe9 alone is not UTF-8
  renameSync(path.join(named, 'Sandal'), bytesPath(named, Buffer.from([0x53, 0x0a, 0x80]))); // a newline and a lone continuation byte
  const bag = path.join(named, 'Bag');
  const first = readdirSync(bag).sort()[0]!;
  renameSync(path.join(bag, first), bytesPath(bag, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('.png')])));

  hostile = path.join(tmp, 'hostile');
  await writeFashionPngs(hostile, 5, [0, 1]); // T-shirt-top, Trouser
  const a = path.join(hostile, 'T-shirt-top');
  writeFileSync(path.join(a, 'bomb.png'), bombPng(60_000, 60_000));
  symlinkSync('self.png', path.join(a, 'self.png')); // a link to itself
  symlinkSync('pong.png', path.join(a, 'ping.png'));
  symlinkSync('ping.png', path.join(a, 'pong.png'));
  symlinkSync('..', path.join(a, 'up')); // a folder link back to an ancestor
  execFileSync('mkfifo', [path.join(a, 'pipe.png')]);
});

describe('image folders: names that are not UTF-8', () => {
  it('are read by their bytes: onnxgan data counts them and shows their names escaped', async () => {
    const r = await runCli(['data', named]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 classes, 18 images as 1x28x28/);
    expect(r.stdout).toMatch(/^Caf\\xe9\s+6\s+/m);
    expect(r.stdout).toMatch(/^S\\x0a\\x80\s+6\s+/m);
    expect(r.stdout).toMatch(/^Bag\s+6\s+/m);
    expect(r.stdout).toMatch(/skipped: none/);
    expect(r.stdout).not.toMatch(/\ufffd/);
  });

  it('survive a cache file whose header lies about its length: decoded again', async () => {
    const caches = readdirSync(path.join(tmp, 'cache', 'images'));
    expect(caches.length).toBeGreaterThan(0);
    for (const f of caches) {
      const file = path.join(tmp, 'cache', 'images', f);
      const bytes = readFileSync(file);
      bytes.writeUInt32LE(0xffffffff, 'onnxgan-image-cache/1\n'.length);
      writeFileSync(file, bytes);
    }
    const r = await runCli(['data', named]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 classes, 18 images as 1x28x28/);
    expect(r.stdout).toMatch(/\(decoded in/);
  });

  it('are trained on: cgan learns all three classes, named as shown', async () => {
    const out = path.join(tmp, 'runs', 'named');
    const r = await runCli(['train', '--model', 'cgan', '--data', named, '--epochs', '1', '--backend', 'cpu', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/data: named@\w+, 1x28x28 grey \(Bag 6, Caf\\xe9 6, S\\x0a\\x80 6\); 15 to train, 3 held out/);
    expect(r.stderr.split('\n').some((l) => l.includes('\n'))).toBe(false);
  });
});

describe('image folders: bombs, link loops and FIFOs', () => {
  it('are skipped with a reason, quickly, and the rest is trained on', async () => {
    const started = Date.now();
    const r = await runCli(['data', hostile]);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.stdout).toMatch(/2 classes, 10 images/);
    expect(r.stdout).toMatch(
      /T-shirt-top\/bomb.png: declares 60000x60000 px \(3600 Mpx\), more than the 268 Mpx decoded: not decoded \(a decompression bomb\?\)/,
    );
    expect(r.stdout).toMatch(/T-shirt-top\/self.png: link loop \(ELOOP\)/);
    expect(r.stdout).toMatch(/T-shirt-top\/ping.png: link loop \(ELOOP\)/);
    expect(r.stdout).toMatch(/T-shirt-top\/pong.png: link loop \(ELOOP\)/);
    expect(r.stdout).toMatch(/T-shirt-top\/up: folder already scanned \(a symbolic link loop or a second link to it\): not followed/);
    expect(r.stdout).toMatch(/T-shirt-top\/pipe.png: not a regular file/);
    const run = await runCli([
      'train',
      '--model',
      'gan',
      '--data',
      hostile,
      '--epochs',
      '1',
      '--backend',
      'cpu',
      '--out',
      path.join(tmp, 'runs', 'hostile'),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/data: hostile@\w+, 1x28x28 grey \(T-shirt-top 5, Trouser 5\); 8 to train, 2 held out/);
    expect(run.stderr).toMatch(/data: skipped 6 \(--strict makes this an error\)/);
    const strict = await runCli(['data', hostile, '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stderr.trim()).toMatch(/^onnxgan data: --strict: \d+ files or folders could not be used/);
  });
});

describe('onnxgan data refuses a decode that cannot fit', () => {
  it('before decoding: 300 images at 4096x4096 are more than memory or a typed array holds', async () => {
    const dir = path.join(tmp, 'many');
    mkdirSync(path.join(dir, 'a'), { recursive: true });
    const one = path.join(
      named,
      'Bag',
      readdirSync(path.join(named, 'Bag')).find((f) => f.endsWith('.png'))!,
    );
    for (let i = 0; i < 300; i++) symlinkSync(one, path.join(dir, 'a', `${i}.png`)); // 300 files to the scan
    const started = Date.now();
    const r = await runCli(['data', dir, '--image-size', '4096']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim()).toMatch(
      new RegExp(
        /^onnxgan data: .*many: 300 images at 4096x4096 are 5.03e\+9 values /.source +
          /decoded, 25.2 GB as bytes and float32, more than (one typed array holds|the .* of memory here): /.source +
          /use a smaller --image-size or fewer images$/.source,
      ),
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('train refuses at the start what cannot work', () => {
  it('refuses an --out inside --data (any spelling) before writing anything', async () => {
    symlinkSync(named, path.join(tmp, 'named-link'));
    for (const out of [path.join(named, 'runs', 'x'), path.join(tmp, 'named-link', 'run'), `${named}/../named/Bag/run`, named]) {
      const r = await runCli(['train', '--model', 'gan', '--data', named, '--epochs', '1', '--backend', 'cpu', '--out', out]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(
        /^onnxgan train: --out .* is inside --data .*: its sample grids would be read as training images; put the run elsewhere/,
      );
    }
    expect(existsSync(path.join(named, 'runs'))).toBe(false);
    expect(existsSync(path.join(named, 'Bag', 'run'))).toBe(false);
    expect(readdirSync(named)).toHaveLength(3);
  });

  it('refuses image sizes whose networks cannot fit, before decoding, naming the cost and a size that fits', async () => {
    for (const [size, extra, pattern] of [
      [
        '4096',
        [],
        new RegExp(
          /4096x4096 images with 1 channel make gan's networks 6459.4 M /.source +
            /parameters: .*more than .*; use a smaller --image-size \(\d+x\d+ /.source +
            /fits\)/.source,
        ),
      ],
      [
        '1024',
        [],
        new RegExp(
          /1024x1024 images with 1 channel make gan's networks 403.8 M parameters: /.source +
            /its checkpoint would be \d+ M characters of JSON, more than the /.source +
            /\d+ M a string can hold/.source,
        ),
      ],
      [
        '512',
        ['--channels', '3'],
        /512x512 images with 3 channels make gan's networks .* M parameters: .*\(\d+x\d+ fits, or --channels 1\)/,
      ],
    ] as const) {
      const started = Date.now();
      const r = await runCli([
        'train',
        '--model',
        'gan',
        '--data',
        named,
        '--image-size',
        size,
        ...extra,
        '--backend',
        'cpu',
        '--out',
        path.join(tmp, 'runs', `size-${size}`),
      ]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).not.toMatch(/^data: /m); // nothing decoded
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(pattern);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(existsSync(path.join(tmp, 'runs', `size-${size}`))).toBe(false);
    }
  });
});
