// Grids fill their rows in the browser too: the <onnx-gan> element and the demo page pick their
// columns with common/grid-layout.ts, the rule the server's grid PNG uses (tests/newcomer-grid.test.ts
// pins its values and the server's). Counts 1..17, canvas sizes read back from the page.
import { expect, test } from '@playwright/test';
import { gridColumns } from '../../common/grid-layout.js';
import { servedModels } from './helpers.js';

const COUNTS = Array.from({ length: 17 }, (_, i) => i + 1);

/** Canvas size of a grid of 28x28 cells upscaled by `scale`, with 2-pixel separators (grid-canvas.ts). */
function expectedSize(count: number, scale: number): [number, number] {
  const cols = gridColumns(count);
  const rows = Math.ceil(count / cols);
  return [cols * 28 * scale + (cols + 1) * 2, rows * 28 * scale + (rows + 1) * 2];
}

test('the element without a columns attribute fills its rows (counts 1..17)', async ({ page, request }) => {
  const [model] = await servedModels(request);
  await page.goto('/embed-example.html');
  const sizes = await page.evaluate(
    async ({ src, counts }) => {
      const out: Record<number, [number, number]> = {};
      for (const count of counts) {
        const el = document.createElement('onnx-gan');
        el.setAttribute('src', src);
        el.setAttribute('seed', String(count));
        el.setAttribute('count', String(count));
        el.setAttribute('scale', '1');
        const rendered = new Promise<void>((resolve, reject) => {
          el.addEventListener('render', () => resolve(), { once: true });
          el.addEventListener('error', (e: Event) => reject(new Error((e as CustomEvent<{ message: string }>).detail.message)), {
            once: true,
          });
        });
        document.body.append(el);
        await rendered;
        const canvas = el.shadowRoot!.querySelector('canvas')!;
        out[count] = [canvas.width, canvas.height];
        el.remove();
      }
      return out;
    },
    { src: `models/${model!.name}.onnx`, counts: COUNTS },
  );
  expect(sizes).toEqual(Object.fromEntries(COUNTS.map((n) => [n, expectedSize(n, 1)])));
  // The docs' example: count="8" is 4x2, not 3x3 with an empty cell.
  expect(sizes[8]).toEqual([4 * 28 + 5 * 2, 2 * 28 + 3 * 2]);
});

test('the demo page fills its rows (counts 1..17)', async ({ page, request }) => {
  const [model] = await servedModels(request);
  await page.goto(`/?model=${model!.name}&seed=5&count=1`);
  await expect(page.locator('body')).toHaveAttribute('data-state', 'ready');
  const grid = page.locator('#grid');
  for (const count of COUNTS) {
    await page.locator('#count').fill(String(count));
    await page.locator('#count').dispatchEvent('change');
    await expect(page.locator('#timing')).toContainText(new RegExp(`^${count} images? in `));
    await expect
      .poll(() => grid.evaluate((c: HTMLCanvasElement) => [c.width, c.height]), { message: `count ${count}` })
      .toEqual(expectedSize(count, 4));
  }
});
