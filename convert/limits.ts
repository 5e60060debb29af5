// What convert reads and allocates at most: a model.json's declared sizes are checked against these
// before anything of that size is read or allocated, so a lie in the file costs an error, not memory.

/** model.json holds the topology only (weights are in the shards): tens of MB at the very most. */
export const MAX_MODEL_JSON_BYTES = 64 * 2 ** 20;
/** All shards together: an ONNX file (protobuf) cannot hold more than 2 GiB. */
export const MAX_WEIGHT_BYTES = 2 ** 31 - 1;
/** Values of one tensor convert itself makes (an inline constant, a batch of random inputs): 256 MB of float32. */
export const MAX_TENSOR_VALUES = 2 ** 26;

/** Product of a declared shape, or Infinity when it is not a list of sizes or passes `max` (no overflow). */
export function declaredValues(shape: readonly (number | null)[], max = MAX_TENSOR_VALUES): number {
  let n = 1;
  for (const d of shape) {
    if (d === null) continue;
    if (!Number.isInteger(d) || d < 0) return Infinity;
    n *= d;
    if (n > max) return Infinity;
  }
  return n;
}
