// The small things a newcomer met (issue 28), through the real CLI and a real `npm start`:
// --version, `onnxgan info` on an ONNX file made by others, `onnxgan data`'s size summary, sharp's
// wording in plain words, and killing npm start's pid stopping the server.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { plainMessage } from '../data/image-decode.js';
import { sizeSummary } from '../data/summary.js';
import { ROOT, runCli } from './helpers/cli.js';
import { isAlive as alive } from './helpers/process-alive.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('onnxgan-small-');

describe('small things', () => {
  it('onnxgan --version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('onnxgan info shows the interface of an ONNX file made by others (python3-onnx), not only of generators', async () => {
    const file = path.join(tmp, 'others.onnx');
    // Dynamic and fixed dims, three element types, a second opset domain, IR 7, metadata of its own.
    execFileSync('/usr/bin/python3', [
      '-c',
      `
import onnx, sys
from onnx import helper, TensorProto as T
g = helper.make_graph(
  [helper.make_node('Cast', ['ids'], ['idsf'], to=T.FLOAT), helper.make_node('Add', ['x', 'idsf'], ['y']), ` +
        `helper.make_node('Greater', ['y', 'x'], ['mask'])],
  'others', [helper.make_tensor_value_info('x', T.FLOAT, ['batch', 3]), helper.make_tensor_value_info('ids', T.INT64, ` +
        `['batch', 3])],
  [helper.make_tensor_value_info('y', T.FLOAT, ['batch', 3]), helper.make_tensor_value_info('mask', T.BOOL, ['batch', 3])])
m = helper.make_model(g, producer_name='someone-else', producer_version='2.1', opset_imports=[helper.make_opsetid('', 13), ` +
        `helper.make_opsetid('com.example', 1)])
m.ir_version = 7
helper.set_model_props(m, {'author': 'them'})
onnx.save(m, sys.argv[1])`,
      file,
    ]);
    const r = await runCli(['info', file]);
    expect(r.code, r.stderr).toBe(0);
    const rows = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.split(/\s+/)[0], l.replace(/^\S+\s+/, '')]),
    );
    expect(rows).toEqual({
      file: expect.stringMatching(/others\.onnx \(0\.\d KiB\)$/),
      format: 'ONNX IR 7, opset 13 + com.example 1, producer someone-else 2.1',
      inputs: 'x float32 [batch, 3], ids int64 [batch, 3]',
      outputs: 'y float32 [batch, 3], mask bool [batch, 3]',
      generator: 'no: missing metadata onnxgan.kind: not an onnxgan generator',
      author: 'them',
    });
    // A generator: its shapes and that onnxgan serves it.
    const gen = await runCli(['info', path.join(ROOT, 'models', 'cgan.onnx')]);
    expect(gen.stdout).toMatch(/^inputs\s+noise float32 \[N, 100\], label int64 \[N\]$/m);
    expect(gen.stdout).toMatch(/^outputs\s+image float32 \[N, 1, 28, 28\]$/m);
    expect(gen.stdout).toMatch(/^generator\s+yes/m);
    const notOnnx = await runCli(['info', path.join(ROOT, 'package.json')]);
    expect(notOnnx.code).toBe(1);
    expect(notOnnx.stderr.trim()).toMatch(/^onnxgan info: .*package\.json: not a valid ONNX file/);
  });

  it('onnxgan data summarises many source sizes as their range and the commonest few, and skips broken files in plain words', async () => {
    const dir = path.join(tmp, 'sizes');
    mkdirSync(dir);
    // 12 sizes, 16x16 the commonest.
    const sizes = [16, 16, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60];
    for (const [i, s] of sizes.entries()) {
      await sharp({ create: { width: s, height: s, channels: 3, background: { r: i * 15, g: 80, b: 200 } } })
        .png()
        .toFile(path.join(dir, `${i}.png`));
    }
    writeFileSync(
      path.join(dir, 'cut.png'),
      (
        await sharp({ create: { width: 300, height: 300, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 50 } } })
          .png()
          .toBuffer()
      ).subarray(0, 3000),
    );
    const r = await runCli(['data', dir, '--image-size', '16']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^source sizes: 12 sizes from 16x16 to 60x60; most common 16x16 3, \d+x\d+ 1, \d+x\d+ 1, \d+x\d+ 1 \(8 files in other sizes\)$/m,
    );
    expect(r.stdout).toMatch(/^ {2}cut\.png: (cannot decode it|not a readable image) \(/m);
    expect(r.stdout).not.toMatch(/failOn/);
    // Few sizes are listed as they are.
    expect(sizeSummary({ '28x28': 10, '32x32': 2 })).toBe('28x28 10, 32x32 2');
    // sharp's failOn wording (what a decode reports when another thread's libvips error took its message) and its empty header message.
    expect(plainMessage(new Error('Warning treated as error due to failOn setting'))).toBe('truncated or corrupt image data');
    expect(plainMessage(new Error('Input buffer has corrupt header: '))).toBe('corrupt header');
    expect(plainMessage(new Error('VipsJpeg: premature end\nVipsJpeg: premature end\nVipsJpeg: bad'))).toBe(
      'VipsJpeg: premature end; VipsJpeg: bad',
    );
  }, 60_000);

  it("killing npm start's pid stops the server it started (no orphan)", async () => {
    const child = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const server = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', () => {
        const m = /"pid":(\d+)[^\n]*"msg":"listening"/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      void exited.then((code) => reject(new Error(`npm start exited (${code}) before listening:\n${out}`)));
    });
    try {
      process.kill(child.pid!, 'SIGTERM'); // npm's own pid, as a process manager or `kill $!` does
      expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running after 10 s'), 10_000))]), out).toBe(0);
      const t0 = Date.now();
      while (alive(server) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
      expect(alive(server), `server ${server} still running after npm exited`).toBe(false);
      expect(out).toMatch(/"msg":"stopped"/);
    } finally {
      if (alive(server)) process.kill(server, 'SIGKILL');
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
