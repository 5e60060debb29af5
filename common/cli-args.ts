// Argument parsers for commander options, shared by every command.
import { InvalidArgumentError } from 'commander';

/** An integer in min..max. */
export const int =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER ? `expected an integer >= ${min}` : `expected an integer in ${min}..${max}`,
      );
    }
    return n;
  };

/** A number strictly between 0 and 1. */
export const fraction = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('expected a number between 0 and 1');
  return n;
};

/** A number in [0, 1): a lever's strength where 0 turns it off. */
export const fractionOrZero = (v: string): number => {
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('expected a number >= 0 and below 1 (0: off)');
  return n;
};

/** A finite number >= 0: a lever's weight where 0 turns it off (e.g. on --resume). */
export const nonNegative = (v: string): number => {
  const n = Number(v);
  if (!(n >= 0 && Number.isFinite(n))) throw new InvalidArgumentError('expected a number >= 0 (0: off)');
  return n;
};

/** A positive finite number (learning rates). */
export const positive = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && Number.isFinite(n))) throw new InvalidArgumentError('expected a positive number');
  return n;
};
