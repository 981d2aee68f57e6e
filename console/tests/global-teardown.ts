// Ends the server and the test IdP that the global setup started, and
// removes their temporary directory (kept with ORGQL_E2E_KEEP=1).
import fs from 'node:fs';
import { STACK_ENV, stack } from './support/stack';

export default async function globalTeardown(): Promise<void> {
  if (!process.env[STACK_ENV]) return; // the setup failed before starting anything
  const { serverPid, idpPid, tempDir } = stack();
  await Promise.all([stop(serverPid), stop(idpPid)]);
  if (process.env.ORGQL_E2E_KEEP) {
    console.log(`kept the server's database and mail in ${tempDir}`);
  } else {
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}

/** SIGTERM (the server finishes its requests), then SIGKILL after 10 s. */
async function stop(pid: number): Promise<void> {
  if (!pid || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
