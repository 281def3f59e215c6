import type uWS from 'uWebSockets.js';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { PulseboardError } from '../errors.js';

/**
 * One instance per port. uSockets sets SO_REUSEPORT on every listen socket unless told
 * otherwise, so a second Pulseboard on a port already in use would start, and the kernel
 * would silently split new dashboards and ingest requests between two processes with
 * different state. We listen with LIBUS_LISTEN_EXCLUSIVE_PORT instead: the kernel refuses the
 * bind, atomically, if anything listens there — there is no window between a check and the
 * listen. The check before start (assertPortFree) only makes a second instance fail in
 * milliseconds, before it migrates the database or starts threads; if another process takes
 * the port between that check and the listen (seconds later), the listen itself refuses it.
 *
 * --port 0: uSockets sets SO_REUSEADDR only for an explicit port, and the TIME_WAIT sockets
 * a listener leaves behind inherit its flags, so restarting on a port that port 0 had chosen
 * failed for about a minute (EADDRINUSE until TIME_WAIT expires). We pick the free port
 * ourselves and hand uWS that explicit port: the listener then has SO_REUSEADDR, and a
 * restart on the same port succeeds at once. Another process could take the picked port
 * before uWS binds it; then we pick again.
 */

const PICK_ATTEMPTS = 5;
/** uWS.ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT (a declared enum: no runtime object). */
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;

/** Exit code of a refused start (in use, like a configuration error). */
export const PORT_IN_USE_EXIT_CODE = 2;

function bindProbe(host: string, port: number): Promise<{ port: number } | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    s.listen({ host, port, exclusive: true }, () => {
      const bound = (s.address() as { port: number }).port;
      s.close(() => resolve({ port: bound }));
    });
  });
}

function inUse(host: string, port: number): PulseboardError {
  return new PulseboardError(
    'PB_ERR_LISTEN_PORT_IN_USE',
    `port ${port} (${host}) is already in use by ${describePortHolder(port)}: refusing to share it ` +
      '(two servers on one port would split clients between different states); stop that process or choose another PORT',
    { port },
  );
}

/**
 * A port for listeners that share it (the fan-out threads' WS_PORT): `port` itself once
 * checked free, or a free one when 0. They listen with SO_REUSEPORT, so a port taken by
 * another process later would be shared silently: checked here, before they start.
 */
export async function sharedPort(host: string, port: number): Promise<number> {
  const r = await bindProbe(host, port);
  if ('port' in r) return r.port;
  if (r.code === 'EADDRINUSE') throw inUse(host, port);
  throw new PulseboardError('PB_ERR_LISTEN_FAILED', `cannot listen on ${host}:${port} (${r.code})`);
}

/** Refuses early (before the database and the threads) when `port` is taken. */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const r = await bindProbe(host, port);
  if ('code' in r && r.code === 'EADDRINUSE') throw inUse(host, port);
  // Other errors (an address not of this machine…) are reported by the listen itself.
}

function uwsListen(
  app: uWS.TemplatedApp,
  host: string,
  port: number,
): Promise<uWS.us_listen_socket | false> {
  return new Promise((resolve) => {
    // listen(host, port, options, cb) exists in the native addon; the typings only declare
    // the form without host.
    (
      app as unknown as {
        listen(
          h: string,
          p: number,
          o: number,
          cb: (s: uWS.us_listen_socket | false) => void,
        ): void;
      }
    ).listen(host, port, LIBUS_LISTEN_EXCLUSIVE_PORT, resolve);
  });
}

/** Listens on host:port exclusively (no SO_REUSEPORT); port 0 picks a free port first. */
export async function listenExclusive(
  app: uWS.TemplatedApp,
  host: string,
  port: number,
): Promise<{ socket: uWS.us_listen_socket; port: number }> {
  for (let attempt = 1; ; attempt++) {
    let target = port;
    if (port === 0) {
      const picked = await bindProbe(host, 0);
      if (!('port' in picked)) break; // the listen below reports why
      target = picked.port;
    }
    const socket = await uwsListen(app, host, target);
    if (socket) return { socket, port: target };
    const why = await bindProbe(host, target);
    if ('code' in why && why.code === 'EADDRINUSE') {
      if (port !== 0) throw inUse(host, target);
      if (attempt < PICK_ATTEMPTS) continue; // someone took the port we picked: pick again
    }
    break;
  }
  throw new PulseboardError(
    'PB_ERR_LISTEN_FAILED',
    `cannot listen on ${host}:${port} (not an address of this machine, or no free port)`,
  );
}

/**
 * Who listens on TCP `port` (Linux: /proc/net/tcp{,6} gives the socket inode, /proc/<pid>/fd
 * the process holding it), as "pid 1234 (node dist/src/main.js …)". Processes of other users
 * cannot be inspected: then "another process".
 */
export function describePortHolder(port: number): string {
  const inodes = listeningInodes(port);
  // Nothing listens, yet the bind failed: connections of a server that stopped moments ago.
  if (inodes.size === 0)
    return 'no listener (connections of a server that just stopped, in TIME_WAIT?)';
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return 'another process';
  }
  const holders: string[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // not ours to inspect, or gone
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) {
        holders.push(`pid ${pid} (${commandOf(pid)})`);
        break;
      }
    }
  }
  return holders.length > 0 ? holders.join(', ') : 'another process';
}

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = cols[1]!;
      if (cols[3] === '0A' && local.slice(local.lastIndexOf(':') + 1) === hexPort) {
        inodes.add(cols[9]!);
      }
    }
  }
  return inodes;
}

function commandOf(pid: string): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return cmd.length > 200 ? `${cmd.slice(0, 200)}…` : cmd || 'unknown command';
  } catch {
    return 'unknown command';
  }
}
