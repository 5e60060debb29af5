// Shared helpers of the end-to-end tests: which models are served, pixel statistics of a grid.
import { expect, type APIRequestContext, type Locator } from '@playwright/test';

export interface ServedModel {
  name: string;
  kind: string;
  classes: string[] | null;
  noise_dim: number;
}

export async function servedModels(request: APIRequestContext): Promise<ServedModel[]> {
  const res = await request.get('/v1/models');
  expect(res.ok(), 'GET /v1/models').toBeTruthy();
  const { models } = (await res.json()) as { models: ServedModel[] };
  return models;
}

export interface GridStats {
  /** Mean grey level 0..255 over the image cells (separators excluded). */
  mean: number;
  /** Fraction of pixels below 40: MNIST background. */
  dark: number;
  /** Fraction of pixels above 180: strokes. */
  bright: number;
  /** Fraction of pixels in 60..200: noise is mostly mid-grey, digits have few. */
  mid: number;
  cells: number;
}

/**
 * Statistics of a grid drawn by grid-canvas.ts (28x28 cells upscaled by `scale`, 2 px separators),
 * read back from the canvas pixels.
 */
export function gridStats(canvas: Locator, count: number, cols: number, scale: number): Promise<GridStats> {
  return canvas.evaluate(
    (el, { count, cols, scale }) => {
      const c = el as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const cell = 28 * scale;
      let sum = 0,
        dark = 0,
        bright = 0,
        mid = 0,
        n = 0;
      for (let i = 0; i < count; i++) {
        const ox = 2 + (i % cols) * (cell + 2);
        const oy = 2 + Math.floor(i / cols) * (cell + 2);
        for (let y = 0; y < 28; y++)
          for (let x = 0; x < 28; x++) {
            const v = data[((oy + y * scale) * c.width + ox + x * scale) * 4]!;
            sum += v;
            n++;
            if (v < 40) dark++;
            else if (v > 180) bright++;
            if (v >= 60 && v <= 200) mid++;
          }
      }
      return { mean: sum / n, dark: dark / n, bright: bright / n, mid: mid / n, cells: count };
    },
    { count, cols, scale },
  );
}

/**
 * Digit-like: mostly dark background, some bright strokes, few mid-grey pixels (unlike noise or a
 * blank canvas, or a fuzzy blob). Real MNIST test digits: mean 34, dark 0.83, bright 0.11 (class 7: 0.10,
 * class 1: 0.07), mid 0.06. Soft assertions, so one run reports every model that fails.
 */
export function expectDigitLike(s: GridStats, what: string): void {
  const info = `${what}: ${JSON.stringify(s)}`;
  expect.soft(s.mean, info).toBeGreaterThan(10);
  expect.soft(s.mean, info).toBeLessThan(80);
  expect.soft(s.dark, info).toBeGreaterThan(0.6);
  // Half of the thinnest tested class (7: 0.099); a fuzzy blob without strokes stays below.
  expect.soft(s.bright, info).toBeGreaterThan(0.05);
  expect.soft(s.mid, info).toBeLessThan(0.25);
}

/** A hash of a canvas's pixels, to see whether a re-render changed them. */
export function canvasDigest(canvas: Locator): Promise<string> {
  return canvas.evaluate(async (el) => {
    const c = el as HTMLCanvasElement;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const hash = await crypto.subtle.digest('SHA-256', data);
    return `${c.width}x${c.height}:${Array.from(new Uint8Array(hash).slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join('')}`;
  });
}
