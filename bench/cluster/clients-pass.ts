import { progress, sleep } from '../lib/results.js';
import { round } from '../lib/stats.js';
import { runSwarm } from '../ws-swarm/swarm.js';
import { nodeArgs, startCluster } from './nodes.js';

/**
 * One pass of the clients part of `bench:cluster`: `clients` WebSocket clients on the
 * `metrics` topic spread over `nodeCount` nodes (swarm process i connects straight to node
 * i mod nodeCount's port: no proxy in between), the cluster asked for `tps` in total,
 * persistence off. Delivery p99 and gaps from the raw-TCP swarm (bench/ws-swarm/), and
 * server CPU per delivered message: the CPU of every node process (all threads, /proc)
 * over the span ÷ messages delivered. One node is a cluster of one, so that only the node
 * count differs.
 */

export const SWARM_PROCESSES = 3; // ≤ 5,000 sockets each at 10,000 clients (open-files limit)
const SETTLE_MS = 3000;
const RAMP_PER_SECOND = 2500;
const MAX_BACKPRESSURE = 16 << 20;

export async function runClientsPass(
  nodeCount: number,
  clients: number,
  tps: number,
  seconds: number,
) {
  const cluster = await startCluster(
    nodeCount,
    nodeArgs(tps, 'off', [
      '--ws-max-backpressure',
      String(MAX_BACKPRESSURE),
      '--ws-max-connections',
      String(Math.max(20_000, clients + 1000)),
    ]),
  );
  try {
    await sleep(SETTLE_MS);
    progress(`cluster bench: ${clients} clients over ${nodeCount} node(s), ${tps} tx/s in total`);
    const r = await runSwarm({
      url: cluster.nodes[0]!.wsUrl,
      urls: cluster.nodes.map((n) => `${n.wsUrl}?topics=metrics`),
      pids: cluster.nodes.map((n) => n.proc.pid!),
      clients,
      processes: Math.max(SWARM_PROCESSES, Math.ceil(clients / 5000)),
      rampPerSecond: RAMP_PER_SECOND,
      seconds,
      quiet: true,
    });
    const cpuUsPerMessage =
      r.server && r.messagesPerSec > 0
        ? round((r.server.cpuCores / r.messagesPerSec) * 1e6, 2)
        : null;
    progress(
      `  p99 ${r.latencyMs.p99} ms, gaps ${r.gaps}, ${r.connected} connected, ${cpuUsPerMessage} µs server CPU/message`,
    );
    return {
      nodes: nodeCount,
      clients,
      connected: r.connected,
      failedConnections: r.failedConnections,
      messagesPerSec: r.messagesPerSec,
      gaps: r.gaps,
      latencyMs: r.latencyMs,
      serverCpuCores: r.server?.cpuCores ?? null,
      cpuUsPerMessage,
      swarmCpuCores: r.swarm.cpuCores,
      machineBusyCores: r.machine.busyCores,
    };
  } finally {
    await cluster.stopAll();
  }
}

export const CLIENTS_CONDITIONS = `swarm of ${SWARM_PROCESSES} raw-TCP processes on the same machine, process i connected straight to node i mod N's port (no HAProxy), ramp ${RAMP_PER_SECOND}/s, topic metrics every 500 ms, --ws-max-backpressure ${MAX_BACKPRESSURE}; one node = a cluster of one; server CPU per delivered message = CPU of all node processes (all threads) ÷ messages delivered per second`;
