import { readFileSync } from 'node:fs';
import type { MetricsSnapshot } from '../../src/metrics/snapshot-types.js';
import { benchArgs } from '../lib/cli-args.js';
import { progress, sleep, writeResult } from '../lib/results.js';
import { GC_NODE_ARGS, startServer } from '../lib/server-process.js';
import { gcSettle, settledRss } from './proc-stats.js';
import { runSwarm } from './swarm.js';

/**
 * `npm run bench:fanout`: how delivery of the `metrics` topic (2 updates/s) scales with the
 * client count while the pipeline runs at a given rate: for each WS_THREADS value K and
 * each N, messages/s, sequence gaps, delivery latency percentiles, server CPU (and per
 * delivered message) and RSS, the primary's event-loop delay, the swarm's and the
 * machine's CPU. One pass per (K, N), a fresh server each: the curve's shape. The fan-out bar itself (p99
 * as a ratio to a bare uWS publisher, over interleaved repeats) is measured by
 * bench/peers/run-peers.ts.
 *
 * Then the memory of idle connections (no topics): (settled RSS with N idle sockets −
 * settled RSS before) / N, where settled = median of 5 readings 0.5 s apart, each right
 * after a forced full GC (bench/lib/gc-hook.ts).
 *
 *   node dist/bench/ws-swarm/fanout.js [--clients 100,1000,10000] [--ws-threads 1,2]
 *        [--tps 10000] [--seconds 20] [--idle-clients 10000] [--name fanout]
 *        [--server-url http://host:8080 --ws-url ws://host:8081/ws?token=T --read-token T]
 *
 * With --server-url (and --ws-url when WS_THREADS > 1 there) the swarm drives a server
 * started elsewhere — on a machine with idle cores, the swarm on another one — instead of
 * starting its own (--ws-threads and --tps are then that server's business; server CPU is
 * not sampled).
 */

const TICK_MS = 500;
const SETTLE_MS = 3000;
/** Before the idle-memory baseline, with a forced GC every second (see gcSettle). */
const IDLE_SETTLE_MS = 12_000;
const RAMP_PER_SECOND = 2500;
const IDLE_SECONDS = 5;
const RSS_SAMPLES = 5;
const RSS_INTERVAL_MS = 500;
const MAX_BACKPRESSURE = 16 << 20;

const flags = benchArgs({
  command: 'node dist/bench/ws-swarm/fanout.js',
  about:
    'WebSocket fan-out: the live metrics frame to N subscribed clients (and idle connected ones) at a simulator rate, per client count and fan-out thread count; a remote server with --server-url. Writes bench/results/<name>.json.',
  flags: {
    clients: { type: 'numbers', default: '100,1000,10000', help: 'subscribed clients, a run each' },
    'ws-threads': { type: 'numbers', default: '1', help: 'fan-out thread counts, a run each' },
    'server-url': { type: 'string', default: '', help: 'measure a running server instead' },
    'ws-url': { type: 'string', help: "the remote server's /ws (default: from --server-url)" },
    'read-token': { type: 'string', default: '', help: "the remote server's READ_TOKEN" },
    tps: { type: 'number', default: '10000', help: 'simulator transactions/s' },
    seconds: { type: 'number', default: '20', help: 'measured seconds per run' },
    'idle-clients': { type: 'number', default: '10000', help: 'connected clients with no topic' },
    name: { type: 'string', default: 'fanout', help: 'result file bench/results/<name>.json' },
  },
});

async function main(): Promise<void> {
  const counts = flags.clients;
  const threadCounts = flags['ws-threads'];
  const remote = flags['server-url'];
  // A server reachable from another machine has a READ_TOKEN: /api/metrics needs it.
  const readToken = flags['read-token'];
  const headers: Record<string, string> = readToken ? { authorization: `Bearer ${readToken}` } : {};
  const { tps, seconds, name } = flags;
  const idleClients = flags['idle-clients'];
  const rows = [];
  for (const wsThreads of remote ? [0] : threadCounts) {
    for (const clients of counts) {
      // The server holds one descriptor per client (the swarm processes 5,000 each): past
      // the limit its accepts fail and the ramp would wait for ever.
      const fds = openFilesLimit();
      if (!remote && fds !== null && clients + FD_MARGIN > fds) {
        progress(
          `fan-out: ${clients} clients skipped: the open-files limit is ${fds} (raise ulimit -n above ${clients + FD_MARGIN})`,
        );
        rows.push({ clients, wsThreads, skipped: `open-files limit ${fds}` });
        continue;
      }
      const server: SwarmTarget = remote
        ? remoteServer(remote, flags['ws-url'] ?? `${remote.replace(/^http/, 'ws')}/ws`)
        : await startServer([
            '--sim-tps',
            String(tps),
            '--persistence',
            'off',
            '--tick-ms',
            String(TICK_MS),
            '--ws-max-backpressure',
            String(MAX_BACKPRESSURE),
            '--ws-threads',
            String(wsThreads),
            '--ws-max-connections',
            String(Math.max(20_000, clients + 1000)),
          ]).then((p) => ({ ...p, pid: p.proc.pid }));
      try {
        await sleep(SETTLE_MS);
        progress(
          `fan-out: ${clients} clients, ${remote ? `server ${remote}` : `WS_THREADS=${wsThreads}, pipeline at ${tps} tx/s`}`,
        );
        let eventLoopDelayP99Ms: number | null = null;
        const r = await runSwarm({
          // --ws-url may carry ?token= (READ_TOKEN on a server reachable from elsewhere).
          url: `${server.wsUrl}${server.wsUrl.includes('?') ? '&' : '?'}topics=metrics`,
          clients,
          processes: Math.max(1, Math.ceil(clients / 5000)),
          rampPerSecond: RAMP_PER_SECOND,
          seconds,
          ...(server.pid ? { pid: server.pid } : {}),
          quiet: true,
          async duringRun() {
            const m = (await (
              await fetch(`${server.url}/api/metrics`, { headers })
            ).json()) as MetricsSnapshot;
            eventLoopDelayP99Ms = m.pipeline.eventLoopDelayP99Ms;
          },
        });
        const cpuUsPerMessage =
          r.server && r.messagesPerSec > 0
            ? Math.round((r.server.cpuCores / r.messagesPerSec) * 1e6 * 100) / 100
            : null;
        rows.push({
          ...r,
          wsThreads: remote ? null : wsThreads,
          pipelineTps: remote ? null : tps,
          eventLoopDelayP99Ms,
          cpuUsPerMessage,
        });
        progress(
          `  p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms, gaps ${r.gaps}, ${r.connected} connected, loop p99 ${eventLoopDelayP99Ms} ms, ${cpuUsPerMessage} µs CPU/message`,
        );
      } finally {
        await server.stop();
      }
    }
  }

  let idle = null;
  if (idleClients > 0 && !remote) {
    const server = await startServer(
      ['--sim-tps', '0', '--persistence', 'off'],
      {},
      { nodeArgs: GC_NODE_ARGS },
    );
    try {
      const pid = server.proc.pid!;
      const gc = () => server.gc();
      const settled = await gcSettle(pid, IDLE_SETTLE_MS, gc);
      const before = await settledRss(pid, gc, RSS_SAMPLES, RSS_INTERVAL_MS);
      progress(`idle connections: ${idleClients}`);
      let after = before;
      const r = await runSwarm({
        url: server.wsUrl,
        clients: idleClients,
        processes: Math.max(1, Math.ceil(idleClients / 5000)),
        rampPerSecond: RAMP_PER_SECOND,
        seconds: IDLE_SECONDS,
        pid,
        quiet: true,
        async duringRun() {
          after = await settledRss(pid, gc, RSS_SAMPLES, RSS_INTERVAL_MS);
        },
      });
      idle = {
        clients: idleClients,
        connected: r.connected,
        rssBeforeBytes: before.medianBytes,
        rssAfterBytes: after.medianBytes,
        anonBeforeBytes: before.medianAnonBytes,
        anonAfterBytes: after.medianAnonBytes,
        anonReadingSpreadBytes: { before: before.anonSpreadBytes, after: after.anonSpreadBytes },
        gcForced: before.gcForced && after.gcForced,
        settleMs: settled.ms,
        settledStill: settled.still,
        bytesPerConnection: Math.round(
          (after.medianAnonBytes - before.medianAnonBytes) / Math.max(1, r.connected),
        ),
        rssBytesPerConnection: Math.round(
          (after.medianBytes - before.medianBytes) / Math.max(1, r.connected),
        ),
      };
      progress(`  ${idle.bytesPerConnection} bytes (anonymous RSS) per idle connection`);
    } finally {
      await server.stop();
    }
  }
  writeResult(
    name,
    `node dist/bench/ws-swarm/fanout.js --clients ${counts.join(',')} --ws-threads ${threadCounts.join(',')} --tps ${tps} --seconds ${seconds} --idle-clients ${idleClients}${remote ? ` --server-url ${remote}` : ''}`,
    `metrics topic every ${TICK_MS} ms; pipeline at ${tps} tx/s (persistence off), --ws-max-backpressure ${MAX_BACKPRESSURE}; one pass per WS_THREADS value and client count, a fresh server each; server CPU per delivered message = server CPU (all threads) / messages delivered per second; raw-TCP swarm on the same machine (one process per 5,000 clients), ramp ${RAMP_PER_SECOND}/s, ${seconds} s measured after the ramp; event-loop p99 = the primary's last 10 s window at the span's end; idle connections: ${idleClients} sockets with no topic on an idle server (SIM_TPS=0), memory = (median of ${RSS_SAMPLES} post-GC readings of anonymous RSS ${RSS_INTERVAL_MS} ms apart with the sockets open − the same before, read once it held still (5 readings 1 s apart within 512 KB, after at least ${IDLE_SETTLE_MS / 1000} s, at most ${(3 * IDLE_SETTLE_MS) / 1000} s) with a forced GC every second) / connected (RssAnon of the server process: heap and malloc, not code pages nor kernel socket buffers)`,
    { runs: rows, idle },
  );
}

/** Descriptors a server needs besides its clients (database, threads, listen sockets). */
const FD_MARGIN = 1000;

/** The soft open-files limit this process (and the server it starts) runs under. */
function openFilesLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

interface SwarmTarget {
  url: string;
  wsUrl: string;
  /** The server process to sample, when this run started it. */
  pid: number | undefined;
  stop(): Promise<unknown>;
}

/** A server this run did not start (--server-url): nothing to stop, no process to sample. */
function remoteServer(url: string, wsUrl: string): SwarmTarget {
  return { url, wsUrl, pid: undefined, stop: async () => null };
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
