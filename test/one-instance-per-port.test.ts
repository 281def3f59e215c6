import uWS from 'uWebSockets.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { PulseboardError } from '../src/errors.js';
import { listenExclusive } from '../src/http/exclusive-listen.js';
import { freePort } from './helpers/free-port.js';
import { startServer } from './helpers/server.js';

/**
 * One instance per port (issue 10, part 4).
 *
 * 1. A second server on a port one is listening on must refuse: exit 2, with a message
 *    naming the port and the process holding it. Before the fix it started: uSockets set
 *    SO_REUSEPORT, and the kernel split new connections between the two processes.
 * 2. A server that chose its port with --port 0 and closed connections itself (TIME_WAIT on
 *    its side) can be restarted on that same port at once. Before the fix uSockets set no
 *    SO_REUSEADDR for port 0, the TIME_WAIT sockets inherited that, and the restart failed
 *    with "cannot listen" for about a minute.
 */

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

/** Runs main.js to its exit (bounded: a server that starts instead is killed and fails). */
async function runToExit(
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; logs: Record<string, unknown>[]; stderr: string }> {
  const proc = spawn(process.execPath, [MAIN, '--log-pretty', 'false', ...args], {
    env: { ...process.env, PB_EXIT_WITH_PARENT: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(proc, 'exit')) as [number | null];
  clearTimeout(timer);
  const logs = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, logs, stderr };
}

/** TCP sockets in TIME_WAIT whose local port is `port` (Linux /proc/net/tcp{,6}). */
function timeWaitOn(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 3 && cols[1]!.endsWith(hex) && cols[3] === '06') n++;
    }
  }
  return n;
}

t.test(
  'a second server on a port in use refuses with exit 2, naming the port and its holder',
  async (t) => {
    // An explicit port, as in production: there uSockets set SO_REUSEPORT, and the kernel let
    // a second process listen too.
    const port = await freePort();
    const first = await startServer(['--port', String(port), '--sim-tps', '0', '--shards', '1']);
    t.teardown(() => first.stop());
    const second = await runToExit([
      '--port',
      String(first.port),
      '--sim-tps',
      '0',
      '--shards',
      '1',
      '--persistence',
      'off',
    ]);
    t.equal(second.code, 2, `the second server exits 2 (stderr: ${second.stderr.slice(0, 300)})`);
    const refusal = second.logs.find((l) => l.code === 'PB_ERR_LISTEN_PORT_IN_USE');
    t.ok(refusal, 'it logs PB_ERR_LISTEN_PORT_IN_USE');
    const message = String(refusal?.msg ?? '');
    t.match(message, `port ${first.port}`, 'the message names the port');
    t.match(message, `pid ${first.proc.pid}`, 'and the process holding it');
    t.notOk(
      second.logs.some((l) => l.msg === 'database writers started' || typeof l.url === 'string'),
      'it refused before starting anything',
    );
    const health = await fetch(`${first.url}/healthz`);
    t.equal(health.status, 200, 'the first server still serves');
  },
);

t.test('a server that chose its port with --port 0 restarts on it at once', async (t) => {
  const first = await startServer(['--sim-tps', '0', '--shards', '1']);
  const port = first.port;
  // Keep-alive connections the server closes at shutdown: the server side does the active
  // close, so the TIME_WAIT sockets are on its port.
  const sockets = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const s = connect(port, '127.0.0.1');
      await once(s, 'connect');
      s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await once(s, 'data');
      s.on('error', () => {});
      return s;
    }),
  );
  const closed = sockets.map((s) => once(s, 'close'));
  t.equal(await first.stop(), 0, 'the first server stops cleanly');
  await Promise.all(closed);
  t.ok(timeWaitOn(port) > 0, `the server's side left sockets in TIME_WAIT on ${port}`);

  // At once: no wait for TIME_WAIT to expire.
  const again = await startServer(['--port', String(port), '--sim-tps', '0', '--shards', '1']);
  t.teardown(() => again.stop());
  t.equal(again.port, port, 'the restarted server listens on the same port');
  t.equal((await fetch(`${again.url}/healthz`)).status, 200, 'and serves');
});

t.test(
  'the listen itself refuses a port taken after the early check, even by SO_REUSEPORT',
  async (t) => {
    // A holder listening the way uSockets did by default (SO_REUSEPORT), in this process: the
    // kernel would let a second SO_REUSEPORT listener share it, but not our exclusive one.
    const port = await freePort();
    const holder = uWS.App();
    const held = await new Promise<uWS.us_listen_socket | false>((r) =>
      holder.listen('127.0.0.1', port, r),
    );
    t.ok(held, `holder listens on ${port}`);
    t.teardown(() => {
      if (held) uWS.us_listen_socket_close(held);
    });
    const err = await listenExclusive(uWS.App(), '127.0.0.1', port).then(
      () => undefined,
      (e: PulseboardError) => e,
    );
    t.equal(err?.code, 'PB_ERR_LISTEN_PORT_IN_USE', 'refused');
    t.match(err?.message, `pid ${process.pid}`, 'naming this process as the holder');
  },
);
