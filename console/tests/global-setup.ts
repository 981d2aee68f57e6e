// Starts what the tests run against: the test OpenID Connect provider
// (tests/idp/server.mjs) and the real orgql server, on a free port with a
// fresh SQLite database and mail directory in a temporary directory. The
// tests learn the addresses from the ORGQL_E2E_STACK variable; the teardown
// ends both processes. Their output goes to test-results/e2e-logs/.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { CONSOLE_DIR, REPO_DIR, STACK_ENV, screenshotsDir, type Stack } from './support/stack';

const IDP_DIR = path.join(REPO_DIR, 'tests', 'idp');
const LOG_DIR = path.join(CONSOLE_DIR, 'test-results', 'e2e-logs');

/** The client the server is registered as at the test IdP. */
const IDP_CLIENT = { clientId: 'orgql-console-e2e', clientSecret: 'a client secret for the console tests' };

/** The IdP's people: any password signs them in at its development login form. */
const IDP_ACCOUNTS = {
  alice: { email: 'alice@acme.test', email_verified: true, name: 'Alice Idp' },
};

export default async function globalSetup(): Promise<void> {
  const binary = path.resolve(REPO_DIR, process.env.ORGQL_BIN ?? 'target/debug/orgql');
  if (!fs.existsSync(binary)) {
    throw new Error(`no server binary at ${binary}: build it (cd .. && cargo build) or set ORGQL_BIN`);
  }
  fs.mkdirSync(LOG_DIR, { recursive: true });
  fs.mkdirSync(screenshotsDir(), { recursive: true });
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orgql-console-e2e-'));
  const port = process.env.ORGQL_E2E_PORT ? Number(process.env.ORGQL_E2E_PORT) : await freePort();
  const serverUrl = `http://127.0.0.1:${port}`;
  const consoleOrigin = process.env.ORGQL_E2E_CONSOLE_URL?.replace(/\/+$/, '') ?? serverUrl;

  const idp = await startIdp({
    clients: [
      {
        client_id: IDP_CLIENT.clientId,
        client_secret: IDP_CLIENT.clientSecret,
        redirect_uris: [`${serverUrl}/sso/oidc/callback`],
      },
    ],
    accounts: IDP_ACCOUNTS,
  });

  const databaseUrl = `sqlite://${path.join(tempDir, 'orgql.db')}?mode=rwc`;
  const mailDir = path.join(tempDir, 'mail');
  const server = startServer(binary, {
    ORGQL_LISTEN: `127.0.0.1:${port}`,
    ORGQL_DATABASE_URL: databaseUrl,
    ORGQL_MAIL_DIR: mailDir,
    ORGQL_PUBLIC_URL: serverUrl,
    ORGQL_TOKEN_ENV: 'test',
    ORGQL_SSO_ALLOW_HTTP_ISSUERS: 'true',
    // The server allows its own console's SSO test page by itself; a
    // console served from elsewhere (while developing) needs listing.
    ...(consoleOrigin === serverUrl ? {} : { ORGQL_SSO_REDIRECT_URIS: `${consoleOrigin}/console/sso-test` }),
    // Cheap argon2: every test signs people up and in.
    ORGQL_INSECURE_FAST_PASSWORD_HASHING: 'true',
    // Every browser and API call comes from 127.0.0.1: one client network.
    ORGQL_RATE_LIMIT_PER_IP: '10000',
    ORGQL_RATE_LIMIT_PER_ACCOUNT: '1000',
    RUST_LOG: process.env.RUST_LOG ?? 'info,sqlx=warn,sea_orm=warn',
  });
  // Whatever happens to the runner, the server does not outlive it.
  process.on('exit', () => {
    server.kill('SIGTERM');
    idp.child.kill('SIGTERM');
  });
  await waitForHealth(serverUrl, server);

  const state: Stack = {
    serverUrl,
    consoleUrl: `${consoleOrigin}/console`,
    mailDir,
    databaseUrl,
    binary,
    idpIssuer: idp.issuer,
    idpClient: IDP_CLIENT,
    idpAccounts: IDP_ACCOUNTS,
    tempDir,
    serverPid: server.pid ?? 0,
    idpPid: idp.child.pid ?? 0,
    screenshotsDir: screenshotsDir(),
  };
  process.env[STACK_ENV] = JSON.stringify(state);
  console.log(`orgql ${serverUrl} (console ${state.consoleUrl}), test IdP ${idp.issuer}; logs in ${LOG_DIR}`);
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

function startServer(binary: string, settings: Record<string, string>): ChildProcess {
  // None of the developer's own ORGQL_* settings reach this server.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ORGQL_')));
  const log = fs.openSync(path.join(LOG_DIR, 'server.log'), 'w');
  const child = spawn(binary, ['serve'], {
    env: { ...inherited, ...settings },
    stdio: ['ignore', log, log],
  });
  child.unref();
  return child;
}

async function waitForHealth(serverUrl: string, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(`the server exited (${server.exitCode}) at start-up:\n${logTail('server.log')}`);
    }
    try {
      const response = await fetch(`${serverUrl}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  server.kill('SIGTERM');
  throw new Error(`the server did not answer /healthz within 60 s:\n${logTail('server.log')}`);
}

function logTail(file: string): string {
  try {
    return fs.readFileSync(path.join(LOG_DIR, file), 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts the test IdP with `config` (its clients and accounts); it prints
 * its issuer as the first line, and ends when its standard input closes or
 * it is killed.
 */
async function startIdp(config: unknown): Promise<{ child: ChildProcess; issuer: string }> {
  if (!fs.existsSync(path.join(IDP_DIR, 'node_modules', 'oidc-provider'))) {
    const installed = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: IDP_DIR,
      stdio: 'inherit',
    });
    if (installed.status !== 0) throw new Error('npm ci in tests/idp failed');
  }
  const log = fs.openSync(path.join(LOG_DIR, 'idp.log'), 'w');
  const child = spawn(process.execPath, ['server.mjs'], {
    cwd: IDP_DIR,
    env: { ...process.env, IDP_CONFIG: JSON.stringify(config) },
    stdio: ['pipe', 'pipe', log],
  });
  const stdout = child.stdout;
  if (!stdout) throw new Error('the IdP has no output');
  const lines = readline.createInterface({ input: stdout });
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the test IdP printed nothing within 30 s')), 30_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`the test IdP exited (${code}):\n${logTail('idp.log')}`)));
  });
  // Keep reading, so that it never writes into a full pipe.
  lines.on('line', () => {});
  child.unref();
  const { issuer } = JSON.parse(first) as { issuer: string };
  return { child, issuer };
}
