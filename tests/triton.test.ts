// `onnxgan triton`: the model repository it writes, and each config.pbtxt parsed against Triton's
// real ModelConfig schema (model_config.proto from triton-inference-server/common) by protobuf's own
// text-format parser (protoc + python3-protobuf). No package of the npm registry or Debian ships
// that .proto, so the schema test runs where TRITON_MODEL_CONFIG_PROTO names a copy of it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { writeTinyGenerator } from './helpers/tiny-generator.js';

const PYTHON = '/usr/bin/python3';
const PROTO = process.env.TRITON_MODEL_CONFIG_PROTO;
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

  it.skipIf(!PROTO)("each config.pbtxt parses against Triton's real model_config.proto", () => {
    expect(existsSync(PROTO!), `TRITON_MODEL_CONFIG_PROTO=${PROTO}`).toBe(true);
    const [cgan, colour, gan] = parseWithRealSchema(PROTO!, ['cgan', 'colour', 'gan'].map((m) => path.join(repo, m, 'config.pbtxt')));
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
      parameters: expect.objectContaining({ 'onnxgan.kind': { string_value: 'cgan' }, 'onnxgan.classes': { string_value: JSON.stringify([...'0123456789']) } }),
    });
    expect(gan).toMatchObject({ name: 'gan', input: [{ name: 'noise', data_type: 'TYPE_FP32', dims: ['100'] }] });
    expect(colour).toMatchObject({
      input: [{ dims: ['12'] }, { name: 'label' }],
      output: [{ dims: ['3', '16', '16'] }],
      parameters: expect.objectContaining({ 'onnxgan.classes': { string_value: JSON.stringify(['cat', 'dog "quoted"', 'émeu']) } }),
    });
  });

  it("a model that cannot be exported stops the run before anything is written", async () => {
    const bad = path.join(work, 'bad');
    mkdirSync(bad);
    copyFileSync(path.join(ROOT, 'models', 'gan.onnx'), path.join(bad, 'gan.onnx'));
    writeFileSync(path.join(bad, 'broken.onnx'), 'not onnx');
    writeTinyGenerator(path.join(bad, 'liar.onnx'), { props: { 'onnxgan.noise_dim': '9' } });
    const out = path.join(work, 'bad-repo');
    const r = await runCli(['triton', '--models', bad, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^onnxgan triton: 2 of 3 models cannot be exported, nothing written: broken\.onnx: not a valid ONNX file .*; liar\.onnx: metadata onnxgan\.noise_dim is 9 but input "noise" takes 8 values per row\n$/);
    expect(existsSync(out)).toBe(false);
    const empty = path.join(work, 'empty');
    mkdirSync(empty);
    expect((await runCli(['triton', '--models', empty, '--out', out])).stderr).toMatch(/no \.onnx models in/);
    expect((await runCli(['triton', '--models', models])).code).toBe(2); // --out is required
  });
});
