// The <onnx-gan> custom element, through the plain example page web-demo/embed-example.html.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { canvasDigest, expectDigitLike, gridStats } from './helpers.js';

const canvasOf = (el: Locator): Locator => el.locator('canvas'); // Playwright pierces open shadow roots

/** Sets attributes in one task (or calls refresh()) and waits for the render that follows. */
async function rerender(page: Page, selector: string, attributes: Record<string, string> | 'refresh'): Promise<void> {
  await page.locator(selector).evaluate(
    (el, attributes) =>
      new Promise<void>((resolve, reject) => {
        el.addEventListener('render', () => resolve(), { once: true });
        el.addEventListener('error', (e) => reject(new Error((e as CustomEvent<{ message: string }>).detail.message)), { once: true });
        if (attributes === 'refresh') (el as HTMLElement & { refresh(): void }).refresh();
        else for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
      }),
    attributes,
  );
}

test.beforeEach(async ({ page }) => {
  await page.goto('/embed-example.html');
});

test('the example page renders the element', async ({ page }, testInfo) => {
  const sevens = page.locator('#sevens');
  await expect(sevens).toHaveAttribute('data-state', 'ready');
  await expect(sevens.locator('figcaption')).toContainText(/class 7 · seed 42 · [\d.]+ ms/);
  expect(await canvasOf(sevens).evaluate((c: HTMLCanvasElement) => [c.width, c.height])).toEqual([8 * 84 + 9 * 2, 84 + 4]);
  expectDigitLike(await gridStats(canvasOf(sevens), 8, 8, 3), 'cgan class 7');
  await expect(canvasOf(sevens)).toHaveAttribute('aria-label', '8 generated images, class 7, seed 42');

  const unconditional = page.locator('#unconditional');
  await expect(unconditional).toHaveAttribute('data-state', 'ready');
  expectDigitLike(await gridStats(canvasOf(unconditional), 12, 6, 3), 'wgan-gp');
  await page.screenshot({ path: testInfo.outputPath('embed-example.png'), fullPage: true });
});

test('changing attributes re-renders', async ({ page }) => {
  const sevens = page.locator('#sevens');
  await expect(sevens).toHaveAttribute('data-state', 'ready');
  const digests = [await canvasDigest(canvasOf(sevens))];

  await rerender(page, '#sevens', { seed: '43' });
  await expect(sevens.locator('figcaption')).toContainText('seed 43');
  digests.push(await canvasDigest(canvasOf(sevens)));

  await rerender(page, '#sevens', { label: '1' });
  await expect(sevens.locator('figcaption')).toContainText('class 1');
  digests.push(await canvasDigest(canvasOf(sevens)));

  // Several changes in one task: one render with all of them.
  await rerender(page, '#sevens', { count: '4', columns: '2' });
  digests.push(await canvasDigest(canvasOf(sevens)));
  expect(await canvasOf(sevens).evaluate((c: HTMLCanvasElement) => [c.width, c.height])).toEqual([2 * 84 + 6, 2 * 84 + 6]);
  expect(new Set(digests).size, digests.join(' ')).toBe(digests.length);

  // Same attributes again: the same pixels (deterministic seed).
  await rerender(page, '#sevens', 'refresh');
  expect(await canvasDigest(canvasOf(sevens))).toBe(digests.at(-1));

  // An element added later by script works too.
  await page.evaluate(() => {
    const el = document.createElement('onnx-gan');
    el.id = 'late';
    el.setAttribute('src', 'models/cgan.onnx');
    el.setAttribute('label', '0');
    el.setAttribute('seed', '5');
    el.setAttribute('count', '3');
    document.body.append(el);
  });
  await expect(page.locator('#late')).toHaveAttribute('data-state', 'ready');
});

test('a broken model URL shows the error inside the element', async ({ page }) => {
  const broken = page.locator('#broken');
  await expect(broken).toHaveAttribute('data-state', 'error');
  await expect(broken.getByRole('alert')).toContainText('could not download model');
  await expect(broken.getByRole('alert')).toContainText('HTTP 404');
  expect(await canvasOf(broken).evaluate((c: HTMLCanvasElement) => c.width * c.height)).toBeGreaterThan(0);

  // Bad attributes are explained too, and fixing them recovers.
  const sevens = page.locator('#sevens');
  await expect(sevens).toHaveAttribute('data-state', 'ready');
  await sevens.evaluate((el) => el.setAttribute('label', '12'));
  await expect(sevens.getByRole('alert')).toContainText('label 12 is out of range');
  await sevens.evaluate((el) => el.setAttribute('count', 'many'));
  await expect(sevens.getByRole('alert')).toContainText('count="many"');
  await sevens.evaluate((el) => {
    el.setAttribute('label', '2');
    el.setAttribute('count', '2');
  });
  await expect(sevens).toHaveAttribute('data-state', 'ready');
  await expect(sevens.locator('[role=alert]')).toBeEmpty();
});
