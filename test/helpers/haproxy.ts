import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

const HAPROXY = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';
const CONFIG = fileURLToPath(new URL('../../../deploy/haproxy.cfg', import.meta.url));

/**
 * A real HAProxy running the shipped deploy/haproxy.cfg in front of the server on
 * `backendPort`, stopped when `t` ends. Resolves with the proxy's port once it serves (its
 * health check on /readyz has found the server up).
 */
export async function startHaproxy(t: Test, backendPort: number): Promise<number> {
  t.ok(
    existsSync(HAPROXY),
    `HAProxy at ${HAPROXY} (npm test installs it: scripts/provision-tests.sh; or set HAPROXY_PATH)`,
  );
  const port = await freePort();
  let stderr = '';
  const proxy = spawn(HAPROXY, ['-db', '-f', CONFIG], {
    env: {
      ...process.env,
      PB_PROXY_BIND: `127.0.0.1:${port}`,
      PB_BACKEND: `127.0.0.1:${backendPort}`,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proxy.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  t.teardown(() => {
    proxy.kill('SIGKILL');
  });
  await waitFor(
    'HAProxy up with the server healthy',
    async () => {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
      await r?.arrayBuffer();
      return r?.status === 200;
    },
    30_000,
    200,
  ).catch((err: Error) => {
    throw new Error(`${err.message} (HAProxy: ${stderr.slice(-200)})`);
  });
  return port;
}
