// Hostile or careless input to `onnxgan convert` (issue 29, 27): files that are not files, paths and
// links that leave the model's folder, graphs that dangle or loop, sizes that lie, and outputs that
// are inputs. Every case answers within seconds with one line, exit 1, and writes nothing.
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCli, type CliResult } from './helpers/cli.js';
import { GraphDefBuilder } from './helpers/graph-models.js';
import { tempDir } from './helpers/temp-dir.js';
import { saveLayersModel } from './helpers/tfjs-models.js';
import { expectRefusal, modelVariant, saveSmallModel } from './helpers/convert-cases.js';

const tmp = tempDir('onnxgan-convert-hostile-');
const L = tf.layers;
let good: string; // a functional LayersModel with 3 shards
let graph: string; // a GraphModel
let shards: string[];

/** The CLI, killed if it has not answered within `ms` (a hang is a failure, not a stuck test run). */
async function convert(args: string[], ms = 60_000): Promise<CliResult> {
  const { child, done } = startCli(['convert', ...args]);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const r = await done;
  clearTimeout(timer);
  expect(r.signal, `hung: onnxgan convert ${args.join(' ')}`).toBeNull();
  return r;
}

/** Fails with exit 1, one stderr line matching `pattern`, and no output file. */
async function refuses(model: string, pattern: RegExp, out = path.join(tmp, 'out', `${path.basename(model)}.onnx`)): Promise<void> {
  expectRefusal(await convert([model, '--out', out]), pattern);
  expect(existsSync(out), `${out} written`).toBe(false);
}

/** A copy of `from` changed by `edit` (model.json as an object, and the folder). */
const variant = (from: string, name: string, edit: (json: any, dir: string) => void): string =>
  modelVariant(from, path.join(tmp, name), edit);

const layersOf = (j: any): any[] => j.modelTopology.config.layers;
const mkfifo = (file: string): void => {
  rmSync(file, { force: true });
  execFileSync('mkfifo', [file]);
};

beforeAll(async () => {
  good = await saveSmallModel(path.join(tmp, 'good'));
  shards = JSON.parse(readFileSync(path.join(good, 'model.json'), 'utf8')).weightsManifest[0].paths;
  expect(shards.length).toBeGreaterThan(2);
  const g = new GraphDefBuilder(5);
  g.placeholder('z', [-1, 4]);
  g.op('mm', 'MatMul', ['z', g.constant('w', [4, 3])], { transpose_a: { b: false }, transpose_b: { b: false } });
  g.op('y', 'Relu', ['mm']);
  graph = path.join(tmp, 'graph');
  g.write(graph, { y: 'y' });
  mkdirSync(path.join(tmp, 'out'));
});

describe('convert reads only regular files', () => {
  it('converts the unbroken models, also through a linked folder and a link to a shard inside it', async () => {
    for (const m of [good, graph]) expect((await convert([m, '--out', path.join(tmp, 'out', `${path.basename(m)}.onnx`)])).code).toBe(0);
    const linked = variant(good, 'inner-link', (j, d) => {
      renameSync(path.join(d, shards[0]!), path.join(d, 'real.bin'));
      symlinkSync('real.bin', path.join(d, shards[0]!));
    });
    symlinkSync(linked, path.join(tmp, 'folder-link'));
    const r = await convert([path.join(tmp, 'folder-link'), '--out', path.join(tmp, 'out', 'linked.onnx')]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('refuses a FIFO, a folder, a device or a link loop as model.json or as a shard, without waiting', async () => {
    const fifo = path.join(tmp, 'model-fifo.json');
    mkfifo(fifo);
    await refuses(fifo, /model-fifo.json: a FIFO, not a regular file/);
    const jsonFifo = variant(good, 'json-fifo', () => {});
    mkfifo(path.join(jsonFifo, 'model.json'));
    await refuses(jsonFifo, /json-fifo\/model.json: a FIFO, not a regular file/);
    await refuses(
      variant(good, 'shard-fifo', (_, d) => mkfifo(path.join(d, shards[1]!))),
      new RegExp(`weight group 1: shard ${shards[1]}: a FIFO, not a regular file`),
    );
    await refuses(
      variant(good, 'shard-dir', (_, d) => (rmSync(path.join(d, shards[1]!)), mkdirSync(path.join(d, shards[1]!)))),
      new RegExp(`shard ${shards[1]}: a folder, not a regular file`),
    );
    const device = variant(
      good,
      'shard-device-link',
      (_, d) => (rmSync(path.join(d, shards[1]!)), symlinkSync('/dev/zero', path.join(d, shards[1]!))),
    );
    await refuses(device, /is a link to \/dev\/zero, outside the model's folder/);
    const loop = path.join(tmp, 'loop.json');
    symlinkSync('loop.json', loop);
    await refuses(loop, /loop.json: a symbolic link loop/);
    await refuses(
      variant(good, 'shard-loop', (_, d) => (rmSync(path.join(d, shards[2]!)), symlinkSync(shards[2]!, path.join(d, shards[2]!)))),
      /a symbolic link loop/,
    );
  });

  it('refuses files larger than a model can be before reading them', async () => {
    const huge = variant(good, 'huge-json', () => {});
    truncateSync(path.join(huge, 'model.json'), 200 * 2 ** 20); // sparse: no disk, no read
    await refuses(huge, /model.json: 209.7 MB, more than the 67.1 MB this reader takes/);
    const hugeShard = variant(good, 'huge-shard', (_, d) => truncateSync(path.join(d, shards[0]!), 3 * 2 ** 30));
    await refuses(hugeShard, /shard group1-shard1of\d+.bin: 3.2 GB, more than an ONNX file can hold/);
  });
});

describe('convert reads nothing outside the model folder', () => {
  it('refuses URLs, absolute paths and .. in the manifest', async () => {
    for (const [name, p, why] of [
      ['url', 'https://example.com/w.bin', /shard "https:\/\/example.com\/w.bin" is a URL/],
      ['file-url', 'file:///etc/passwd', /shard "file:\/\/\/etc\/passwd" is a URL/],
      ['absolute', path.join(good, shards[0]!), /is outside the model's folder/],
      ['dotdot', `../good/${shards[0]}`, /shard "..\/good\/.*" is outside the model's folder/],
      ['inner-dotdot', `sub/../${shards[0]}`, /is outside the model's folder/],
    ] as const) {
      await refuses(
        variant(good, `path-${name}`, (j) => (j.weightsManifest[0].paths[0] = p)),
        why,
      );
    }
  });

  it('refuses a shard that is a link (or lies in a linked folder) leading outside, even with the right bytes', async () => {
    const outside = path.join(tmp, 'elsewhere');
    mkdirSync(outside);
    cpSync(path.join(good, shards[1]!), path.join(outside, shards[1]!));
    await refuses(
      variant(
        good,
        'link-out',
        (_, d) => (rmSync(path.join(d, shards[1]!)), symlinkSync(path.join(outside, shards[1]!), path.join(d, shards[1]!))),
      ),
      new RegExp(`shard "${shards[1]}" is a link to .*elsewhere/${shards[1]}, outside the model's folder`),
    );
    await refuses(
      variant(good, 'dir-link-out', (j, d) => {
        symlinkSync(outside, path.join(d, 'sub'));
        j.weightsManifest[0].paths[1] = `sub/${shards[1]}`;
      }),
      /shard "sub\/.*" is a link to .*elsewhere.*, outside the model's folder/,
    );
  });
});

describe('convert checks the graph before tfjs builds it', () => {
  it('names a Keras layer call that dangles or loops', async () => {
    await refuses(
      variant(good, 'k-missing', (j) => (layersOf(j)[2].inbound_nodes = [[['ghost', 0, 0, {}]]])),
      /model "model\d*": layer "out" names layer "ghost", which the model does not have/,
    );
    await refuses(
      variant(good, 'k-index', (j) => (layersOf(j)[2].inbound_nodes = [[['hidden', 3, 0, {}]]])),
      /layer "out" takes call 3 of layer "hidden", which has 1/,
    );
    await refuses(
      variant(good, 'k-cycle', (j) => (layersOf(j)[1].inbound_nodes = [[['out', 0, 0, {}]]])),
      /its layers feed each other in a cycle: "hidden" -> "out" -> "hidden"|"out" -> "hidden" -> "out"/,
    );
    await refuses(
      variant(good, 'k-self', (j) => (layersOf(j)[2].inbound_nodes = [[['out', 0, 0, {}]]])),
      /cycle: "out" -> "out"/,
    );
    await refuses(
      variant(good, 'k-output', (j) => (j.modelTopology.config.output_layers = [['gone', 0, 0]])),
      /output_layers names layer "gone", which the model does not have/,
    );
    await refuses(
      variant(good, 'k-dup', (j) => (layersOf(j)[2].name = layersOf(j)[2].config.name = 'hidden')),
      /two layers are named "hidden"/,
    );
  });

  it('names a GraphDef node or signature tensor that dangles, and a cycle', async () => {
    const nodes = (j: any): any[] => j.modelTopology.node;
    const byName = (j: any, n: string): any => nodes(j).find((x) => x.name === n);
    await refuses(
      variant(graph, 'g-sig', (j) => (j.signature.inputs.z.name = 'ghost:0')),
      /signature input "z" is tensor "ghost:0", which no node of the graph produces/,
    );
    await refuses(
      variant(graph, 'g-sig-out', (j) => (j.signature.outputs.y.name = 'nothing:0')),
      /signature output "y" is tensor "nothing:0", which no node/,
    );
    await refuses(
      variant(graph, 'g-input', (j) => (byName(j, 'y').input = ['missing'])),
      /node \d of \d \("y", Relu\) takes input "missing", which no node of the graph produces/,
    );
    await refuses(
      variant(graph, 'g-control', (j) => (byName(j, 'y').input = ['mm', '^nowhere'])),
      /takes input "\^nowhere"/,
    );
    await refuses(
      variant(graph, 'g-cycle', (j) => (byName(j, 'mm').input = ['y', 'w'])),
      /the graph has a cycle \(TensorFlow control flow, not supported\): "(mm|y)" -> "(y|mm)" -> "\1"/,
    );
    await refuses(
      variant(graph, 'g-dup', (j) => nodes(j).push({ name: 'y', op: 'Identity', input: ['mm'] })),
      /two nodes are named "y"/,
    );
    await refuses(
      variant(graph, 'g-noname', (j) => nodes(j).push({ op: 'Identity', input: ['mm'] })),
      /node \d of \d has no name/,
    );
  });
});

describe('convert allocates nothing a declared size claims', () => {
  it('refuses absurd weight and tensor shapes in a few seconds', async () => {
    await refuses(
      variant(good, 'w-huge', (j) => (j.weightsManifest[0].weights[0].shape = [1e9, 1e9])),
      /weight "hidden\/kernel" \[1000000000,1000000000\] ends past the data/,
    );
    await refuses(
      variant(good, 'w-overflow', (j) => (j.weightsManifest[0].weights[0].shape = [2 ** 53, 2 ** 53])),
      /ends past the data|not a list of sizes/,
    );
    // tfjs would allocate (and fill) a layer's weights at their declared shapes before comparing them with the manifest.
    await refuses(
      variant(good, 'units-huge', (j) => (layersOf(j)[2].config.units = 1e9)),
      new RegExp(
        /layer "out" declares weight "kernel" of shape \[16, 1000000000\] /.source +
          /\(16000000000 values\), larger than any weight in the manifest /.source +
          /\(the largest has 128\)/.source,
      ),
    );
    await refuses(
      variant(good, 'units-big', (j) => (layersOf(j)[1].config.units = 2e7)),
      /layer "hidden" declares weight "kernel" of shape \[8, 20000000\]/,
    );
    // No weights at all: only the declared input size could make convert allocate.
    const x = tf.input({ shape: [100_000, 100_000], name: 'wide' });
    const dir = path.join(tmp, 'wide');
    await saveLayersModel(tf.model({ inputs: x, outputs: L.reLU().apply(x) as tf.SymbolicTensor }), dir);
    await refuses(dir, /tensor "wide" is declared \[N, 100000, 100000\]: more than 67108864 values/);
    const wideGraph = variant(graph, 'g-wide', (j) => {
      j.modelTopology.node.find((n: any) => n.name === 'z').attr.shape.shape.dim[1].size = '100000000000';
      j.signature.inputs.z.tensorShape.dim[1].size = '100000000000';
    });
    await refuses(wideGraph, /tensor "z" is declared \[N, 100000000000\]: more than 67108864 values/);
  });
});

describe('convert never writes over its input', () => {
  it('refuses --out naming model.json or a shard, by any spelling, link or hard link, and leaves them intact', async () => {
    const dir = variant(good, 'self', () => {});
    const before = new Map(readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f))]));
    symlinkSync(path.join(dir, 'model.json'), path.join(tmp, 'json-link.onnx'));
    linkSync(path.join(dir, shards[1]!), path.join(tmp, 'hard.onnx'));
    for (const [out, why] of [
      [path.join(dir, 'model.json'), /is the model.json being converted/],
      [`${dir}/../self/./model.json`, /is the model.json being converted/],
      [path.join(dir, shards[0]!), new RegExp(`is the weight shard .*${shards[0]} being converted`)],
      [path.join(tmp, 'json-link.onnx'), /is the model.json being converted/],
      [path.join(tmp, 'hard.onnx'), /is the weight shard .* being converted/],
      [dir, /--out .*self is a folder/],
    ] as const) {
      const r = await convert([dir, '--out', out]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim()).toMatch(why);
      expect(r.stderr.trim()).toMatch(/choose another --out|name the .onnx file/);
    }
    for (const [f, bytes] of before) expect(readFileSync(path.join(dir, f)).equals(bytes), f).toBe(true);
    expect(readdirSync(dir).sort()).toEqual([...before.keys()].sort());
  });

  it('on a full disk fails in one line and leaves no partial file or folder (a real small tmpfs; needs root)', async (ctx) => {
    const mnt = path.join(tmp, 'full');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      ctx.skip('cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)');
    }
    try {
      try {
        writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(1 << 20)); // as much as fits
      } catch {}
      const r = await convert([good, '--out', path.join(mnt, 'models', 'good.onnx')]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim()).toMatch(/^onnxgan convert: ENOSPC: no space left on device/);
      expect(readdirSync(mnt)).toEqual(['filler']);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('leaves no temporary file anywhere', () => {
    const all = readdirSync(tmp, { recursive: true }) as string[];
    expect(all.filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
