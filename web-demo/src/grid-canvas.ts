// Draws generated images (C x H x W: grey for C = 1, RGB for C = 3) into a canvas as a grid and
// exports it as PNG.
import { DIGIT_SHAPE, imageValues, type ImageShape } from '../../common/metadata.js';
import { toByte } from '../../common/pixels.js';

export const GRID_PAD = 2;
const SEPARATOR = 40; // dark grey, as in the server's grid PNG

export interface GridLayout {
  cols: number;
  /** Integer upscaling of each image. */
  scale: number;
  /** Names written left of each row (e.g. the class of a one-row-per-class grid). */
  rowLabels?: string[];
  /** [C, H, W] of each image (the model's imageShape); default the digits' [1, 28, 28]. */
  shape?: ImageShape;
}

/** Width of the row-label column for one- or two-character names (digits); longer class names widen it. */
export const ROW_LABEL_WIDTH = 22;
/** The widest row-label column: longer names are squeezed to fit. */
const MAX_ROW_LABEL_WIDTH = 140;

/** The columns of a grid when none are asked for: the server's grid PNG uses the same rule. */
export { gridColumns as defaultColumns } from '../../common/grid-layout.js';

/** A scale that draws images of `shape` about `target` pixels tall (at least 1). */
export const scaleFor = (shape: ImageShape, target: number): number => Math.max(1, Math.round(target / Math.max(shape[1], shape[2])));

/** Resizes `canvas` to fit the grid and draws `count` images (row-major [count, C*H*W], each planar). */
export function drawGrid(
  canvas: HTMLCanvasElement,
  images: Float32Array,
  count: number,
  { cols, scale, rowLabels, shape = DIGIT_SHAPE }: GridLayout,
): void {
  cols = Math.max(1, Math.min(cols, count));
  const [channels, h, w] = shape;
  const rows = Math.ceil(count / cols);
  const [cellW, cellH] = [w * scale, h * scale];
  const font = `bold ${Math.max(9, Math.min(14, cellH - 2))}px system-ui, sans-serif`;
  const gutter = rowLabels ? labelWidth(canvas, rowLabels, font) : 0;
  const width = gutter + cols * cellW + (cols + 1) * GRID_PAD;
  const height = rows * cellH + (rows + 1) * GRID_PAD;
  const pixels = new ImageData(width, height);
  const px = new Uint32Array(pixels.data.buffer);
  const rgba = (r: number, g: number, b: number): number => (0xff000000 | (b << 16) | (g << 8) | r) >>> 0; // little-endian RGBA
  px.fill(rgba(SEPARATOR, SEPARATOR, SEPARATOR));
  const plane = h * w;
  const values = imageValues(shape);
  for (let i = 0; i < count; i++) {
    const ox = gutter + GRID_PAD + (i % cols) * (cellW + GRID_PAD);
    const oy = GRID_PAD + Math.floor(i / cols) * (cellH + GRID_PAD);
    const base = i * values;
    for (let p = 0; p < plane; p++) {
      const r = toByte(images[base + p]!);
      const v = channels === 3 ? rgba(r, toByte(images[base + plane + p]!), toByte(images[base + 2 * plane + p]!)) : rgba(r, r, r);
      const x0 = ox + (p % w) * scale;
      const y0 = oy + Math.floor(p / w) * scale;
      for (let dy = 0; dy < scale; dy++) px.fill(v, (y0 + dy) * width + x0, (y0 + dy) * width + x0 + scale);
    }
  }
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  ctx.putImageData(pixels, 0, 0);
  if (rowLabels) {
    ctx.fillStyle = '#e8e8e8';
    ctx.font = font;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    rowLabels
      .slice(0, rows)
      .forEach((name, r) => ctx.fillText(name, gutter / 2 + 1, GRID_PAD + r * (cellH + GRID_PAD) + cellH / 2, gutter - 2));
  }
}

/** The row-label column: ROW_LABEL_WIDTH for digits, as wide as the longest class name up to MAX_ROW_LABEL_WIDTH. */
function labelWidth(canvas: HTMLCanvasElement, labels: string[], font: string): number {
  const ctx = canvas.getContext('2d')!;
  ctx.font = font;
  const widest = Math.max(0, ...labels.map((l) => ctx.measureText(l).width));
  return Math.min(MAX_ROW_LABEL_WIDTH, Math.max(ROW_LABEL_WIDTH, Math.ceil(widest) + 8));
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
