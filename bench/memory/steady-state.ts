import { benchArgs } from '../lib/cli-args.js';
import { progress, sleep, writeResult } from '../lib/results.js';
import { startServer } from '../lib/server-process.js';
import { sampleProc } from '../ws-swarm/proc-stats.js';
import { runSwarm } from '../ws-swarm/swarm.js';

/**
 * `npm run bench:memory`: steady-state memory of the whole server process (all threads)
 * at a modest load — 50 tx/s and 200 dashboard connections on every topic — after a
 * settle period: RSS, and the primary's V8 heap from /metrics.
 *
 *   node dist/bench/memory/steady-state.js [--tps 50] [--clients 200] [--seconds 30]
 */

const flags = benchArgs({
  command: 'node dist/bench/memory/steady-state.js',
  about:
    'RSS and the primary heap at a modest load (simulator + dashboard clients on every topic) after a settle period. Writes bench/results/memory.json.',
  flags: {
    tps: { type: 'number', default: '50', help: 'simulator transactions/s' },
    clients: { type: 'number', default: '200', help: 'dashboard WebSocket clients' },
    seconds: { type: 'number', default: '30', help: 'measured seconds' },
  },
});

async function main(): Promise<void> {
  const { tps, clients, seconds } = flags;
  const server = await startServer(['--sim-tps', String(tps), '--persistence', 'off']);
  try {
    await sleep(2000);
    const idle = sampleProc(server.proc.pid!);
    progress(`steady state: ${tps} tx/s, ${clients} clients on metrics,tx,alerts, ${seconds} s`);
    const r = await runSwarm({
      url: `${server.wsUrl}?topics=metrics,tx,alerts`,
      clients,
      processes: 1,
      rampPerSecond: 1000,
      seconds,
      pid: server.proc.pid!,
      quiet: true,
    });
    const prom = await (await fetch(`${server.url}/metrics`)).text();
    const heapUsed = Number(/^nodejs_heap_size_used_bytes (\d+)/m.exec(prom)?.[1] ?? 0);
    const result = {
      tps,
      clients,
      connected: r.connected,
      rssIdleBytes: idle.rssBytes,
      rssBytes: r.server?.rssBytes ?? 0,
      heapUsedBytes: heapUsed,
      serverCpuCores: r.server?.cpuCores ?? 0,
      latencyMs: r.latencyMs,
      gaps: r.gaps,
    };
    progress(
      `  RSS ${Math.round(result.rssBytes / 2 ** 20)} MiB, heap ${Math.round(heapUsed / 2 ** 20)} MiB`,
    );
    writeResult(
      'memory',
      `node dist/bench/memory/steady-state.js --tps ${tps} --clients ${clients} --seconds ${seconds}`,
      `${tps} tx/s simulated, ${clients} WebSocket clients on metrics, tx and alerts, persistence off, after ${seconds} s`,
      result,
    );
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
