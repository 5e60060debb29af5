// The Open Inference Protocol (KServe v2) REST API of `onnxgan serve`, checked with a client written
// from the specification against a real server and real models: the shipped gan and cgan, and a
// small colour generator. The spec's own example requests are sent as the spec writes them.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatorNoise } from '../common/rng.js';
import { startServer, type RunningServer } from '../serve/server.js';
import { fp32, le, OipClient, type ClientInput } from './helpers/oip-client.js';
import { tempDir } from './helpers/temp-dir.js';
import { writeTinyGenerator } from './helpers/tiny-generator.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const work = tempDir('onnxgan-oip-');
const models = path.join(work, 'models');
let srv: RunningServer;
let oip: OipClient;

beforeAll(async () => {
  mkdirSync(models);
  for (const m of ['gan', 'cgan']) copyFileSync(path.join(ROOT, 'models', `${m}.onnx`), path.join(models, `${m}.onnx`));
  writeTinyGenerator(path.join(models, 'colour.onnx'), { imageShape: [3, 8, 8], noiseDim: 5 });
  writeTinyGenerator(path.join(models, 'broken.onnx'), { props: { 'onnxgan.noise_dim': '7' }, noiseDim: 5 });
  srv = await startServer({ models, port: 0, logLevel: 'silent', maxBatch: 64, maxWaitMs: 100, webRoot: work });
  oip = new OipClient(srv.url);
});
afterAll(async () => {
  await srv?.close();
});

const noiseInput = (seed: number, rows: number, dim = 100): ClientInput => ({
  name: 'noise',
  shape: [rows, dim],
  datatype: 'FP32',
  data: Array.from(generatorNoise(seed, rows, dim)),
});
const v1Tensor = async (model: string, body: object): Promise<number[]> => {
  const r = await fetch(`${srv.url}/v1/models/${model}/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, format: 'tensor' }),
  });
  return (await r.json()).data;
};

describe('health and metadata', () => {
  it('server metadata names the binary tensor data extension', async () => {
    const r = await oip.get('/v2');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ name: 'onnxgan', version: expect.any(String), extensions: ['binary_tensor_data'] });
  });

  it('live and ready', async () => {
    expect((await oip.get('/v2/health/live')).status).toBe(200);
    const ready = await oip.get('/v2/health/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
  });

  it('model metadata: platform, versions, tensors with -1 for the batch', async () => {
    for (const path of ['/v2/models/cgan', '/v2/models/cgan/versions/1']) {
      const r = await oip.get(path);
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({
        name: 'cgan',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [
          { name: 'noise', datatype: 'FP32', shape: [-1, 100] },
          { name: 'label', datatype: 'INT64', shape: [-1, 1] },
        ],
        outputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 28, 28] }],
      });
    }
    const colour = await (await oip.get('/v2/models/colour')).json();
    expect(colour.inputs).toEqual([{ name: 'noise', datatype: 'FP32', shape: [-1, 5] }]);
    expect(colour.outputs).toEqual([{ name: 'image', datatype: 'FP32', shape: [-1, 3, 8, 8] }]);
  });

  it('model readiness, unknown models and versions, a model that failed to load', async () => {
    const ready = await oip.get('/v2/models/gan/ready');
    expect([ready.status, await ready.json()]).toEqual([200, { name: 'gan', ready: true }]);
    expect((await oip.get('/v2/models/gan/versions/1/ready')).status).toBe(200);
    for (const path of [
      '/v2/models/nope',
      '/v2/models/nope/ready',
      '/v2/models/gan/versions/2',
      '/v2/models/gan/versions/2/ready',
      '/v2/nothing/here',
    ]) {
      const r = await oip.get(path);
      expect(r.status, path).toBe(404);
      expect(typeof (await r.json()).error, path).toBe('string');
    }
    const failed = await oip.get('/v2/models/broken/ready');
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ name: 'broken', ready: false, error: expect.stringContaining('noise_dim') });
  });
});

describe('infer, JSON', () => {
  it('the same noise gives the same image as /v1 for the same seed; id echoed; outputs requested', async () => {
    const r = await oip.infer('gan', { id: '42', inputs: [noiseInput(7, 2)], outputs: [{ name: 'image' }] });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.json).toMatchObject({ model_name: 'gan', model_version: '1', id: '42' });
    const [out] = r.json.outputs!;
    expect(out).toMatchObject({ name: 'image', datatype: 'FP32', shape: [2, 1, 28, 28] });
    expect(out!.data).toEqual(await v1Tensor('gan', { seed: 7, count: 2 }));
  });

  it('conditional: labels [N] or [N, 1], nested or flat data, parameters accepted', async () => {
    const flat = await oip.infer('cgan', { inputs: [noiseInput(3, 3), { name: 'label', shape: [3], datatype: 'INT64', data: [7, 7, 7] }] });
    expect(flat.status).toBe(200);
    expect(flat.json.outputs![0]!.data).toEqual(await v1Tensor('cgan', { seed: 3, count: 3, label: 7 }));
    expect(flat.json.id).toBeUndefined();
    const noise = Array.from(generatorNoise(3, 3, 100));
    const nested = await oip.infer('cgan', {
      parameters: { note: 'ignored', priority: 1 },
      inputs: [
        { name: 'label', shape: [3, 1], datatype: 'INT64', data: [[7], [7], [7]] },
        {
          name: 'noise',
          shape: [3, 100],
          datatype: 'FP32',
          data: [noise.slice(0, 100), noise.slice(100, 200), noise.slice(200)],
          parameters: {},
        },
      ],
    });
    expect(nested.status).toBe(200);
    expect(nested.json.outputs![0]!.data).toEqual(flat.json.outputs![0]!.data);
  });

  it('a colour model returns [N, 3, H, W]', async () => {
    const r = await oip.infer('colour', { inputs: [noiseInput(1, 2, 5)] });
    expect(r.status).toBe(200);
    expect(r.json.outputs![0]).toMatchObject({ shape: [2, 3, 8, 8] });
    expect(r.json.outputs![0]!.data).toHaveLength(2 * 3 * 8 * 8);
  });

  it('concurrent requests share onnxruntime runs and get what they would alone', async () => {
    const seeds = Array.from({ length: 16 }, (_, i) => 500 + i);
    const alone = [];
    for (const s of seeds)
      alone.push(
        (await oip.infer('cgan', { inputs: [noiseInput(s, 1), { name: 'label', shape: [1], datatype: 'INT64', data: [s % 10] }] })).json
          .outputs![0]!.data,
      );
    const metric = async (): Promise<number> =>
      Number(/^onnxgan_batch_requests_count\{model="cgan"\} (\S+)$/m.exec(await (await fetch(`${srv.url}/metrics`)).text())?.[1] ?? 0);
    // Open the client's connection pool first: otherwise connection setup spreads the arrivals out.
    await Promise.all(seeds.map(async () => (await fetch(`${srv.url}/healthz`)).text()));
    const runsBefore = await metric();
    const together = await Promise.all(
      seeds.map((s) => oip.infer('cgan', { inputs: [noiseInput(s, 1), { name: 'label', shape: [1], datatype: 'INT64', data: [s % 10] }] })),
    );
    expect(together.map((r) => r.json.outputs![0]!.data)).toEqual(alone);
    expect((await metric()) - runsBefore).toBeLessThan(seeds.length);
  });
});

describe('infer, binary tensor data extension', () => {
  it('binary in, binary out: the same floats as JSON', async () => {
    const noise = generatorNoise(11, 2, 100);
    const json = await oip.infer('cgan', { inputs: [noiseInput(11, 2), { name: 'label', shape: [2], datatype: 'INT64', data: [1, 2] }] });
    const bin = await oip.infer('cgan', {
      inputs: [
        { name: 'noise', shape: [2, 100], datatype: 'FP32', binary: le('FP32', noise) },
        { name: 'label', shape: [2], datatype: 'INT64', binary: le('INT64', [1, 2]) },
      ],
      outputs: [{ name: 'image', parameters: { binary_data: true } }],
    });
    expect(bin.status).toBe(200);
    expect(bin.headers.get('content-type')).toBe('application/octet-stream');
    const out = bin.json.outputs![0]!;
    expect(out).toMatchObject({ name: 'image', datatype: 'FP32', shape: [2, 1, 28, 28], parameters: { binary_data_size: 2 * 784 * 4 } });
    expect(out.data).toBeUndefined();
    expect(Array.from(fp32(out.binary!))).toEqual(json.json.outputs![0]!.data);
  });

  it('mixed inputs, and binary_data_output for all outputs unless an output says otherwise', async () => {
    const inputs: ClientInput[] = [
      { name: 'noise', shape: [1, 100], datatype: 'FP32', binary: le('FP32', generatorNoise(5, 1, 100)) },
      { name: 'label', shape: [1], datatype: 'INT64', data: [4] },
    ];
    const all = await oip.infer('cgan', { parameters: { binary_data_output: true }, inputs });
    expect(all.json.outputs![0]!.binary).toHaveLength(784 * 4);
    const overridden = await oip.infer('cgan', {
      parameters: { binary_data_output: true },
      inputs,
      outputs: [{ name: 'image', parameters: { binary_data: false } }],
    });
    expect(overridden.headers.get('inference-header-content-length')).toBeNull();
    expect(overridden.json.outputs![0]!.data).toEqual(Array.from(fp32(all.json.outputs![0]!.binary!)));
  });
});

describe("the specification's own examples", () => {
  // inference_rest.md, "Inference Request Examples", sent to the gan as written: an error naming what is wrong.
  it('the JSON example request', async () => {
    const r = await oip.raw(
      'gan',
      `{
        "id" : "42",
        "inputs" : [
          { "name" : "input0", "shape" : [ 2, 2 ], "datatype" : "UINT32", "data" : [ 1, 2, 3, 4 ] },
          { "name" : "input1", "shape" : [ 3 ], "datatype" : "BOOL", "data" : [ true ] }
        ],
        "outputs" : [ { "name" : "output0" } ]
      }`,
    );
    expect(r.status).toBe(400);
    expect(Object.keys(r.json)).toEqual(['error']);
    expect(r.json.error).toMatch(/unknown input "input0".*noise FP32 \[-1, 100\]/);
  });

  // extension_binary_data.md, "Examples": 16 + 3 bytes of binary data after the JSON header.
  it('the binary example request', async () => {
    const header = Buffer.from(`{
      "model_name" : "mymodel",
      "inputs" : [
        { "name" : "input0", "shape" : [ 2, 2 ], "datatype" : "UINT32", "parameters" : { "binary_data_size" : 16 } },
        { "name" : "input1", "shape" : [ 3 ], "datatype" : "BOOL", "parameters" : { "binary_data_size" : 3 } }
      ],
      "outputs" : [ { "name" : "output0", "parameters" : { "binary_data" : true } } ]
    }`);
    const body = Buffer.concat([header, Buffer.from(new Uint32Array([1, 2, 3, 4]).buffer), Buffer.from([1, 0, 1])]);
    const r = await oip.raw('gan', body, {
      'Content-Type': 'application/octet-stream',
      'Inference-Header-Content-Length': String(header.length),
    });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/unknown input "input0"/);
  });

  it("the examples with this model's tensors succeed, shaped as the spec's responses", async () => {
    // The JSON example, with the gan's input and output in place of input0/input1 and output0.
    const json = await oip.raw('gan', JSON.stringify({ id: '42', inputs: [noiseInput(1, 1)], outputs: [{ name: 'image' }] }));
    expect(json.status).toBe(200);
    expect(Object.keys(json.json).sort()).toEqual(['id', 'model_name', 'model_version', 'outputs']);
    expect(Object.keys(json.json.outputs![0]!).sort()).toEqual(['data', 'datatype', 'name', 'shape']);
    // The binary example likewise: a model_name field in the request is allowed.
    const header = Buffer.from(
      JSON.stringify({
        model_name: 'gan',
        inputs: [{ name: 'noise', shape: [1, 100], datatype: 'FP32', parameters: { binary_data_size: 400 } }],
        outputs: [{ name: 'image', parameters: { binary_data: true } }],
      }),
    );
    const bin = await oip.raw('gan', Buffer.concat([header, le('FP32', generatorNoise(1, 1, 100))]), {
      'Content-Type': 'application/octet-stream',
      'Inference-Header-Content-Length': String(header.length),
    });
    expect(bin.status).toBe(200);
    expect(Number(bin.headers.get('content-length'))).toBe(Number(bin.headers.get('inference-header-content-length')) + 784 * 4);
    expect(Array.from(fp32(bin.json.outputs![0]!.binary!))).toEqual(json.json.outputs![0]!.data);
  });
});

describe('refused requests: 400/404/503 with {"error"}, never a 5xx', () => {
  const noise1 = (): ClientInput => noiseInput(1, 1);
  const label = (data: unknown[], shape = [data.length]): ClientInput => ({ name: 'label', shape, datatype: 'INT64', data });
  const cases: [string, string, Parameters<OipClient['infer']>[1], number, RegExp][] = [
    ['wrong datatype', 'gan', { inputs: [{ ...noise1(), datatype: 'FP64' }] }, 400, /datatype FP64, expected FP32/],
    ['an unknown datatype', 'gan', { inputs: [{ ...noise1(), datatype: 'FLOAT' as 'FP32' }] }, 400, /unknown datatype "FLOAT"/],
    [
      'shape of the wrong width',
      'gan',
      { inputs: [{ name: 'noise', shape: [1, 50], datatype: 'FP32', data: new Array(50).fill(0) }] },
      400,
      /shape \[1, 50\] does not match FP32 \[-1, 100\]/,
    ],
    [
      'data shorter than its shape',
      'gan',
      { inputs: [{ name: 'noise', shape: [2, 100], datatype: 'FP32', data: new Array(100).fill(0) }] },
      400,
      /100 values for shape \[2, 100\] \(200\)/,
    ],
    ['missing input', 'cgan', { inputs: [noise1()] }, 400, /missing input "label" \(INT64 \[-1, 1\]\)/],
    ['unknown input', 'gan', { inputs: [noise1(), label([1])] }, 400, /unknown input "label"/],
    ['an input twice', 'gan', { inputs: [noise1(), noise1()] }, 400, /given twice/],
    [
      'unknown output',
      'gan',
      { inputs: [noise1()], outputs: [{ name: 'logits' }] },
      400,
      /unknown output "logits" \(model outputs: image\)/,
    ],
    [
      'an absurd shape',
      'gan',
      { inputs: [{ name: 'noise', shape: [1e15, 100], datatype: 'FP32', data: [] }] },
      400,
      /1000000000000000 rows, more than the 64/,
    ],
    [
      'a shape past 2^53',
      'gan',
      { inputs: [{ name: 'noise', shape: [2 ** 60, 100], datatype: 'FP32', data: [] }] },
      400,
      /inputs\.0\.shape\.0/,
    ],
    [
      'a negative dimension',
      'gan',
      { inputs: [{ name: 'noise', shape: [-1, 100], datatype: 'FP32', data: [] }] },
      400,
      /inputs\.0\.shape\.0/,
    ],
    ['no rows', 'gan', { inputs: [{ name: 'noise', shape: [0, 100], datatype: 'FP32', data: [] }] }, 400, /no rows/],
    ['more rows than a request may hold', 'gan', { inputs: [noiseInput(1, 65)] }, 400, /65 rows, more than the 64/],
    ['label out of range', 'cgan', { inputs: [noise1(), label([10])] }, 400, /element 0 is 10, not a class index \(0\.\.9\)/],
    ['label not an integer', 'cgan', { inputs: [noise1(), label([1.5])] }, 400, /not a class index/],
    [
      'label rows differ from noise rows',
      'cgan',
      { inputs: [noise1(), label([1, 2])] },
      400,
      /shape \[2\] does not match the 1 row of "noise"/,
    ],
    [
      'a string in FP32 data',
      'gan',
      { inputs: [{ name: 'noise', shape: [1, 100], datatype: 'FP32', data: ['0.5', ...new Array(99).fill(0)] }] },
      400,
      /element 0 is "0.5", expected a number/,
    ],
    [
      'nested deeper than the shape',
      'gan',
      { inputs: [{ name: 'noise', shape: [1, 100], datatype: 'FP32', data: [[new Array(100).fill(0)]] }] },
      400,
      /nested deeper/,
    ],
    ['no inputs', 'gan', { inputs: [] }, 400, /inputs: Too small/],
    ['an id that is not a string', 'gan', { id: 42 as unknown as string, inputs: [noise1()] }, 400, /^id:/],
    [
      'binary_data not a boolean',
      'gan',
      { inputs: [noise1()], outputs: [{ name: 'image', parameters: { binary_data: 'yes' } }] },
      400,
      /binary_data must be true or false/,
    ],
    [
      'binary data of the wrong length',
      'gan',
      { inputs: [{ name: 'noise', shape: [1, 100], datatype: 'FP32', binary: new Uint8Array(396) }] },
      400,
      /binary_data_size 396 does not match shape \[1, 100\] of FP32 \(400 bytes\)/,
    ],
    [
      'NaN in binary noise',
      'gan',
      { inputs: [{ name: 'noise', shape: [1, 100], datatype: 'FP32', binary: le('FP32', [NaN, ...new Array(99).fill(0)]) }] },
      400,
      /element 0 is NaN, expected a finite number/,
    ],
    ['unknown model', 'nope', { inputs: [noise1()] }, 404, /no model "nope"/],
    ['a model that failed to load', 'broken', { inputs: [noise1()] }, 503, /failed to load/],
  ];
  it.each(cases)('%s', async (_title, model, request, status, message) => {
    const r = await oip.infer(model, request);
    expect(r.status).toBe(status);
    expect(Object.keys(r.json)).toEqual(['error']);
    expect(r.json.error).toMatch(message);
  });

  it('unknown version', async () => {
    const r = await oip.infer('gan', { inputs: [noiseInput(1, 1)] }, '3');
    expect([r.status, r.json.error]).toEqual([404, 'model "gan" has no version "3" (versions: 1)']);
    expect((await oip.infer('gan', { inputs: [noiseInput(1, 1)] }, '1')).status).toBe(200);
  });

  it('binary framing: header length past the body, sizes past the end, bytes left over, data and binary both', async () => {
    const header = Buffer.from(
      JSON.stringify({ inputs: [{ name: 'noise', shape: [1, 100], datatype: 'FP32', parameters: { binary_data_size: 400 } }] }),
    );
    /** A header whose noise input declares `size` binary bytes and `shape`. */
    const lying = (size: number, shape = [1, 100]): Buffer =>
      Buffer.from(JSON.stringify({ inputs: [{ name: 'noise', shape, datatype: 'FP32', parameters: { binary_data_size: size } }] }));
    const bin = (body: Buffer, length: string) =>
      oip.raw('gan', body, { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': length });
    const cases: [Promise<Awaited<ReturnType<typeof bin>>>, RegExp][] = [
      [
        bin(Buffer.concat([header, Buffer.alloc(400)]), String(header.length + 401)),
        /Inference-Header-Content-Length "\d+" must be a byte count within/,
      ],
      [bin(Buffer.concat([header, Buffer.alloc(400)]), 'ten'), /Inference-Header-Content-Length "ten"/],
      [
        bin(Buffer.concat([header, Buffer.alloc(399)]), String(header.length)),
        /binary_data_size 400 runs past the end of the body \(399 bytes/,
      ],
      [
        bin(Buffer.concat([header, Buffer.alloc(404)]), String(header.length)),
        /holds 404 bytes of binary tensor data but the inputs' binary_data_size add up to 400/,
      ],
      [bin(Buffer.concat([header, Buffer.alloc(400)]), String(header.length - 1)), /malformed JSON in the \d+-byte inference header/],
      [
        oip.raw('gan', JSON.stringify({ inputs: [{ ...noiseInput(1, 1), parameters: { binary_data_size: 400 } }] })),
        /has both "data" and binary_data_size/,
      ],
      [
        oip.raw('gan', JSON.stringify({ inputs: [{ name: 'noise', shape: [1, 100], datatype: 'FP32' }] })),
        /neither "data" nor binary_data_size/,
      ],
      [oip.raw('gan', '{"inputs": [ '), /malformed JSON/],
      // Lies and overflows: refused from the numbers, nothing allocated for what they declare.
      [bin(Buffer.concat([header, Buffer.alloc(400)]), '9'.repeat(30)), /Inference-Header-Content-Length "9+" must be a byte count within/],
      [bin(Buffer.concat([header, Buffer.alloc(400)]), '-1'), /Inference-Header-Content-Length "-1"/],
      [bin(Buffer.concat([header, Buffer.alloc(400)]), `${header.length}, ${header.length}`), /Inference-Header-Content-Length "\d+, \d+"/],
      [
        bin(Buffer.concat([lying(2 ** 60), Buffer.alloc(400)]), String(lying(2 ** 60).length)),
        /binary_data_size 11529\d+ runs past the end of the body \(400 bytes/,
      ],
      [bin(Buffer.concat([lying(1e308), Buffer.alloc(400)]), String(lying(1e308).length)), /binary_data_size 1e\+308 runs past the end/],
      [bin(Buffer.concat([lying(-400), Buffer.alloc(400)]), String(lying(-400).length)), /binary_data_size must be a byte count, got -400/],
      [
        bin(Buffer.concat([lying(400, [64, 100]), Buffer.alloc(400)]), String(lying(400, [64, 100]).length)),
        /binary_data_size 400 does not match shape \[64, 100\] of FP32 \(25600 bytes\)/,
      ],
      [
        bin(Buffer.concat([lying(400, [1, 100, 1]), Buffer.alloc(400)]), String(lying(400, [1, 100, 1]).length)),
        /shape \[1, 100, 1\] does not match FP32 \[-1, 100\]/,
      ],
      [
        bin(Buffer.concat([lying(400, [1, 2 ** 40]), Buffer.alloc(400)]), String(lying(400, [1, 2 ** 40]).length)),
        /shape \[1, 1099511627776\] does not match/,
      ],
      [oip.raw('gan', '[1, 2]'), /^request: /],
    ];
    for (const [response, message] of cases) {
      const r = await response;
      expect(r.status, String(message)).toBe(400);
      expect(r.json.error).toMatch(message);
    }
  });

  it('an oversized body is 413, and nothing above answered 5xx', async () => {
    const r = await oip.raw('gan', Buffer.alloc(2 * 1024 * 1024, 32));
    expect(r.status).toBe(413);
    expect(r.json.error).toMatch(/larger than the \d+ byte limit/);
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    expect(text).toMatch(/onnxgan_http_requests_total\{route="\/v2\/models\/:name\/infer",method="POST",status="400"\} [1-9]/);
    expect(text).not.toMatch(/status="5(?!03)\d\d"/); // 503 only for the model that failed to load
  });
});
