// How many columns a grid of images gets when the caller does not say: the one rule shared by the
// server's grid PNG (common/png.ts), the <onnx-gan> element and the demo page (web-demo/). No Node
// or DOM imports: it runs in the browser too.

/** A single row of up to this many images still reads well; wider grids stay near square. */
const MAX_ROW = 8;

/**
 * Columns for `count` images: every row full when a grid at most max(8, twice the square's width)
 * wide allows it (8 -> 4x2, 12 -> 4x3, 7 -> 7x1, 14 -> 7x2), else the fewest empty cells, all in the
 * last row (11 -> 4x3, 13 -> 7x2, 17 -> 6x3); among equals the squarest. Never more rows than columns.
 */
export function gridColumns(count: number): number {
  const n = Number.isFinite(count) && count >= 1 ? Math.floor(count) : 1;
  const widest = Math.min(n, Math.max(MAX_ROW, 2 * Math.ceil(Math.sqrt(n))));
  let best = { cols: widest, empty: Infinity };
  for (let cols = Math.ceil(Math.sqrt(n)); cols <= widest; cols++) {
    const empty = Math.ceil(n / cols) * cols - n; // cols >= sqrt(n): never more rows than columns
    if (empty < best.empty) best = { cols, empty }; // ascending cols: the first of equals is the squarest
  }
  return best.cols;
}
