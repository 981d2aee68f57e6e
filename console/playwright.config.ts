// The console's end-to-end tests (issue #27): Playwright drives Debian's
// Chromium against the real server binary, which serves the built console
// at /console. The global setup starts that server on a fresh SQLite
// database, and the test OpenID Connect provider (tests/idp); the tests read
// the mailed links from the server's mail directory.
//
//   npx playwright test            (or npm run e2e)
//
// Settings, all optional:
//   ORGQL_BIN                   the server binary (default ../target/debug/orgql)
//   CHROMIUM                    the browser (default /usr/bin/chromium)
//   ORGQL_CONSOLE_SCREENSHOTS   where page screenshots go (default test-results/screenshots)
//   ORGQL_E2E_PORT              the server's port (default: a free one)
//   ORGQL_E2E_CONSOLE_URL       while developing: the console's origin elsewhere, such as
//                               a Vite dev server proxying /graphql to the server:
//                                 ORGQL_URL=http://127.0.0.1:8642 npx vite --port 5190 --strictPort
//                                 ORGQL_E2E_PORT=8642 ORGQL_E2E_CONSOLE_URL=http://127.0.0.1:5190 npx playwright test
//   ORGQL_E2E_KEEP              keep the server's temporary directory (database, mail)
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  testMatch: '**/*.spec.ts',
  globalSetup: './tests/global-setup.ts',
  globalTeardown: './tests/global-teardown.ts',
  outputDir: './test-results',
  // One worker: the machine has two cores, and the debug server wants one.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['./tests/support/screenshots-reporter.ts']],
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    // Dates in screenshots read the same on every machine.
    locale: 'en-US',
    timezoneId: 'UTC',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    },
  },
});
