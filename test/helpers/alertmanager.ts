import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

/**
 * A real Prometheus Alertmanager for tests (Debian's `prometheus-alertmanager`, or
 * ALERTMANAGER_PATH), on a free loopback port, clustering off, with its own config and
 * storage in a temporary directory that is removed on stop. scripts/provision-tests.sh
 * installs it for `npm test`; without it this fails with how to install it.
 *
 * And the other end: a webhook receiver, a small HTTP server that records what it gets.
 */

const CANDIDATES = [
  '/usr/bin/prometheus-alertmanager',
  '/usr/bin/alertmanager',
  '/usr/local/bin/alertmanager',
];

export function findAlertmanager(): string {
  const fromEnv = process.env.ALERTMANAGER_PATH;
  if (fromEnv) return fromEnv;
  for (const p of CANDIDATES) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v alertmanager'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  throw new Error(
    'no Alertmanager for the alerting tests: install it (Debian/Ubuntu: sudo apt-get install -y prometheus-alertmanager) or set ALERTMANAGER_PATH',
  );
}

/** amtool, shipped next to Alertmanager (Debian's package has both). */
export function findAmtool(): string {
  const dir = findAlertmanager().replace(/\/[^/]+$/, '');
  for (const p of [`${dir}/amtool`, '/usr/bin/amtool']) if (existsSync(p)) return p;
  throw new Error('no amtool next to Alertmanager (Debian: prometheus-alertmanager ships it)');
}

export interface RunningAlertmanager {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts Alertmanager with a route to `webhookUrl` and short group timings (test speed). */
export async function startAlertmanager(webhookUrl: string): Promise<RunningAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-am-'));
  const port = await freePort();
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(
    config,
    `route:
  receiver: hook
  group_by: ['alertname', 'source']
  group_wait: 500ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: '${webhookUrl}'
        send_resolved: true
`,
  );
  let stderr = '';
  const proc = spawn(
    findAlertmanager(),
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'Alertmanager ready',
      async () => {
        if (proc.exitCode !== null) throw new Error(`alertmanager exited: ${stderr}`);
        return fetch(`${url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        );
      },
      20_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, proc, stop };
}

export interface Received {
  at: number;
  path: string;
  body: any;
}

export interface Recorder {
  url: string;
  port: number;
  received: Received[];
  server: Server;
  close(): Promise<void>;
}

/** An HTTP server that answers 200 to every POST and keeps the JSON bodies. */
export async function startRecorder(port = 0): Promise<Recorder> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      received.push({ at: Date.now(), path: req.url ?? '', body: body ? JSON.parse(body) : null });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    received,
    server,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
