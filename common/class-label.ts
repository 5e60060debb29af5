// A class as people write it: a name ("Trouser", "7") or an index. The one resolver behind the
// element's label attribute, the demo page's ?label=, the generate API's "label" and the runner's
// check, so all of them take the same things and say the same when they refuse. Browser-safe.

/**
 * The class index `label` names: a class name first (a class may be called "7"), else an integer
 * index (a number, or a string of digits). Throws a RangeError naming what the model has.
 */
export function classIndex(classes: readonly string[], label: string | number): number {
  if (typeof label === 'string') {
    const named = classes.indexOf(label.normalize('NFC'));
    if (named >= 0) return named;
    if (!/^\s*-?\d+\s*$/.test(label)) throw new RangeError(`label "${label}" is not a class of this model (${classes.join(', ')})`);
  }
  const index = Number(label);
  if (!(Number.isInteger(index) && index >= 0 && index < classes.length)) {
    throw new RangeError(`label ${String(label).trim()} is out of range: this model has classes 0 to ${classes.length - 1}`);
  }
  return index;
}
