import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { freePort } from './free-port.js';

/**
 * NATS with JetStream for tests (the JetStream door, src/ingest/stream/):
 *   - the shared server on 127.0.0.1:4222 (scripts/ensure-nats.sh starts it), used with a
 *     stream, subject and consumer of the test's own (`uniqueStream`), so that engineers and
 *     suites running at once never meet;
 *   - a private nats-server (own port, own store dir) for tests that kill the server.
 */

export const SHARED_NATS = '127.0.0.1:4222';

const INSTALL_HINT =
  'no nats-server found: run `sudo sh scripts/ensure-nats.sh` (Debian: apt-get install nats-server) or set NATS_SERVER_PATH';

export interface StreamNames {
  /** For INGEST_STREAM: nats://<server>/<subject>. */
  url: string;
  subject: string;
  stream: string;
  deadStream: string;
  deadSubject: string;
}

/** A stream, subject and dead-letter names no other suite uses. */
export function uniqueStream(prefix: string, server = SHARED_NATS): StreamNames {
  const tag = `${prefix}_${randomBytes(4).toString('hex')}`;
  const subject = `pbtest.${tag}.tx`;
  const stream = `PBTEST_${tag.toUpperCase()}`;
  return {
    url: `nats://${server}/${subject}`,
    subject,
    stream,
    deadStream: `${stream}_DEAD`,
    deadSubject: `${subject}.dead`,
  };
}

/** The server options for `names` (flags of the real server). */
export function streamArgs(names: StreamNames): string[] {
  return ['--ingest-stream', names.url, '--ingest-stream-name', names.stream];
}

export function natsClient(server = SHARED_NATS): Promise<NatsConnection> {
  return connect({ servers: server });
}

/** Deletes the test's streams (consumers go with them). */
export async function deleteStreams(names: StreamNames, server = SHARED_NATS): Promise<void> {
  const nc = await natsClient(server);
  const jsm = await nc.jetstreamManager();
  for (const s of [names.stream, names.deadStream]) await jsm.streams.delete(s).catch(() => {});
  await nc.close();
}

function findBinary(): string {
  for (const p of [process.env.NATS_SERVER_PATH, '/usr/sbin/nats-server', '/usr/bin/nats-server']) {
    if (p && existsSync(p)) return p;
  }
  throw new Error(INSTALL_HINT);
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A private nats-server with JetStream: `kill()` is kill -9 (the store stays), `start()`
 * brings it back on the same port with the same store, `destroy()` also removes the store
 * (and runs on process exit).
 */
export interface PrivateNats {
  server: string;
  port: number;
  start(): Promise<void>;
  kill(): Promise<void>;
  destroy(): Promise<void>;
}

const privates = new Set<PrivateNats>();
process.once('exit', () => {
  for (const p of privates) void p.destroy();
});

export async function startPrivateNats(): Promise<PrivateNats> {
  const bin = findBinary();
  const dir = mkdtempSync(join(tmpdir(), 'pb-nats-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const running = () => proc !== undefined && proc.exitCode === null && proc.signalCode === null;
  const handle: PrivateNats = {
    server: `127.0.0.1:${port}`,
    port,
    async start() {
      if (running()) return;
      proc = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
        stdio: 'ignore',
      });
      for (let i = 0; i < 100; i++) {
        if (await answers(port)) return;
        if (!running()) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await handle.destroy();
      throw new Error(`private nats-server did not answer on port ${port}`);
    },
    async kill() {
      const p = proc;
      if (!p || !running()) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    },
    async destroy() {
      privates.delete(handle);
      if (proc && running()) proc.kill('SIGKILL');
      proc = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  privates.add(handle);
  await handle.start();
  return handle;
}
