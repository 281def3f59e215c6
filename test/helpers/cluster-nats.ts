import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

/**
 * A private nats-server with JetStream (its own store directory and free port), for tests
 * that stop NATS: the shared one on 127.0.0.1:4222 is never stopped. `stop()` kills it and
 * keeps the directory, `start()` brings it back on the same port, `destroy()` removes all.
 */

export interface PrivateNats {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

function natsServerBinary(): string {
  const env = process.env.NATS_SERVER_PATH;
  if (env) return env;
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'])
    if (existsSync(p)) return p;
  throw new Error(
    'nats-server not found: install it (Debian: apt-get install -y nats-server) or put it on PATH',
  );
}

/** `host`: the address to bind (default loopback; the partition test binds a veth address). */
export async function startPrivateNats(host = '127.0.0.1'): Promise<PrivateNats> {
  const bin = natsServerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'pb-nats-'));
  const port = await freePort();
  const url = `nats://${host}:${port}`;
  let proc: ChildProcess | undefined;
  const answers = async () => {
    try {
      const nc = await connect({ servers: url, timeout: 500, reconnect: false });
      await nc.close();
      return true;
    } catch {
      return false;
    }
  };
  const start = async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) return; // running
    proc = spawn(bin, ['-a', host, '-p', String(port), '-js', '-sd', dir], {
      stdio: 'ignore',
    });
    // The test process may end while it runs (the fallback server of findNats()): the exit
    // hook below kills it then.
    proc.unref();
    await waitFor(`nats-server on ${url}`, answers, 10_000, 100);
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.ref(); // an unref'd child's exit would not keep this process waiting for it
    p.kill('SIGKILL');
    await exited;
  };
  process.once('exit', () => proc?.kill('SIGKILL'));
  await start();
  return {
    url,
    start,
    stop,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
