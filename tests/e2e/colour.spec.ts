// A colour model (C = 3) in the browser: the demo page and <onnx-gan> on another origin draw it in
// colour at its own size and name its classes by their names. The model is a small real ONNX
// generator whose red channel is saturated high and green and blue low, so every drawn image is red.
// The element also draws a convolutional (--arch dcgan) generator, exported by `onnxgan export`'s code.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Locator } from '@playwright/test';
import { writeTinyGenerator } from '../helpers/tiny-generator.js';
import { elementErrors, htmlPage, startSite, watchElements } from './sites.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLASSES = ['poppy', 'tulip', 'Ωmega rose'];
const dist = <T>(p: string): Promise<T> => import(path.join(ROOT, 'dist', p)) as Promise<T>;

/**
 * A --arch dcgan cgan generator for [3, 16, 16] (its initial weights: the browser runs the same Conv/ConvTranspose graph
 * a trained one has), through export's parity check.
 */
async function writeDcganGenerator(file: string): Promise<void> {
  const [{ selectBackend }, { Sequential }, { architecture }, { exportGenerator }, { Rng }] = await Promise.all([
    dist<typeof import('../../backend/select.js')>('backend/select.js'),
    dist<typeof import('../../train/layers.js')>('train/layers.js'),
    dist<typeof import('../../train/models.js')>('train/models.js'),
    dist<typeof import('../../export/export.js')>('export/export.js'),
    dist<typeof import('../../common/rng.js')>('common/rng.js'),
  ]);
  await selectBackend('auto');
  const net = new Sequential('generator', architecture('cgan', CLASSES.length, [3, 16, 16], 'dcgan').generator, new Rng(1));
  await exportGenerator(
    net,
    {
      kind: 'cgan',
      noiseDim: 100,
      noise: 'uniform(-1,1)',
      classes: CLASSES,
      dataset: 'test',
      epochs: 0,
      steps: 0,
      valueRange: [-1, 1],
      imageShape: [3, 16, 16],
    },
    file,
  );
}

/** Fractions of a canvas's pixels that are red (R high, G and B low) and grey (R = G = B). */
function colours(canvas: Locator): Promise<{ red: number; grey: number }> {
  return canvas.evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let red = 0;
    let grey = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i]! > 180 && d[i + 1]! < 80 && d[i + 2]! < 80) red++;
      if (d[i] === d[i + 1] && d[i + 1] === d[i + 2]) grey++;
    }
    return { red: red / (d.length / 4), grey: grey / (d.length / 4) };
  });
}

test('a colour model: the demo page and a third-party <onnx-gan> draw it in colour, classes by name', async ({ page }) => {
  const models = mkdtempSync(path.join(tmpdir(), 'onnxgan-colour-'));
  writeTinyGenerator(path.join(models, 'flowers.onnx'), { imageShape: [3, 20, 16], classes: CLASSES, channelBias: [4, -4, -4] });
  await writeDcganGenerator(path.join(models, 'dcgan.onnx'));
  const { startServer } = (await import(path.join(ROOT, 'dist/serve/server.js'))) as typeof import('../../serve/server.js');
  const server = await startServer({ models, port: 0, logLevel: 'silent', accessLog: false });
  const site = await startSite({});
  try {
    await page.goto(`${server.url}/?model=flowers&seed=5&count=8&label=1`);
    await expect(page.locator('body')).toHaveAttribute('data-state', 'ready');
    await expect(page.locator('#error')).toBeEmpty();
    await expect(page.getByLabel('Class', { exact: true })).toHaveValue('1');
    await expect(page.getByLabel('Class', { exact: true }).locator('option')).toHaveText(['all, in turn', ...CLASSES]);
    await expect(page.locator('#grid')).toHaveAttribute('aria-label', /class tulip/);
    const grid = await colours(page.locator('#grid'));
    expect(grid.red, JSON.stringify(grid)).toBeGreaterThan(0.5); // the images, not the separators
    // The panels speak of images and classes, not digits (the page's intro names every kind of data).
    for (const panel of await page.getByRole('region').all()) await expect(panel).not.toContainText(/\bdigits?\b|MNIST/i);

    await watchElements(page);
    site.pages['/'] = htmlPage(
      `<script type="module" src="${server.url}/dist/onnx-gan.js"></script>\n<onnx-gan src="${server.url}` +
        `/models/flowers.onnx" label="Ωmega rose" count="6" seed="3"></onnx-gan>`,
    );
    await page.goto(site.url);
    const el = page.locator('onnx-gan');
    await expect(el).toHaveAttribute('data-state', 'ready');
    const canvas = el.locator('canvas');
    const drawn = await colours(canvas);
    expect(drawn.red, JSON.stringify(drawn)).toBeGreaterThan(0.5);
    expect(await elementErrors(page)).toEqual([]);
    // A class name the model does not have is a reason inside the element, not a blank.
    await el.evaluate((e) => e.setAttribute('label', 'cactus'));
    await expect(el.getByRole('alert')).toContainText('cactus');

    // A convolutional generator: drawn in colour (its channels differ), not a blank or grey canvas.
    await el.evaluate((e) => {
      e.setAttribute('label', 'tulip');
      e.setAttribute('src', e.getAttribute('src')!.replace('flowers.onnx', 'dcgan.onnx'));
    });
    await expect(el).toHaveAttribute('data-state', 'ready');
    await expect(el.getByRole('alert')).toHaveCount(0);
    const conv = await colours(canvas);
    expect(conv.grey, JSON.stringify(conv)).toBeLessThan(0.5);
    expect(conv.red, JSON.stringify(conv)).toBeLessThan(0.5); // not the red model still on the canvas
    expect((await elementErrors(page)).map((e) => e.message)).toEqual([expect.stringContaining('cactus')]); // only the one above
  } finally {
    await site.close();
    await server.close();
    rmSync(models, { recursive: true, force: true });
  }
});
