import { progress, sleep, writeResult } from '../lib/results.js';
import { startServer } from '../lib/server-process.js';
import { sampleProc } from './proc-stats.js';
import { runSwarm } from './swarm.js';

/**
 * `npm run bench:fanout`: delivery of the `metrics` topic (2 updates/s) to N clients while
 * the pipeline runs at a given rate, for each N: messages/s, sequence gaps, delivery
 * latency percentiles, server CPU and RSS. Then the memory of idle connections (no
 * topics): RSS growth / connections. A fresh server per N.
 *
 *   node dist/bench/ws-swarm/fanout.js [--clients 100,1000,10000] [--tps 10000] [--seconds 20]
 *        [--idle-clients 10000] [--name fanout]
 */

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1]!;
}

async function main(): Promise<void> {
  const counts = arg('--clients', '100,1000,10000').split(',').map(Number);
  const tps = Number(arg('--tps', '10000'));
  const seconds = Number(arg('--seconds', '20'));
  const idleClients = Number(arg('--idle-clients', '10000'));
  const name = arg('--name', 'fanout');
  const rows = [];
  for (const clients of counts) {
    const server = await startServer([
      '--sim-tps',
      String(tps),
      '--persistence',
      'off',
      '--ws-max-backpressure',
      String(16 << 20),
    ]);
    try {
      await sleep(3000);
      progress(`fan-out: ${clients} clients, pipeline at ${tps} tx/s`);
      const r = await runSwarm({
        url: `${server.wsUrl}?topics=metrics`,
        clients,
        processes: Math.max(1, Math.ceil(clients / 5000)),
        rampPerSecond: 2500,
        seconds,
        pid: server.proc.pid!,
        quiet: true,
      });
      const snapshot = (await (await fetch(`${server.url}/api/metrics`)).json()) as {
        pipeline: { eventLoopDelayP99Ms: number };
      };
      rows.push({
        ...r,
        pipelineTps: tps,
        eventLoopDelayP99Ms: snapshot.pipeline.eventLoopDelayP99Ms,
      });
      progress(
        `  p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms, gaps ${r.gaps}, ${r.connected} connected`,
      );
    } finally {
      await server.stop();
    }
  }

  let idle = null;
  if (idleClients > 0) {
    const server = await startServer(['--sim-tps', '0', '--persistence', 'off']);
    try {
      await sleep(3000);
      const before = sampleProc(server.proc.pid!).rssBytes;
      progress(`idle connections: ${idleClients}`);
      const r = await runSwarm({
        url: server.wsUrl,
        clients: idleClients,
        processes: Math.max(1, Math.ceil(idleClients / 5000)),
        rampPerSecond: 2500,
        seconds: 5,
        pid: server.proc.pid!,
        quiet: true,
      });
      const after = r.server?.rssBytes ?? before;
      idle = {
        clients: idleClients,
        connected: r.connected,
        rssBeforeBytes: before,
        rssAfterBytes: after,
        bytesPerConnection: Math.round((after - before) / Math.max(1, r.connected)),
      };
      progress(`  ${idle.bytesPerConnection} bytes of RSS per idle connection`);
    } finally {
      await server.stop();
    }
  }
  writeResult(
    name,
    `node dist/bench/ws-swarm/fanout.js --clients ${counts.join(',')} --tps ${tps} --seconds ${seconds} --idle-clients ${idleClients}`,
    `metrics topic every 500 ms; pipeline at ${tps} tx/s (persistence off); swarm of net clients on the same machine; ${seconds} s measured after the ramp`,
    { runs: rows, idle },
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
