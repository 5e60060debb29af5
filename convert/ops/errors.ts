// The converters' errors: one line naming what is not supported and where.

/** A layer, op or configuration the converter has no ONNX mapping for. */
export class UnsupportedError extends Error {}
