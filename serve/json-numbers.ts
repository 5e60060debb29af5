// Float32 tensors as JSON numbers (v1's `tensor` format, OIP's JSON outputs): the number formatting of
// JSON.stringify over an Array.from copy was a third of an OIP JSON request's CPU time (bench/RESULTS.md, issue 16).

/** Stands for the numbers in the value given to jsonWithNumbers. */
export const NUMBERS = '\u0000float32 values\u0000';

/**
 * JSON.stringify(value) with the string NUMBERS, which must be the last string in `value`, written as
 * `values` in a JSON array. Float32Array's join prints each number as JSON.stringify does (the
 * shortest text that reads back the same; -0 as 0) in a third of the time. `values` must be finite
 * (the generator runner checks its outputs): join would print NaN and Infinity, which JSON has not.
 */
export function jsonWithNumbers(value: unknown, values: Float32Array): string {
  const text = JSON.stringify(value);
  const marker = JSON.stringify(NUMBERS);
  const at = text.lastIndexOf(marker); // the last: a client's own strings (an OIP id) come before
  return `${text.slice(0, at)}[${values.join(',')}]${text.slice(at + marker.length)}`;
}
