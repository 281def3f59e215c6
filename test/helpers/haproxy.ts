import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

/**
 * A real HAProxy running one of the shipped configurations (deploy/haproxy.cfg by default,
 * deploy/haproxy-cluster.cfg for a cluster) in front of test servers, on a free port,
 * started once a backend answers /healthz through it. `env` sets the config's variables
 * (PB_BACKEND, PB_WS_BACKEND; PB_NODE_<i>); PB_PROXY_BIND is chosen here.
 */

export const HAPROXY = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';
const deployFile = (name: string) =>
  fileURLToPath(new URL(`../../../deploy/${name}`, import.meta.url));

export interface RunningProxy {
  port: number;
  url: string;
  stop(): void;
}

export function haproxyInstalled(): boolean {
  return existsSync(HAPROXY);
}

export async function startHaproxy(
  env: Record<string, string>,
  config = 'haproxy.cfg',
): Promise<RunningProxy> {
  if (!haproxyInstalled())
    throw new Error(`HAProxy not at ${HAPROXY} (npm test installs it; or set HAPROXY_PATH)`);
  const port = await freePort();
  let stderr = '';
  const proxy: ChildProcess = spawn(HAPROXY, ['-db', '-f', deployFile(config)], {
    env: { ...process.env, PB_PROXY_BIND: `127.0.0.1:${port}`, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proxy.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => proxy.kill('SIGKILL');
  try {
    await waitFor(
      'HAProxy up with the server healthy',
      async () => {
        const r = await fetch(`${url}/healthz`).catch(() => null);
        await r?.arrayBuffer();
        return r?.status === 200;
      },
      30_000,
      200,
    );
  } catch (err) {
    stop();
    throw new Error(`${(err as Error).message}: ${stderr.slice(-400)}`);
  }
  return { port, url, stop };
}

/** startHaproxy for one tap test: fails the test if HAProxy is missing, stops it at teardown. */
export async function startHaproxyFor(t: Test, env: Record<string, string>): Promise<RunningProxy> {
  t.ok(
    haproxyInstalled(),
    `HAProxy at ${HAPROXY} (npm test installs it: scripts/provision-tests.sh; or set HAPROXY_PATH)`,
  );
  const proxy = await startHaproxy(env);
  t.teardown(() => proxy.stop());
  return proxy;
}
