// What the global setup started, handed to the tests (which run in worker
// processes) through an environment variable.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Stack {
  /** The server's origin, also its ORGQL_PUBLIC_URL: http://127.0.0.1:PORT. */
  serverUrl: string;
  /** Where the console is opened: `${serverUrl}/console`, or a Vite dev server's. */
  consoleUrl: string;
  /** The server's .eml files. */
  mailDir: string;
  /** ORGQL_DATABASE_URL, for `orgql admin` commands on the same database. */
  databaseUrl: string;
  /** The server binary. */
  binary: string;
  /** The test OpenID Connect provider's issuer (its origin). */
  idpIssuer: string;
  /** The client the server is registered as at the IdP. */
  idpClient: { clientId: string; clientSecret: string };
  /** The IdP's accounts (login name → claims); any password signs in. */
  idpAccounts: Record<string, { email: string; email_verified: boolean; name: string }>;
  /** The temporary directory (database, mail) and the processes to end. */
  tempDir: string;
  serverPid: number;
  idpPid: number;
  /** Where page screenshots go. */
  screenshotsDir: string;
}

export const STACK_ENV = 'ORGQL_E2E_STACK';

/** console/, whatever the working directory. */
export const CONSOLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The repository's root: console/.. */
export const REPO_DIR = path.resolve(CONSOLE_DIR, '..');

/** ORGQL_CONSOLE_SCREENSHOTS (from the working directory), else console/test-results/screenshots. */
export function screenshotsDir(): string {
  const chosen = process.env.ORGQL_CONSOLE_SCREENSHOTS;
  return chosen ? path.resolve(chosen) : path.join(CONSOLE_DIR, 'test-results', 'screenshots');
}

/** The running stack; only inside tests and the teardown. */
export function stack(): Stack {
  const raw = process.env[STACK_ENV];
  if (!raw) throw new Error(`${STACK_ENV} is unset: run the tests with \`npx playwright test\` (its global setup starts the server)`);
  return JSON.parse(raw) as Stack;
}
