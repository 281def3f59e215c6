import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { progress, sleep, writeResult } from '../lib/results.js';
import { startServer } from '../lib/server-process.js';
import { cpuShare, sampleProc } from '../ws-swarm/proc-stats.js';
import { runSwarm, type SwarmResult } from '../ws-swarm/swarm.js';

/**
 * `npm run bench:peers`: the same broadcast (same payload, tick, client count and swarm)
 * served by Pulseboard, by a `ws` server and by Socket.IO, and the same GET /api/metrics
 * snapshot served by Pulseboard and by Fastify — measured one after the other in one
 * command, with ratios. Server CPU and RSS come from /proc for the server's pid.
 *
 *   node dist/bench/peers/run-peers.js [--clients 1000] [--seconds 15] [--http-seconds 10]
 */

const PEER = fileURLToPath(new URL('./peer-server.js', import.meta.url));

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

interface BroadcastRun extends SwarmResult {
  target: string;
  rssIdleBytes: number;
  memoryPerConnectionBytes: number;
  /** Server CPU while idle (no clients), in cores: its own background work. */
  idleCpuCores: number;
  /** All server CPU during the run / delivered messages, µs. */
  cpuUsPerDeliveredMessage: number;
  /** (CPU during the run − idle CPU) / delivered messages, µs: the cost of the fan-out. */
  marginalCpuUsPerDeliveredMessage: number;
}

async function startPeer(
  kind: string,
  payload: string,
): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, [PEER, kind, '0', '500'], {
    env: { ...process.env, PEER_PAYLOAD: payload },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`${kind} peer exited with ${code}`)));
  });
  return { proc, port };
}

async function broadcast(
  target: string,
  url: string,
  pid: number,
  clients: number,
  seconds: number,
  protocol: 'ws' | 'socketio' = 'ws',
): Promise<BroadcastRun> {
  progress(`broadcast: ${target}, ${clients} clients`);
  await sleep(1000);
  const idleStart = sampleProc(pid);
  await sleep(3000);
  const idle = sampleProc(pid);
  const idleCpuCores = cpuShare(idleStart, idle);
  const r = await runSwarm({
    url,
    protocol,
    clients,
    processes: Math.max(1, Math.ceil(clients / 5000)),
    rampPerSecond: 2000,
    seconds,
    pid,
  });
  const perConn = r.server ? (r.server.rssBytes - idle.rssBytes) / Math.max(1, r.connected) : 0;
  return {
    target,
    ...r,
    rssIdleBytes: idle.rssBytes,
    memoryPerConnectionBytes: Math.round(perConn),
    idleCpuCores: Math.round(idleCpuCores * 1000) / 1000,
    cpuUsPerDeliveredMessage: r.server
      ? Math.round(r.server.cpuMsPerThousandMessages * 1000) / 1000
      : 0,
    marginalCpuUsPerDeliveredMessage:
      r.server && r.messages > 0
        ? Math.round((((r.server.cpuCores - idleCpuCores) * r.seconds * 1e6) / r.messages) * 1000) /
          1000
        : 0,
  };
}

async function http(target: string, url: string, seconds: number) {
  progress(`http: ${target} GET /api/metrics, ${seconds} s`);
  // Two autocannon workers: one JS thread tops out near 20k req/s and would measure itself.
  const r = await autocannon({
    url,
    connections: 100,
    pipelining: 1,
    duration: seconds,
    workers: 2,
  });
  return {
    target,
    reqPerSec: Math.round(r.requests.average),
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
    errors: r.errors + r.non2xx,
    throughputBytesPerSec: Math.round(r.throughput.average),
  };
}

/** peer / ours: above 1 means Pulseboard is better by that factor (null when undefined). */
function ratio(peer: number, ours: number): number | null {
  return ours > 0 && peer > 0 ? Math.round((peer / ours) * 100) / 100 : null;
}

async function main(): Promise<void> {
  const clients = arg('--clients', 1000);
  const seconds = arg('--seconds', 15);
  const httpSeconds = arg('--http-seconds', 10);

  // The simulator idles (SIM_TPS=0): the peers run no pipeline, so neither does ours here;
  // the broadcast is the real metrics snapshot it serves, and the peers send the same bytes.
  const ours = await startServer([
    '--sim-tps',
    '0',
    '--persistence',
    'off',
    '--ws-max-backpressure',
    String(16 * 1024 * 1024),
  ]);
  await sleep(3000);
  const payload = JSON.stringify(
    (await (await fetch(`${ours.url}/api/metrics`)).json()) as unknown,
  );
  const runs: BroadcastRun[] = [];
  runs.push(
    await broadcast('pulseboard', `${ours.wsUrl}?topics=metrics`, ours.proc.pid!, clients, seconds),
  );
  const oursHttp = await http('pulseboard', `${ours.url}/api/metrics`, httpSeconds);
  await ours.stop();

  for (const kind of ['ws', 'socketio'] as const) {
    const peer = await startPeer(kind, payload);
    const url =
      kind === 'ws'
        ? `ws://127.0.0.1:${peer.port}/ws`
        : `ws://127.0.0.1:${peer.port}/socket.io/?EIO=4&transport=websocket`;
    runs.push(
      await broadcast(
        kind,
        url,
        peer.proc.pid!,
        clients,
        seconds,
        kind === 'ws' ? 'ws' : 'socketio',
      ),
    );
    peer.proc.kill();
  }
  const fastify = await startPeer('fastify', payload);
  const fastifyHttp = await http(
    'fastify',
    `http://127.0.0.1:${fastify.port}/api/metrics`,
    httpSeconds,
  );
  fastify.proc.kill();

  const base = runs[0]!;
  const ratios = Object.fromEntries(
    runs.slice(1).map((r) => [
      r.target,
      {
        cpuPerMessage: ratio(r.cpuUsPerDeliveredMessage, base.cpuUsPerDeliveredMessage),
        marginalCpuPerMessage: ratio(
          r.marginalCpuUsPerDeliveredMessage,
          base.marginalCpuUsPerDeliveredMessage,
        ),
        memoryPerConnection: ratio(r.memoryPerConnectionBytes, base.memoryPerConnectionBytes),
        p99Latency: ratio(r.latencyMs.p99, base.latencyMs.p99),
      },
    ]),
  );
  const result = {
    clients,
    payloadBytes: payload.length,
    broadcast: runs,
    http: [oursHttp, fastifyHttp],
    ratios: {
      ...ratios,
      fastifyReqPerSec:
        Math.round((oursHttp.reqPerSec / Math.max(1, fastifyHttp.reqPerSec)) * 100) / 100,
    },
  };
  const file = writeResult(
    'peers',
    `node dist/bench/peers/run-peers.js --clients ${clients} --seconds ${seconds} --http-seconds ${httpSeconds}`,
    `${clients} WebSocket clients on topic metrics (2 updates/s, ${payload.length}-byte snapshot), swarm on the same machine; autocannon 50 connections`,
    result,
  );
  progress(`wrote ${file}`);
  process.stdout.write(`${JSON.stringify(result.ratios, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
