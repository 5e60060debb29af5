// Draws generated 28x28 images into a canvas as a grid and exports it as PNG.
import { IMAGE_PIXELS, IMAGE_SIZE } from '../../common/metadata.js';
import { toByte } from '../../common/pixels.js';

export const GRID_PAD = 2;
const SEPARATOR = 40; // dark grey, as in the server's grid PNG

export interface GridLayout {
  cols: number;
  /** Integer upscaling of each 28x28 image. */
  scale: number;
  /** Names written left of each row (e.g. the class of a one-row-per-class grid). */
  rowLabels?: string[];
}

/** Width of the row-label column, when there is one. */
export const ROW_LABEL_WIDTH = 22;

/** The columns of a grid when none are asked for: the server's grid PNG uses the same rule. */
export { gridColumns as defaultColumns } from '../../common/grid-layout.js';

/** Resizes `canvas` to fit the grid and draws `count` images (row-major [count, 784]). */
export function drawGrid(canvas: HTMLCanvasElement, images: Float32Array, count: number, { cols, scale, rowLabels }: GridLayout): void {
  cols = Math.max(1, Math.min(cols, count));
  const rows = Math.ceil(count / cols);
  const cell = IMAGE_SIZE * scale;
  const gutter = rowLabels ? ROW_LABEL_WIDTH : 0;
  const width = gutter + cols * cell + (cols + 1) * GRID_PAD;
  const height = rows * cell + (rows + 1) * GRID_PAD;
  const pixels = new ImageData(width, height);
  const px = new Uint32Array(pixels.data.buffer);
  const grey = (v: number): number => (0xff000000 | (v << 16) | (v << 8) | v) >>> 0; // little-endian RGBA
  px.fill(grey(SEPARATOR));
  for (let i = 0; i < count; i++) {
    const ox = gutter + GRID_PAD + (i % cols) * (cell + GRID_PAD);
    const oy = GRID_PAD + Math.floor(i / cols) * (cell + GRID_PAD);
    for (let p = 0; p < IMAGE_PIXELS; p++) {
      const v = grey(toByte(images[i * IMAGE_PIXELS + p]!));
      const x0 = ox + (p % IMAGE_SIZE) * scale;
      const y0 = oy + Math.floor(p / IMAGE_SIZE) * scale;
      for (let dy = 0; dy < scale; dy++) px.fill(v, (y0 + dy) * width + x0, (y0 + dy) * width + x0 + scale);
    }
  }
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  ctx.putImageData(pixels, 0, 0);
  if (rowLabels) {
    ctx.fillStyle = '#e8e8e8';
    ctx.font = `bold ${Math.min(14, cell - 2)}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    rowLabels.slice(0, rows).forEach((name, r) => ctx.fillText(name, gutter / 2 + 1, GRID_PAD + r * (cell + GRID_PAD) + cell / 2, gutter - 2));
  }
}

/** Replaces the canvas content with a readable message, so a failure never leaves it blank. */
export function drawMessage(canvas: HTMLCanvasElement, message: string): void {
  canvas.setAttribute('aria-label', `error: ${message}`);
  const ctx = canvas.getContext('2d')!;
  const font = '14px system-ui, sans-serif';
  const lineHeight = 18;
  const width = Math.max(canvas.width, 280);
  ctx.font = font;
  const lines: string[] = [];
  let line = '';
  for (const word of `⚠ ${message}`.split(/\s+/)) {
    const next = line ? `${line} ${word}` : word;
    if (ctx.measureText(next).width > width - 24 && line) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  lines.push(line);
  canvas.width = width; // resets the context state
  canvas.height = Math.max(canvas.height, lines.length * lineHeight + 24);
  ctx.fillStyle = '#3a1518';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#ffd7d7';
  ctx.font = font;
  ctx.textBaseline = 'top';
  lines.forEach((l, i) => ctx.fillText(l, 12, 12 + i * lineHeight));
}

/** Saves the canvas as a PNG file through a temporary download link. */
export function downloadPng(canvas: HTMLCanvasElement, filename: string): void {
  canvas.toBlob((blob) => {
    if (!blob) return;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }, 'image/png');
}
