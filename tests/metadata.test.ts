// The metadata contract: what export writes reads back; wrong JSON types are refused with the key named.
import { describe, expect, it } from 'vitest';
import { DIGIT_CLASSES, metadataFromProps, metadataToProps, type ModelMetadata } from '../common/metadata.js';

const cgan: ModelMetadata = {
  kind: 'cgan',
  noiseDim: 100,
  noise: 'uniform(-1,1)',
  classes: DIGIT_CLASSES,
  dataset: 'mnist',
  epochs: 3,
  steps: 90,
  valueRange: [-1, 1],
  imageShape: [3, 32, 24],
  ema: 0.999,
};

describe('model metadata', () => {
  it('round-trips, and files from before image_shape are the digits [1, 28, 28]', () => {
    expect(metadataFromProps(metadataToProps(cgan))).toEqual(cgan);
    const props = metadataToProps(cgan);
    delete props['onnxgan.image_shape'];
    expect(metadataFromProps(props).imageShape).toEqual([1, 28, 28]);
  });

  it('refuses values of the wrong JSON type, naming the key', () => {
    const bad: [string, string, RegExp][] = [
      ['onnxgan.classes', '{"a":1}', /bad onnxgan\.classes/],
      ['onnxgan.classes', '[1,2]', /bad onnxgan\.classes/],
      ['onnxgan.classes', '[', /bad onnxgan\.classes: not JSON/],
      ['onnxgan.image_shape', '[2,28,28]', /bad onnxgan\.image_shape/],
      ['onnxgan.image_shape', '[1,28]', /bad onnxgan\.image_shape/],
      ['onnxgan.value_range', '"x"', /bad onnxgan\.value_range/],
      ['onnxgan.noise_dim', 'ten', /bad onnxgan\.noise_dim/],
    ];
    for (const [key, value, message] of bad)
      expect(() => metadataFromProps({ ...metadataToProps(cgan), [key]: value }), `${key}=${value}`).toThrow(message);
  });
});

describe('informational metadata', () => {
  it('a malformed informational field is dropped with the reason; the runnable ones stay strict', () => {
    const props = {
      ...metadataToProps(cgan),
      'onnxgan.epochs': 'many',
      'onnxgan.steps': '-3',
      'onnxgan.dataset': 'a\u0007b',
      'onnxgan.ema': '1.5',
    };
    const meta = metadataFromProps(props);
    expect(meta).toMatchObject({ kind: 'cgan', noiseDim: 100, noise: 'uniform(-1,1)' });
    expect([meta.epochs, meta.steps, meta.dataset, meta.ema]).toEqual([undefined, undefined, undefined, undefined]);
    expect(meta.dropped?.map((d) => d.key)).toEqual(['onnxgan.dataset', 'onnxgan.epochs', 'onnxgan.steps', 'onnxgan.ema']);
    expect(meta.dropped?.[1]?.reason).toBe('expected a whole number, got "many"');
    expect(metadataFromProps(metadataToProps(cgan)).dropped).toBeUndefined();
    expect(() => metadataFromProps({ ...props, 'onnxgan.value_range': '[1, -1]' })).toThrow(/bad onnxgan\.value_range \[1, -1\]/);
  });
});
