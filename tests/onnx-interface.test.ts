// The one ONNX interface reader (common/onnx-interface.ts, no protobuf library) against bytes that
// protobufjs (onnx-proto) encoded: what it reads, and that any truncation is a clear error.
import { describe, expect, it } from 'vitest';
import { onnx } from '../common/onnx-graph.js';
import { readOnnxInterface } from '../common/onnx-interface.js';

const T = onnx.TensorProto.DataType;
const tensor = (name: string, elemType: number, dims: ({ dimValue: number } | { dimParam: string } | object)[] | null) => ({
  name,
  type: { tensorType: { elemType, ...(dims && { shape: { dim: dims } }) } },
});

// IR 3: the weight `w` is listed among the inputs too, and is no part of the interface.
const bytes = onnx.ModelProto.encode({
  irVersion: 3,
  producerName: 'tester',
  producerVersion: '1.0',
  opsetImport: [
    { domain: '', version: 13 },
    { domain: 'com.example', version: 2 },
  ],
  graph: {
    initializer: [{ name: 'w', dims: [2], dataType: T.FLOAT, rawData: new Uint8Array(8) }],
    input: [
      tensor('x', T.FLOAT, [{ dimParam: 'batch' }, { dimValue: -1 }, {}, { dimValue: 0 }]),
      tensor('w', T.FLOAT, [{ dimValue: 2 }]),
      tensor('ids', T.INT64, null),
      { name: 'seq', type: { sequenceType: { elemType: { tensorType: { elemType: T.FLOAT } } } } },
    ],
    output: [tensor('y', T.BFLOAT16, [{ dimValue: 3 }])],
    node: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
  },
  metadataProps: [
    { key: 'ünï', value: 'çødé ✓' },
    { key: 'empty', value: '' },
  ],
}).finish();

describe('readOnnxInterface', () => {
  it('reads the interface, opsets, producer and metadata_props', () => {
    expect(readOnnxInterface(bytes)).toEqual({
      irVersion: 3,
      opset: 13,
      opsets: [
        { domain: '', version: 13 },
        { domain: 'com.example', version: 2 },
      ],
      producer: 'tester 1.0',
      inputs: [
        { name: 'x', dtype: 'float32', shape: ['batch', -1, '?', 0] },
        { name: 'ids', dtype: 'int64', shape: null },
        { name: 'seq', dtype: 'sequence', shape: null },
      ],
      outputs: [{ name: 'y', dtype: 'bfloat16', shape: [3] }],
      props: { ünï: 'çødé ✓', empty: '' },
    });
  });

  it('refuses every truncation, text and a model without a graph in one line', () => {
    // Each prefix either fails with the reason or reads as a smaller model; nothing else escapes.
    for (let n = 0; n < bytes.length; n++) {
      try {
        readOnnxInterface(bytes.subarray(0, n));
      } catch (e) {
        expect((e as Error).message, `prefix of ${n} bytes`).toMatch(
          /^not a valid ONNX file \((truncated (field|varint)|no graph|unsupported wire type \d)\)$/,
        );
      }
    }
    expect(() => readOnnxInterface(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
    expect(() => readOnnxInterface(new TextEncoder().encode('{"format": 1}'))).toThrow(
      /^not a valid ONNX file \(unsupported wire type 3\)$/,
    );
    expect(() => readOnnxInterface(onnx.ModelProto.encode({ irVersion: 8 }).finish())).toThrow('not a valid ONNX file (no graph)');
  });
});
