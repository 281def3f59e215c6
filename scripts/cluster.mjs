#!/usr/bin/env node
// `npm run cluster`: a local three-node Pulseboard cluster behind HAProxy, for trying it out
// (README "Running a cluster"). Needs NATS with JetStream (NATS_URL, default
// nats://127.0.0.1:4222; started here from nats-server on PATH when nothing answers) and
// HAProxy (HAPROXY_PATH, default /usr/sbin/haproxy). MYSQL_URL and every other option in
// the environment reach the nodes. Ctrl-C stops everything.
//
//   PB_CLUSTER_PORT   the load balancer's port (default 8080); nodes on the next three
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODES = 3;
const base = Number(process.env.PB_CLUSTER_PORT ?? 8080);
const natsUrl = process.env.NATS_URL || 'nats://127.0.0.1:4222';
const haproxy = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';
const children = [];
let stopping = false;

function fail(message) {
  process.stderr.write(`npm run cluster: ${message}\n`);
  stop(1);
}

function answers(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect({ host: hostname, port: Number(port || 4222) });
    s.once('connect', () => resolve(s.end() && true));
    s.once('error', () => resolve(false));
    s.setTimeout(1000, () => resolve(s.destroy() && false));
  });
}

function start(name, cmd, args, env = {}) {
  const child = spawn(cmd, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.once('exit', (code, signal) => {
    if (!stopping) fail(`${name} exited (${signal ?? code}); stopping the cluster`);
  });
  children.push(child);
  return child;
}

let natsDir;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  const left = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
  const done = () => {
    if (natsDir) rmSync(natsDir, { recursive: true, force: true });
    process.exit(code);
  };
  const timer = setTimeout(() => {
    for (const c of left()) c.kill('SIGKILL');
    done();
  }, 15_000);
  const check = setInterval(() => {
    if (left().length > 0) return;
    clearInterval(check);
    clearTimeout(timer);
    done();
  }, 100);
}
process.once('SIGINT', () => stop(0));
process.once('SIGTERM', () => stop(0));

if (!existsSync(haproxy))
  fail(`HAProxy not found at ${haproxy}: apt-get install haproxy (or set HAPROXY_PATH)`);
if (!(await answers(natsUrl))) {
  const which = spawnSync('sh', ['-c', 'command -v nats-server || ls /usr/sbin/nats-server'], {
    encoding: 'utf8',
  });
  const bin = which.stdout.trim().split('\n')[0];
  if (!bin)
    fail(
      `nothing answers at ${natsUrl} and nats-server is not installed: apt-get install nats-server`,
    );
  natsDir = mkdtempSync(join(tmpdir(), 'pb-cluster-nats-'));
  const { port } = new URL(natsUrl);
  start('nats-server', bin, ['-a', '127.0.0.1', '-p', port || '4222', '-js', '-sd', natsDir]);
  for (let i = 0; i < 50 && !(await answers(natsUrl)); i++)
    await new Promise((r) => setTimeout(r, 100));
}
const main = join(root, 'dist', 'src', 'main.js');
for (let i = 0; i < NODES; i++) {
  start(`node ${i}`, process.execPath, [main, '--port', String(base + 1 + i)], {
    NATS_URL: natsUrl,
    NODE_ID: String(i),
    CLUSTER_NAME: process.env.CLUSTER_NAME ?? 'pulseboard-local',
  });
}
// Give the nodes their start (migrations, threads), then the balancer's health checks decide.
await new Promise((r) => setTimeout(r, 3000));
const proxyEnv = { PB_PROXY_BIND: `127.0.0.1:${base}` };
for (let i = 0; i < NODES; i++) proxyEnv[`PB_NODE_${i}`] = `127.0.0.1:${base + 1 + i}`;
start('haproxy', haproxy, ['-db', '-f', join(root, 'deploy', 'haproxy-cluster.cfg')], proxyEnv);
process.stdout.write(
  `\nPulseboard cluster: ${NODES} nodes on ${natsUrl}\n` +
    `  dashboard (HAProxy): http://127.0.0.1:${base}/\n` +
    Array.from(
      { length: NODES },
      (_, i) => `  node ${i}:             http://127.0.0.1:${base + 1 + i}/\n`,
    ).join('') +
    'Ctrl-C stops everything.\n\n',
);
