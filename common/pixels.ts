// Browser-safe pixel helpers shared by the PNG writer (Node) and the canvas (browser).

/** [-1, 1] -> 0..255 grey, the one quantisation every output path uses. */
export const toByte = (v: number): number => Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
