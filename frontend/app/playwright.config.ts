/**
 * Browser tests against the real server binary, in Debian's Chromium.
 *
 * The server (`$TOWNSQUARE_BIN`, else target/release, else target/debug) runs in a fresh
 * temporary directory with its own SQLite file, on a free port, with short idle and typing
 * timeouts; its JSON log (where development mail, codes included, is written) is
 * `<dir>/server.log`. The app comes from the binary itself; when a release binary does not
 * embed the current dist/ (rebuild it with `cargo build --release`), `vite preview` serves
 * dist/ and proxies /graphql to the server instead. `E2E_FRONTEND=server|preview` forces one.
 */
import { defineConfig } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const here = import.meta.dirname
const root = resolve(here, '../..')

function pickBinary(): string {
  const candidates = [
    process.env.TOWNSQUARE_BIN,
    join(root, 'target/release/townsquare'),
    join(root, 'target/debug/townsquare'),
  ].filter((path): path is string => Boolean(path))
  const found = candidates.find((path) => existsSync(path))
  if (!found) throw new Error(`no server binary: set TOWNSQUARE_BIN or run cargo build (tried ${candidates.join(', ')})`)
  return resolve(found)
}

function freePort(): string {
  const script =
    "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"
  return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })
}

/** Whether `binary` serves the dist/ on disk: debug builds read it from disk, release builds embed it. */
function servesCurrentDist(binary: string): boolean {
  const index = readFileSync(join(here, 'dist/index.html'), 'utf8')
  const script = /\/assets\/index-[\w-]+\.js/.exec(index)?.[0]
  if (!script) return false
  const bytes = readFileSync(binary)
  const embedsIndex = bytes.includes(Buffer.from('<div id="root">'))
  return embedsIndex ? bytes.includes(Buffer.from(script)) : true
}

// Computed once in the runner and inherited by the workers through the environment.
const env = process.env
env.E2E_BIN ??= pickBinary()
env.E2E_DIR ??= mkdtempSync(join(tmpdir(), 'townsquare-e2e-'))
env.E2E_SERVER_PORT ??= freePort()
env.E2E_FRONTEND ??= servesCurrentDist(env.E2E_BIN) ? 'server' : 'preview'
if (env.E2E_FRONTEND === 'preview') env.E2E_PREVIEW_PORT ??= freePort()

const serverUrl = `http://127.0.0.1:${env.E2E_SERVER_PORT}`
const baseURL = env.E2E_FRONTEND === 'preview' ? `http://127.0.0.1:${env.E2E_PREVIEW_PORT}` : serverUrl

export default defineConfig({
  testDir: 'e2e',
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(env.CI),
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: 'test-results/artifacts',
  use: {
    baseURL,
    launchOptions: { executablePath: '/usr/bin/chromium' },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  webServer: [
    {
      name: 'townsquare',
      command: `exec "${env.E2E_BIN}" serve >> "${env.E2E_DIR}/server.log" 2>&1`,
      cwd: env.E2E_DIR,
      url: `${serverUrl}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
      env: {
        HOST: '127.0.0.1',
        PORT: env.E2E_SERVER_PORT,
        DATABASE_URL: `sqlite://${env.E2E_DIR}/e2e.db?mode=rwc`,
        SEED_DEMO: 'off',
        RATE_LIMITS: 'off',
        SESSION_TIMEOUT_MINUTES: '0.1',
        SESSION_SWEEP_INTERVAL_SECONDS: '1',
        KEEPALIVE_INTERVAL_SECONDS: '30',
        TYPING_TIMEOUT_SECONDS: '2',
        LOG_FORMAT: 'json',
        RUST_LOG: 'info,sqlx=warn,sea_orm=warn',
      },
    },
    ...(env.E2E_FRONTEND === 'preview'
      ? [
          {
            name: 'vite preview',
            command: `node_modules/.bin/vite preview --host 127.0.0.1 --port ${env.E2E_PREVIEW_PORT} --strictPort`,
            cwd: here,
            url: baseURL,
            reuseExistingServer: false,
            env: { TOWNSQUARE_API: serverUrl },
          },
        ]
      : []),
  ],
})
