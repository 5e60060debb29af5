// End-to-end tests of the browser demo and the <onnx-gan> element (tests/e2e), in Debian's Chromium
// against the real server: `npm run build && npx playwright test`.
//
// Environment variables the tests honour:
//   E2E_PORT           port of the server the tests start (default: a free port, picked per run)
//   MODELS_DIR         folder of .onnx models it serves (default: the shipped models/)
//   CHROMIUM_PATH      the browser (default: /usr/bin/chromium)
//   CI                 set: `.only` is an error, failed tests are retried once, an HTML report is written
//   UPDATE_SCREENSHOT  set: the desktop screenshot is copied to docs/screenshot.png (`npm run screenshot`)
import { execFileSync } from 'node:child_process';
import { defineConfig } from '@playwright/test';

// Workers evaluate this file again, and they inherit the runner's environment: picking the port once
// and storing it in E2E_PORT gives them all the same one. A fixed default port could collide with a
// server someone else runs (another worktree's test run).
if (!process.env.E2E_PORT) {
  const script =
    "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });";
  process.env.E2E_PORT = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim();
}
const PORT = Number(process.env.E2E_PORT);
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
    // Never another process's server on that port: the tests would pass or fail against the wrong code.
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
