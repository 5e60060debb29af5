// The demo page (web-demo/index.html) against the real server.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { canvasDigest, expectDigitLike, gridStats, servedModels } from './helpers.js';

const GRID_SCALE = 4; // demo-page.ts draws the main grid at 4x

async function openDemo(page: Page, query: string): Promise<void> {
  await page.goto(`/?${query}`);
  await expect(page.locator('body')).toHaveAttribute('data-state', 'ready');
}

test('every served model generates digit-like images on the page', async ({ page, request }, testInfo) => {
  const models = await servedModels(request);
  expect(models.length, 'models served').toBeGreaterThan(0);
  for (const m of models) {
    await test.step(m.name, async () => {
      const label = m.classes ? '&label=3' : '';
      await openDemo(page, `model=${m.name}&seed=7&count=16${label}`);
      await expect(page.getByLabel('Model', { exact: true })).toHaveValue(m.name);
      await expect(page.locator('#timing')).toContainText(/16 images in [\d.]+ ms/);
      await expect(page.locator('#error')).toBeEmpty();
      const stats = await gridStats(page.locator('#grid'), 16, 4, GRID_SCALE);
      console.log(`${m.name}: ${JSON.stringify(stats)}`);
      expectDigitLike(stats, m.name);
      await page.screenshot({ path: testInfo.outputPath(`page-${m.name}.png`), fullPage: true });
    });
  }
});

test('browser and server give the same raw floats for the same seed and label', async ({ page, request }) => {
  const models = await servedModels(request);
  await openDemo(page, `model=${models[0]!.name}&seed=1`);
  for (const m of models) {
    await test.step(m.name, async () => {
      const body = { count: 6, seed: 20260501, format: 'tensor', ...(m.classes ? { label: 5 } : {}) };
      const res = await request.post(`/v1/models/${m.name}/generate`, { data: body });
      expect(res.ok(), await res.text()).toBeTruthy();
      const server = (await res.json()) as { shape: number[]; data: number[] };
      expect(server.shape).toEqual([6, 1, 28, 28]);
      // The page's own generator module (the chunk the page and <onnx-gan> share).
      const browser = await page.evaluate(
        async ({ src, seed, count, label }) => {
          const bundle = '/dist/onnx-gan.js'; // a URL of the served page, not a module of this repo
          const { loadGenerator } = (await import(bundle)) as typeof import('../../web-demo/src/onnx-gan-element.js');
          const g = await loadGenerator(src);
          const out = await g.generate({ seed, count, label });
          return Array.from(out.images);
        },
        { src: `/models/${m.name}.onnx`, seed: body.seed, count: body.count, label: m.classes ? 5 : null },
      );
      expect(browser.length).toBe(server.data.length);
      let maxDiff = 0;
      for (let i = 0; i < browser.length; i++) maxDiff = Math.max(maxDiff, Math.abs(browser[i]! - server.data[i]!));
      console.log(`${m.name}: max |browser - server| = ${maxDiff.toExponential(2)}`);
      expect(maxDiff).toBeLessThan(1e-5);
    });
  }
});

test('?label= takes a class name or an index, as the element and the API do; an unknown name says so', async ({ page, request }) => {
  const named = (await servedModels(request)).find((m) => m.classes?.some((c) => !/^\d+$/.test(c)));
  test.skip(!named, 'no served model with class names');
  const { name, classes } = named!;
  const grid = page.locator('#grid');
  await openDemo(page, `model=${name}&seed=5&count=4&label=${encodeURIComponent(classes![1]!)}`);
  await expect(page.getByLabel('Class', { exact: true })).toHaveValue('1');
  await expect(grid).toHaveAttribute('aria-label', new RegExp(`class ${classes![1]}`));
  await expect(page.locator('#error')).toBeEmpty();
  const byName = await canvasDigest(grid);
  await openDemo(page, `model=${name}&seed=5&count=4&label=1`);
  expect(await canvasDigest(grid)).toBe(byName);
  await expect(page).toHaveURL(new RegExp(`label=${encodeURIComponent(classes![1]!)}`)); // the URL names the class

  await openDemo(page, `model=${name}&seed=5&count=4&label=Sandwich`);
  await expect(page.locator('#error')).toHaveText(
    `?label=Sandwich is not used: label "Sandwich" is not a class of this model (${classes!.join(', ')}); showing all classes.`,
  );
  await expect(page.getByLabel('Class', { exact: true })).toHaveValue('');
  await expect(grid).toHaveAttribute('aria-label', /classes in turn/);
  await page.getByLabel('Class', { exact: true }).selectOption('2');
  await expect(page.locator('#error')).toBeEmpty();
});

test('controls work from the keyboard and the grid downloads as PNG', async ({ page, request }, testInfo) => {
  const models = await servedModels(request);
  const conditional = models.find((m) => m.classes);
  await openDemo(page, `model=${(conditional ?? models[0]!).name}&seed=11&count=9`);
  const before = await canvasDigest(page.locator('#grid'));

  // Seed: type a new one and press Enter (form submit).
  const seed = page.getByLabel('Seed', { exact: true });
  await seed.fill('12');
  await seed.press('Enter');
  await expect.poll(() => canvasDigest(page.locator('#grid'))).not.toBe(before);
  await expect(page.locator('#timing')).toContainText('seed 12');
  await expect(page).toHaveURL(/seed=12/);

  if (conditional) {
    // Class: keyboard selection re-renders; one-per-class grid has a row per class.
    const afterSeed = await canvasDigest(page.locator('#grid'));
    await page.getByLabel('Class', { exact: true }).focus();
    await page.getByLabel('Class', { exact: true }).selectOption('8');
    await expect.poll(() => canvasDigest(page.locator('#grid'))).not.toBe(afterSeed);
    await expect(page.locator('#grid')).toHaveAttribute('aria-label', /class 8/);
    const classGrid = page.locator('#class-grid');
    await expect(page.locator('#class-timing')).toContainText(`${conditional.classes!.length * 8} images`);
    const size = await classGrid.evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
    expect(size).toEqual([22 + 8 * 56 + 9 * 2, conditional.classes!.length * 56 + (conditional.classes!.length + 1) * 2]);
  }

  // Latent walk: the slider moves with the arrow keys and changes the image.
  const frame = page.locator('#walk-frame');
  await expect(page.locator('#walk-timing')).toContainText('t = 0.00');
  const start = await canvasDigest(frame);
  await page.getByLabel(/Position/).focus();
  await page.keyboard.press('End');
  await expect(page.locator('#walk-timing')).toContainText('t = 1.00');
  await expect.poll(() => canvasDigest(frame)).not.toBe(start);

  // Latent sliders: arrow keys move along a direction and change the image.
  const sliderFrame = page.locator('#slider-frame');
  await expect(page.locator('#slider-timing')).toContainText('ms');
  const centred = await canvasDigest(sliderFrame);
  await page.getByLabel('Direction 1', { exact: true }).focus();
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
  await expect(page.locator('output[for="direction-0"]')).toHaveText('0.50');
  await expect.poll(() => canvasDigest(sliderFrame)).not.toBe(centred);
  await page.getByRole('button', { name: 'Reset sliders' }).press('Enter');
  await expect(page.locator('output[for="direction-0"]')).toHaveText('0.00');
  await expect.poll(() => canvasDigest(sliderFrame)).toBe(centred);

  // Play/pause toggles with the keyboard.
  await page.getByRole('button', { name: /Play/ }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: /Pause/ })).toHaveAttribute('aria-pressed', 'true');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: /Play/ })).toHaveAttribute('aria-pressed', 'false');

  // Download PNG.
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download PNG' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^onnxgan-.+-seed12.*\.png$/);
  const file = testInfo.outputPath(download.suggestedFilename());
  await download.saveAs(file);
  expect(readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
});

test('phone-sized viewport: no horizontal scrolling, controls reachable; screenshots', async ({ page, request }, testInfo) => {
  const models = await servedModels(request);
  const name = (models.find((m) => m.name === 'cgan') ?? models[0]!).name;

  await page.setViewportSize({ width: 1100, height: 900 });
  await openDemo(page, `model=${name}&seed=42&count=16`);
  await expect(page.locator('#walk-strip')).not.toHaveAttribute('width', '0');
  const desktop = testInfo.outputPath('demo-desktop.png');
  await page.screenshot({ path: desktop, fullPage: true });
  // The README's picture changes only when asked (`npm run screenshot`), so a test run leaves the tree clean.
  if (process.env.UPDATE_SCREENSHOT) {
    mkdirSync('docs', { recursive: true });
    copyFileSync(desktop, 'docs/screenshot.png');
  }

  await page.setViewportSize({ width: 375, height: 740 });
  await openDemo(page, `model=${name}&seed=42&count=16`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, 'horizontal overflow in px').toBeLessThanOrEqual(0);
  for (const id of ['#model', '#seed', '#count', '#generate', '#download']) {
    const box = (await page.locator(id).boundingBox())!;
    expect(box.x, id).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, id).toBeLessThanOrEqual(375);
    expect(box.height, `${id} touch target`).toBeGreaterThanOrEqual(36);
  }
  await page.screenshot({ path: testInfo.outputPath('demo-phone.png'), fullPage: true });
});

test('a model that fails to load shows the error, not a blank canvas', async ({ page, request }) => {
  const name = (await servedModels(request))[0]!.name;
  await page.route(`**/models/${name}.onnx`, (route) => route.fulfill({ status: 404, body: 'gone' }));
  await page.goto(`/?model=${name}`);
  await expect(page.locator('#error')).toContainText(`Model "${name}" failed to load`);
  await expect(page.locator('#error')).toContainText('HTTP 404');
  await expect(page.locator('body')).toHaveAttribute('data-state', 'error');
  const grid = page.locator('#grid');
  expect(await grid.evaluate((c: HTMLCanvasElement) => c.width * c.height)).toBeGreaterThan(0);
  await expect(grid).toHaveAttribute('aria-label', /failed|error/);

  // Not an ONNX file at all.
  await page.unroute(`**/models/${name}.onnx`);
  await page.route(`**/models/${name}.onnx`, (route) =>
    route.fulfill({ status: 200, contentType: 'application/octet-stream', body: Buffer.from('<html>not a model</html>') }),
  );
  await page.goto(`/?model=${name}&seed=1`);
  await expect(page.locator('#error')).toContainText(/not an onnxgan generator/);
});

test('hosted as plain files, the page falls back to models.json', async ({ page }) => {
  // Without the server's API the page reads web-demo/models.json (model URLs relative to it).
  await page.route('**/v1/models', (route) => route.fulfill({ status: 404, body: 'no API here' }));
  await page.goto('/?model=cgan&seed=3');
  await expect(page.locator('body')).toHaveAttribute('data-state', 'ready');
  await expect(page.getByLabel('Model', { exact: true })).toHaveValue('cgan');
  await expect(page.locator('#error')).toBeEmpty();
});

test('a browser without WebAssembly gets an explanation', async ({ page }) => {
  await page.addInitScript(() => {
    // @ts-expect-error simulate an old browser
    delete globalThis.WebAssembly;
  });
  await page.goto('/');
  await expect(page.getByRole('alert').first()).toContainText('does not support WebAssembly');
  await expect(page.getByLabel('Model', { exact: true })).toBeDisabled();
});

test('phone widths: every input and select shows its whole value (10-digit seeds too)', async ({ page, request }) => {
  const models = await servedModels(request);
  const name = (models.find((m) => m.classes) ?? models[0]!).name;
  for (const width of [320, 390]) {
    await test.step(`${width} px`, async () => {
      await page.setViewportSize({ width, height: 844 });
      await openDemo(page, `model=${name}&seed=4294967295&count=64`);
      await page.getByRole('spinbutton', { name: 'From seed' }).fill('4294967295');
      await page.getByRole('spinbutton', { name: 'To seed' }).fill('4294967294');
      const clipped = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input:not([type=range]), select')]
          .filter((el) => el.offsetParent !== null)
          .flatMap((el) => {
            if (el instanceof HTMLInputElement)
              return el.scrollWidth > el.clientWidth ? [`#${el.id} "${el.value}": ${el.scrollWidth} > ${el.clientWidth} px`] : [];
            // A select does not scroll: compare its text with the room left of the arrow (~20 px).
            const cs = getComputedStyle(el);
            const ctx = document.createElement('canvas').getContext('2d')!;
            ctx.font = cs.font;
            const text = el.options[el.selectedIndex]?.text ?? '';
            const room = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 20;
            return ctx.measureText(text).width > room
              ? [`#${el.id} "${text}": ${ctx.measureText(text).width.toFixed(0)} > ${room.toFixed(0)} px`]
              : [];
          }),
      );
      expect(clipped).toEqual([]);
      expect(
        await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
        'horizontal overflow in px',
      ).toBeLessThanOrEqual(0);
    });
  }
});
