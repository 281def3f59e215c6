import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

/**
 * deploy/haproxy-cluster.cfg run by a real HAProxy in front of test nodes, on a free port.
 */

const HAPROXY = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';
const CONFIG = fileURLToPath(new URL('../../../deploy/haproxy-cluster.cfg', import.meta.url));

export interface ClusterProxy {
  url: string;
  stop(): void;
}

export async function startClusterProxy(nodePorts: number[]): Promise<ClusterProxy> {
  if (!existsSync(HAPROXY))
    throw new Error(`HAProxy not at ${HAPROXY} (npm test installs it; or set HAPROXY_PATH)`);
  const port = await freePort();
  const env: Record<string, string> = { PB_PROXY_BIND: `127.0.0.1:${port}` };
  nodePorts.forEach((p, i) => {
    env[`PB_NODE_${i}`] = `127.0.0.1:${p}`;
  });
  let stderr = '';
  const proc: ChildProcess = spawn(HAPROXY, ['-db', '-f', CONFIG], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'HAProxy up with a healthy node',
    async () => {
      const r = await fetch(`${url}/healthz`).catch(() => null);
      await r?.arrayBuffer();
      return r?.status === 200;
    },
    30_000,
    200,
  ).catch((err: Error) => {
    proc.kill('SIGKILL');
    throw new Error(`${err.message}: ${stderr.slice(-500)}`);
  });
  return { url, stop: () => proc.kill('SIGKILL') };
}
