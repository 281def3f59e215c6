import { fileURLToPath } from 'node:url';
import { benchArgs } from '../lib/cli-args.js';
import { startServer } from '../lib/server-process.js';
import { type ReconnectingResult, runReconnectingClients } from './clients.js';
import { type Impairment, ImpairProxy, type ProxyStats } from './proxy.js';

/**
 * Degraded-network run (issue 6, fault f): the real server on loopback, and for each
 * impairment a fresh proxy in front of it and `--clients` reconnecting dashboards
 * subscribed to `metrics` through it for `--seconds`. Reports delivery rate, gaps,
 * reconnects and delivery-latency percentiles per impairment, as JSON on stdout.
 *
 *   node dist/bench/net-impair/run.js [--clients 50] [--seconds 60] [--tick-ms 500]
 * Loopback only; stops by itself.
 */

export const DEFAULT_IMPAIRMENTS: Impairment[] = [
  {
    name: 'direct (proxy, no impairment)',
    latencyMs: 0,
    jitterMs: 0,
    bytesPerSec: 0,
    resetsPerMinute: 0,
  },
  { name: 'latency 10 ± 5 ms', latencyMs: 10, jitterMs: 5, bytesPerSec: 0, resetsPerMinute: 0 },
  {
    name: 'throttled 32 KB/s + 10 ± 5 ms',
    latencyMs: 10,
    jitterMs: 5,
    bytesPerSec: 32 * 1024,
    resetsPerMinute: 0,
  },
  {
    name: 'resets 5 %/min + 10 ± 5 ms',
    latencyMs: 10,
    jitterMs: 5,
    bytesPerSec: 0,
    resetsPerMinute: 0.05,
  },
  {
    name: 'all: 50 ± 25 ms, 16 KB/s, resets 20 %/min',
    latencyMs: 50,
    jitterMs: 25,
    bytesPerSec: 16 * 1024,
    resetsPerMinute: 0.2,
  },
];

export interface ImpairmentReport extends ReconnectingResult {
  impairment: Impairment;
  proxy: ProxyStats;
}

export async function runImpairments(o: {
  serverPort: number;
  clients: number;
  seconds: number;
  impairments: Impairment[];
  path?: string;
  log?: (line: string) => void;
}): Promise<ImpairmentReport[]> {
  const out: ImpairmentReport[] = [];
  for (const imp of o.impairments) {
    const proxy = new ImpairProxy({ host: '127.0.0.1', port: o.serverPort }, imp);
    const port = await proxy.listen();
    try {
      const r = await runReconnectingClients({
        port,
        path: o.path ?? '/ws?topics=metrics',
        clients: o.clients,
        seconds: o.seconds,
        onTimeUp: () => proxy.stopResets(),
      });
      out.push({ impairment: imp, proxy: { ...proxy.stats }, ...r });
      o.log?.(
        `${imp.name}: delivery ${(r.deliveryRate * 100).toFixed(2)} % (${r.messages} msgs, ${r.gaps} missed), ` +
          `${r.reconnects} reconnects / ${proxy.stats.resets} resets, ${r.connectedAtEnd}/${r.clients} connected at end, ` +
          `latency p50 ${r.latencyMs.p50} / p95 ${r.latencyMs.p95} / p99 ${r.latencyMs.p99} / max ${r.latencyMs.max} ms`,
      );
    } finally {
      await proxy.close();
    }
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const flags = benchArgs({
    command: 'node dist/bench/net-impair/run.js',
    about:
      'Reconnecting dashboards subscribed to metrics through an impairing proxy, a fresh one per impairment: delivery rate, gaps, reconnects and delivery latency. Prints JSON.',
    flags: {
      'tick-ms': { type: 'number', default: '500', help: "the server's tick, ms" },
      clients: { type: 'number', default: '50', help: 'WebSocket clients per impairment' },
      seconds: { type: 'number', default: '60', help: 'seconds per impairment' },
    },
  });
  const server = await startServer([
    '--persistence',
    'off',
    '--sim-tps',
    '1000',
    '--tick-ms',
    String(flags['tick-ms']),
  ]);
  try {
    const reports = await runImpairments({
      serverPort: server.port,
      clients: flags.clients,
      seconds: flags.seconds,
      impairments: DEFAULT_IMPAIRMENTS,
      log: (l) => process.stderr.write(`${l}\n`),
    });
    process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  } finally {
    await server.stop();
  }
}
