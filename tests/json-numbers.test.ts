// serve/json-numbers.ts writes tensors as JSON numbers without JSON.stringify's per-number work:
// its text must be exactly JSON.stringify's, for every kind of float32.
import { describe, expect, it } from 'vitest';
import { jsonWithNumbers, NUMBERS } from '../serve/json-numbers.js';

describe('jsonWithNumbers', () => {
  it("writes the same text as JSON.stringify, for float32's awkward values", () => {
    const bits = new Uint32Array(4096);
    for (let i = 0; i < bits.length; i++) bits[i] = Math.imul(i + 1, 2654435761) >>> 0;
    const random = new Float32Array(bits.buffer).filter(Number.isFinite); // every exponent, sign and mantissa
    const awkward = new Float32Array([0, -0, 1, -1, 0.1, 1 / 3, 1e-45, -1.4e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, 16777217, 123456789, 1e21, 1e-7]);
    for (const values of [random, awkward, new Float32Array(0)]) {
      const value = { model: 'gan', seed: 7, label: null, shape: [values.length], data: NUMBERS };
      expect(jsonWithNumbers(value, values)).toBe(JSON.stringify({ ...value, data: Array.from(values) }));
      expect(JSON.parse(jsonWithNumbers(value, values)).data).toEqual(Array.from(values, (v) => (Object.is(v, -0) ? 0 : v)));
    }
  });

  it("puts the numbers in place of the last marker: a client's own string that equals it stays a string", () => {
    const values = new Float32Array([0.5, -2]);
    const text = jsonWithNumbers({ id: NUMBERS, outputs: [{ name: 'image', data: NUMBERS }] }, values);
    expect(JSON.parse(text)).toEqual({ id: NUMBERS, outputs: [{ name: 'image', data: [0.5, -2] }] });
  });
});
