// End-to-end tests of the built GraphiQL page against the real townsquare server.
//
// Playwright starts the server binary itself (TOWNSQUARE_BIN, else the release build, else
// the debug build) on a free port with a fresh SQLite database holding the demo data, and
// drives Debian's Chromium: no browser is downloaded.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { defineConfig } from '@playwright/test';

const here = dirname(fileURLToPath(import.meta.url));

function serverBinary(): string {
  if (process.env.TOWNSQUARE_BIN) return resolve(process.env.TOWNSQUARE_BIN);
  const release = resolve(here, '../../target/release/townsquare');
  return existsSync(release) ? release : resolve(here, '../../target/debug/townsquare');
}

// A port the kernel reports free, asked of a short-lived child because the config must be
// synchronous.
function freePort(): string {
  const script =
    "const s=require('node:net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})";
  return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
}

// The config is evaluated again in each worker process; the environment carries the first
// evaluation's choices there, so every process talks to the same server.
process.env.GRAPHIQL_E2E_PORT ??= freePort();
process.env.GRAPHIQL_E2E_DIR ??= mkdtempSync(join(tmpdir(), 'townsquare-graphiql-e2e-'));
const port = process.env.GRAPHIQL_E2E_PORT;
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/artifacts',
  // Two shared cores: one browser at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: 'list',
  globalTeardown: './e2e/teardown.ts',
  use: {
    baseURL,
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    trace: 'retain-on-failure',
  },
  webServer: {
    command: `"${serverBinary()}" serve`,
    url: `${baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      HOST: '127.0.0.1',
      PORT: port,
      APP_ENV: 'development',
      DATABASE_URL: `sqlite://${process.env.GRAPHIQL_E2E_DIR}/e2e.db?mode=rwc`,
      SEED_DEMO: 'on',
      RATE_LIMITS: 'off',
    },
  },
});
