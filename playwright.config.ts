// End-to-end tests of the browser demo and the <onnx-gan> element (tests/e2e), in Debian's Chromium
// against the real server: `npm run build && npx playwright test`.
// MODELS_DIR picks the served model folder (default: the shipped models/); E2E_PORT the port.
import { defineConfig } from '@playwright/test';

const PORT = Number(process.env.E2E_PORT ?? 47913);
const MODELS_DIR = process.env.MODELS_DIR ?? 'models';

export default defineConfig({
  testDir: 'tests/e2e',
  outputDir: 'test-results',
  // Two busy cores: one browser at a time keeps timings honest.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  timeout: 90_000,
  expect: { timeout: 30_000 },
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    viewport: { width: 1280, height: 900 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `node dist/cli.js serve --models ${MODELS_DIR} --port ${PORT} --log-level warn --no-access-log`,
    // 503 until every model in the folder is loaded.
    url: `http://127.0.0.1:${PORT}/readyz`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
