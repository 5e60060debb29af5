// `onnxgan triton`: the model repository it writes, each config.pbtxt parsed against Triton's
// real ModelConfig schema (tests/fixtures/model_config.proto, copied from
// triton-inference-server/common@83adf7cf88a2f343005974dff3728be746de2d66; no package of the npm
// registry or Debian ships it) by protobuf's own text-format parser (protoc + python3-protobuf),
// docs/serve.md's /v2 requests checked against those configs and sent to `onnxgan serve`, and a write
// on a full disk that leaves the repository as it was.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, startCli } from './helpers/cli.js';
import { docShBlocks } from './helpers/doc-blocks.js';
import { tempDir } from './helpers/temp-dir.js';
import { writeTinyGenerator } from './helpers/tiny-generator.js';

const PYTHON = '/usr/bin/python3';
const PROTO = process.env.TRITON_MODEL_CONFIG_PROTO ?? path.join(ROOT, 'tests', 'fixtures', 'model_config.proto');
const work = tempDir('onnxgan-triton-');
const models = path.join(work, 'models');
mkdirSync(models);
for (const m of ['gan', 'cgan']) copyFileSync(path.join(ROOT, 'models', `${m}.onnx`), path.join(models, `${m}.onnx`));
writeTinyGenerator(path.join(models, 'colour.onnx'), { imageShape: [3, 16, 16], noiseDim: 12, classes: ['cat', 'dog "quoted"', 'émeu'] });

/** Each config parsed by protobuf's text_format into inference.ModelConfig, as JSON (field names as in the .proto). */
function parseWithRealSchema(proto: string, configs: string[]): Record<string, unknown>[] {
  const gen = path.join(work, 'pb');
  mkdirSync(gen, { recursive: true });
  copyFileSync(proto, path.join(gen, 'model_config.proto'));
  execFileSync('protoc', [`--proto_path=${gen}`, `--python_out=${gen}`, path.join(gen, 'model_config.proto')]);
  const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(gen)})
import model_config_pb2
from google.protobuf import text_format, json_format
out = []
for f in sys.argv[1:]:
    msg = text_format.Parse(open(f, encoding='utf-8').read(), model_config_pb2.ModelConfig())
    out.append(json_format.MessageToDict(msg, preserving_proto_field_name=True))
print(json.dumps(out))
`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, ...configs], { encoding: 'utf8' }));
}

describe('onnxgan triton', () => {
  const repo = path.join(work, 'repo');

  it('writes NAME/config.pbtxt and NAME/1/model.onnx for every model', async () => {
    mkdirSync(path.join(repo, 'other-model'), { recursive: true }); // an entry of someone else's: kept
    const r = await runCli(['triton', '--models', models, '--out', repo, '--max-batch', '32', '--max-wait-ms', '1.5', '--instances', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 models\. Serve it with: tritonserver --model-repository=/);
    expect(readdirSync(repo).sort()).toEqual(['cgan', 'colour', 'gan', 'other-model']);
    for (const m of ['gan', 'cgan', 'colour']) {
      expect(readFileSync(path.join(repo, m, '1', 'model.onnx')).equals(readFileSync(path.join(models, `${m}.onnx`)))).toBe(true);
      expect(readdirSync(path.join(repo, m)).sort()).toEqual(['1', 'config.pbtxt']);
    }
  });

  it("each config.pbtxt parses against Triton's real model_config.proto", () => {
    expect(existsSync(PROTO), PROTO).toBe(true);
    const [cgan, colour, gan] = parseWithRealSchema(
      PROTO,
      ['cgan', 'colour', 'gan'].map((m) => path.join(repo, m, 'config.pbtxt')),
    );
    expect(cgan).toEqual({
      name: 'cgan',
      platform: 'onnxruntime_onnx',
      max_batch_size: 32,
      input: [
        { name: 'noise', data_type: 'TYPE_FP32', dims: ['100'] },
        { name: 'label', data_type: 'TYPE_INT64', dims: ['1'], reshape: {} },
      ],
      output: [{ name: 'image', data_type: 'TYPE_FP32', dims: ['1', '28', '28'] }],
      dynamic_batching: { max_queue_delay_microseconds: '1500' },
      instance_group: [{ count: 2, kind: 'KIND_CPU' }],
      parameters: expect.objectContaining({
        'onnxgan.kind': { string_value: 'cgan' },
        'onnxgan.classes': { string_value: JSON.stringify([...'0123456789']) },
      }),
    });
    expect(gan).toMatchObject({ name: 'gan', input: [{ name: 'noise', data_type: 'TYPE_FP32', dims: ['100'] }] });
    expect(colour).toMatchObject({
      input: [{ dims: ['12'] }, { name: 'label' }],
      output: [{ dims: ['3', '16', '16'] }],
      parameters: expect.objectContaining({ 'onnxgan.classes': { string_value: JSON.stringify(['cat', 'dog "quoted"', 'émeu']) } }),
    });
  });

  it('a model that cannot be exported stops the run before anything is written', async () => {
    const bad = path.join(work, 'bad');
    mkdirSync(bad);
    copyFileSync(path.join(ROOT, 'models', 'gan.onnx'), path.join(bad, 'gan.onnx'));
    writeFileSync(path.join(bad, 'broken.onnx'), 'not onnx');
    writeTinyGenerator(path.join(bad, 'liar.onnx'), { props: { 'onnxgan.noise_dim': '9' } });
    const out = path.join(work, 'bad-repo');
    const r = await runCli(['triton', '--models', bad, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        /^onnxgan triton: 2 of 3 models cannot be exported, nothing written: /.source +
          /broken\.onnx: not a valid ONNX file .*; liar\.onnx: metadata /.source +
          /onnxgan\.noise_dim is 9 but input "noise" takes 8 values per /.source +
          /row\n$/.source,
      ),
    );
    expect(existsSync(out)).toBe(false);
    const empty = path.join(work, 'empty');
    mkdirSync(empty);
    expect((await runCli(['triton', '--models', empty, '--out', out])).stderr).toMatch(/no \.onnx models in/);
    expect((await runCli(['triton', '--models', models])).code).toBe(2); // --out is required
  });

  it("docs/serve.md's /v2 requests, sent to onnxgan serve, are what each written config.pbtxt declares (dims and reshape)", async () => {
    const cli = startCli(['serve', '--models', models, '--port', '0', '--log-format', 'json', '--no-access-log']);
    try {
      let log = '';
      cli.child.stdout!.on('data', (d: Buffer) => (log += d));
      const url = await new Promise<string>((resolve, reject) => {
        const poll = setInterval(() => {
          const m = /"url":"http:\/\/([^"]+)".*"msg":"listening"/.exec(log);
          if (m) resolve(m[1]!);
        }, 50);
        void cli.done.then((r) => reject(new Error(`serve exited: ${r.stderr}`))).finally(() => clearInterval(poll));
        setTimeout(() => clearInterval(poll), 30_000);
      });
      // The docs' block as written, its curl calls recorded (argv) and answered by this server.
      const block = docShBlocks('Open Inference Protocol (KServe v2)').find((b) => /\/v2\/models\/\w+\/infer/.test(b));
      expect(block, 'docs/serve.md: the sh block with a /v2 infer request').toBeDefined();
      const calls = path.join(work, 'curl-calls');
      mkdirSync(calls);
      const script =
        `n=0; curl() { n=$((n+1)); printf '%s\\0' "$@" > "${calls}/$n"; command curl -sS -w ` +
        `'\\n%{http_code}\\n' "$@"; }\n${block!.replaceAll('localhost:8080', url)}`;
      const out = execFileSync('bash', ['-c', script], { encoding: 'utf8' }).trimEnd().split('\n');
      const configs = Object.fromEntries(
        parseWithRealSchema(
          PROTO,
          ['gan', 'cgan', 'colour'].map((m) => path.join(repo, m, 'config.pbtxt')),
        ).map((c) => [c.name, c as unknown as TritonConfig]),
      );
      const dims = (t: TritonTensor): number[] => (t.dims ?? []).map(Number);
      const asServed = (t: TritonTensor) => ({ name: t.name, datatype: t.data_type.replace(/^TYPE_/, ''), shape: [-1, ...dims(t)] });
      const sent = readdirSync(calls).sort((a, b) => Number(a) - Number(b));
      expect(out).toHaveLength(2 * sent.length);
      let labels = 0;
      for (const [i, call] of sent.entries()) {
        const argv = readFileSync(path.join(calls, call), 'utf8').split('\0').slice(0, -1);
        const [, model, infer] = /\/v2\/models\/([^/]+)(\/infer)?$/.exec(argv.find((a) => a.includes('/v2/'))!)!;
        const config = configs[model!]!;
        const [body, status] = [JSON.parse(out[2 * i]!), out[2 * i + 1]];
        expect(status, out[2 * i]).toBe('200');
        if (!infer) {
          // Metadata: the shapes Triton reports for this config.
          expect(body).toMatchObject({ inputs: config.input.map(asServed), outputs: config.output.map(asServed) });
          continue;
        }
        const request = JSON.parse(argv[argv.indexOf('-d') + 1]!) as {
          inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[];
        };
        expect(request.inputs.map((t) => t.name).sort()).toEqual(config.input.map((t) => t.name).sort());
        const rows = request.inputs[0]!.shape[0]!;
        const graph = await InferenceSession.create(path.join(repo, model!, '1', 'model.onnx'));
        try {
          for (const t of request.inputs) {
            const declared = config.input.find((c) => c.name === t.name)!;
            // Triton's check: the datatype, then [batch <= max_batch_size, ...dims].
            expect(`TYPE_${t.datatype}`, t.name).toBe(declared.data_type);
            expect(t.shape, t.name).toEqual([rows, ...dims(declared)]);
            expect(rows).toBeLessThanOrEqual(config.max_batch_size);
            expect(t.data.flat(Infinity), t.name).toHaveLength(t.shape.reduce((a, b) => a * b, 1));
            // What the graph receives: the reshape (without the batch) when there is one, else the dims.
            const modelShape = declared.reshape ? (declared.reshape.shape ?? []).map(Number) : dims(declared);
            const input = graph.inputMetadata.find((m) => m.name === t.name)!;
            expect(input.isTensor && input.shape.slice(1), t.name).toEqual(modelShape);
            if (t.name === 'label') labels++;
          }
        } finally {
          await graph.release();
        }
        expect(
          body.outputs.map((o: { name: string; datatype: string; shape: number[] }) => ({
            name: o.name,
            datatype: o.datatype,
            shape: o.shape,
          })),
        ).toEqual(config.output.map((t) => ({ ...asServed(t), shape: [rows, ...dims(t)] })));
      }
      expect(labels, "the docs' requests include a label").toBeGreaterThan(0);
      // And the conditional model's metadata, which the docs' block does not ask for.
      const cgan = await (await fetch(`http://${url}/v2/models/cgan`)).json();
      expect(cgan).toMatchObject({ inputs: configs.cgan!.input.map(asServed), outputs: configs.cgan!.output.map(asServed) });
      expect(cgan.inputs[1]).toEqual({ name: 'label', datatype: 'INT64', shape: [-1, 1] });
    } finally {
      cli.child.kill('SIGTERM');
      await cli.done;
    }
  });

  it('a full disk leaves the repository as it was: no partial or staged folder, the old models back', async (ctx) => {
    const disk = path.join(work, 'small-disk');
    mkdirSync(disk);
    try {
      // 1 MiB: room for an old tiny model and the cgan (0.6 MB), not the gan as well (1.2 MB).
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk], { stdio: 'pipe' });
    } catch (e) {
      return ctx.skip(
        `cannot mount a small tmpfs here (needs root with CAP_SYS_ADMIN): ` +
          `${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message}`,
      );
    }
    try {
      const before = path.join(work, 'before');
      mkdirSync(before);
      writeTinyGenerator(path.join(before, 'gan.onnx'));
      const repoOnDisk = path.join(disk, 'repo');
      expect((await runCli(['triton', '--models', before, '--out', repoOnDisk])).code).toBe(0);
      mkdirSync(path.join(repoOnDisk, 'other-model'));
      writeFileSync(path.join(repoOnDisk, 'other-model', 'keep.txt'), 'kept');
      const oldConfig = readFileSync(path.join(repoOnDisk, 'gan', 'config.pbtxt'));
      const oldModel = readFileSync(path.join(repoOnDisk, 'gan', '1', 'model.onnx'));
      const real = path.join(work, 'real');
      mkdirSync(real);
      for (const m of ['cgan', 'gan']) copyFileSync(path.join(ROOT, 'models', `${m}.onnx`), path.join(real, `${m}.onnx`));

      const r = await runCli(['triton', '--models', real, '--out', repoOnDisk]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `onnxgan triton: cannot write the model repository ${repoOnDisk}: no space left on the device; it is left as it was\n`,
      );
      expect(readdirSync(repoOnDisk).sort()).toEqual(['gan', 'other-model']);
      expect(readFileSync(path.join(repoOnDisk, 'gan', 'config.pbtxt')).equals(oldConfig)).toBe(true);
      expect(readFileSync(path.join(repoOnDisk, 'gan', '1', 'model.onnx')).equals(oldModel)).toBe(true);
      expect(readdirSync(path.join(repoOnDisk, 'gan')).sort()).toEqual(['1', 'config.pbtxt']);

      // A repository this run would have created is not left behind either.
      const fresh = path.join(disk, 'new', 'repo');
      const f = await runCli(['triton', '--models', real, '--out', fresh]);
      expect(f.code).toBe(1);
      expect(f.stderr).toMatch(/no space left on the device/);
      expect(readdirSync(disk).sort()).toEqual(['repo']);
    } finally {
      execFileSync('umount', [disk]);
    }
  });
});

interface TritonTensor {
  name: string;
  data_type: string;
  dims?: string[];
  reshape?: { shape?: string[] };
}
interface TritonConfig {
  name: string;
  max_batch_size: number;
  input: TritonTensor[];
  output: TritonTensor[];
}
