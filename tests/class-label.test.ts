// The one class-label resolver (common/class-label.ts) that the element, the demo page and the
// generate API share: names first, then indexes, and a refusal that names what the model has.
import { describe, expect, it } from 'vitest';
import { classIndex } from '../common/class-label.js';

const FASHION = ['T-shirt/top', 'Trouser', 'Pullover'];
const ODD = ['cat', '0', 'dog']; // a class called "0" that is not class 0

describe('classIndex', () => {
  it('takes a name, else an index written as a number or as digits', () => {
    expect(classIndex(FASHION, 'Trouser')).toBe(1);
    expect(classIndex(FASHION, 2)).toBe(2);
    expect(classIndex(FASHION, '2')).toBe(2);
    expect(classIndex(ODD, '0')).toBe(1);
    expect(classIndex(ODD, 0)).toBe(0);
    expect(classIndex(['café'], 'cafe\u0301')).toBe(0); // NFD typed, NFC stored
  });

  it('refuses with the reason and what the model has', () => {
    expect(() => classIndex(FASHION, 'Sandwich')).toThrow('label "Sandwich" is not a class of this model (T-shirt/top, Trouser, Pullover)');
    expect(() => classIndex(FASHION, 'trouser')).toThrow(/not a class/);
    for (const bad of [3, -1, '3', '-1', 1.5])
      expect(() => classIndex(FASHION, bad)).toThrow(`label ${bad} is out of range: this model has classes 0 to 2`);
    expect(() => classIndex(FASHION, '1.0')).toThrow(/not a class/);
  });
});
