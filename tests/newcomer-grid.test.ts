// Grids fill their rows: the one column rule (common/grid-layout.ts) and the server's grid PNG,
// which must follow it. The <onnx-gan> element and the demo page are checked in the browser
// (tests/e2e/newcomer-grid.spec.ts).
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridColumns } from '../common/grid-layout.js';
import { gridPng } from '../common/png.js';
import { startServer, type RunningServer } from '../serve/server.js';
import { ROOT } from './helpers/cli.js';

/** columns x rows for counts 1..17: the rule's values, written out (8 -> 4x2, as docs/web-demo.md says). */
const EXPECTED: Record<number, [number, number]> = {
  1: [1, 1],
  2: [2, 1],
  3: [3, 1],
  4: [2, 2],
  5: [5, 1],
  6: [3, 2],
  7: [7, 1],
  8: [4, 2],
  9: [3, 3],
  10: [5, 2],
  11: [4, 3],
  12: [4, 3],
  13: [7, 2],
  14: [7, 2],
  15: [5, 3],
  16: [4, 4],
  17: [6, 3],
};
const COUNTS = Object.keys(EXPECTED).map(Number);

/** Pixel size of a grid of 28x28 cells with 2-pixel separators (common/png.ts, grid-canvas.ts). */
const gridSize = (cols: number, rows: number, scale = 1): [number, number] => [
  cols * 28 * scale + (cols + 1) * 2,
  rows * 28 * scale + (rows + 1) * 2,
];

describe('gridColumns', () => {
  it('gives the written-out layouts for 1..17', () => {
    expect(Object.fromEntries(COUNTS.map((n) => [n, [gridColumns(n), Math.ceil(n / gridColumns(n))]]))).toEqual(EXPECTED);
  });

  it(
    'for every count the server accepts (1..64): rows full whenever a not-too-wide grid allows, never an ' +
      'empty row, never taller than wide',
    () => {
      for (let n = 1; n <= 64; n++) {
        const cols = gridColumns(n);
        const rows = Math.ceil(n / cols);
        const widest = Math.min(n, Math.max(8, 2 * Math.ceil(Math.sqrt(n))));
        const fillable = Array.from({ length: widest }, (_, i) => i + 1).some((c) => n % c === 0 && c >= n / c);
        expect(rows, `count ${n}`).toBeLessThanOrEqual(cols);
        expect(cols, `count ${n}`).toBeLessThanOrEqual(widest);
        expect(rows * cols - n, `count ${n}: empty cells`).toBeLessThan(cols); // the last row is never empty
        if (fillable) expect(n % cols, `count ${n}: ${cols}x${rows} leaves cells empty`).toBe(0);
      }
    },
  );

  it('treats nonsense counts as one image', () => {
    for (const n of [0, -3, Number.NaN, Number.POSITIVE_INFINITY]) expect(gridColumns(n)).toBe(1);
  });

  it('is the default of gridPng', () => {
    const images = new Float32Array(8 * 784);
    const png = PNG.sync.read(gridPng(images, 8));
    expect([png.width, png.height]).toEqual(gridSize(4, 2));
  });
});

describe("the server's grid PNG", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ models: path.join(ROOT, 'models'), port: 0, logLevel: 'silent' });
  });
  afterAll(() => server?.close());

  it("has the rule's columns and rows for counts 1..17", async () => {
    const sizes: Record<number, [number, number]> = {};
    for (const count of COUNTS) {
      const res = await fetch(`${server.url}/v1/models/gan/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ count, seed: count, format: 'grid' }),
      });
      expect(res.status, `count ${count}`).toBe(200);
      const png = PNG.sync.read(Buffer.from(await res.arrayBuffer()));
      sizes[count] = [png.width, png.height];
    }
    expect(sizes).toEqual(Object.fromEntries(COUNTS.map((n) => [n, gridSize(...EXPECTED[n]!)])));
  });
});
