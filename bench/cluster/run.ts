import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import WebSocket from 'ws';
import { decodePartial } from '../../src/cluster/partial-codec.js';
import { progress, sleep, writeResult } from '../lib/results.js';
import { startServer, type TestServer } from '../lib/server-process.js';
import { round } from '../lib/stats.js';

/**
 * npm run bench:cluster — three nodes on this box's NATS (NATS_URL, default
 * nats://127.0.0.1:4222), persistence off, at a low and a high cluster rate:
 *
 * - merge latency: from the moment the last node publishes a second as closed (its partial
 *   with closedThrough ≥ s, seen by a core NATS subscriber here) to the `metrics` frame that
 *   announces s in `seconds` arriving at a WebSocket client of each node (bar: p99 < one
 *   tick + 50 ms);
 * - bytes per tick each node sends on NATS: its partial, and its feed message (bar: the
 *   partial does not grow with the rate).
 *
 * Not measured here yet (issue 11): 10,000 clients over three nodes against one node, and the
 * persisted rate of three nodes sharing one MariaDB.
 */

const NATS_URL = process.env.NATS_URL || 'nats://127.0.0.1:4222';
const RATES = (process.env.PB_BENCH_RATES ?? '300,6000').split(',').map(Number);
const SECONDS = Number(process.env.PB_BENCH_SECONDS ?? 30);
const TICK_MS = 500;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function runRate(tps: number) {
  const name = `pbbench_${randomBytes(3).toString('hex')}`;
  const nodes: TestServer[] = await Promise.all(
    [0, 1, 2].map(() =>
      startServer(
        ['--sim-tps', String(tps), '--shards', '1', '--persistence', 'off', '--rules-file', ''],
        { NATS_URL, CLUSTER_NAME: name },
      ),
    ),
  );
  const nc = await connect({ servers: NATS_URL });
  /** second → epoch ms when the last node published it as closed, per node. */
  const closedAt = new Map<number, Map<number, number>>();
  const partialBytes: number[] = [];
  const feedBytes: number[] = [];
  const subs = [
    nc.subscribe(`${name}.partial.*`, {
      callback: (_e, m) => {
        const now = Date.now();
        partialBytes.push(m.data.length);
        const h = decodePartial(m.data).header;
        for (let s = h.closedThrough - 5; s <= h.closedThrough; s++) {
          const per = closedAt.get(s) ?? new Map<number, number>();
          if (!per.has(h.node)) per.set(h.node, now);
          closedAt.set(s, per);
        }
      },
    }),
    nc.subscribe(`${name}.feed.*`, { callback: (_e, m) => feedBytes.push(m.data.length) }),
  ];
  const latencies: number[] = [];
  const sockets = nodes.map((n) => {
    const ws = new WebSocket(`${n.wsUrl}?topics=metrics`);
    ws.on('message', (raw) => {
      const now = Date.now();
      const f = JSON.parse(raw.toString()) as {
        data: { scope?: string; seconds: { t: number }[] };
      };
      if (f.data.scope !== 'cluster') return;
      for (const p of f.data.seconds) {
        const per = closedAt.get(p.t / 1000);
        if (!per || per.size < nodes.length) continue;
        latencies.push(now - Math.max(...per.values()));
      }
    });
    return ws;
  });
  progress(`cluster bench: ${tps} tx/s over 3 nodes, warming up`);
  await sleep(6000);
  latencies.length = 0;
  partialBytes.length = 0;
  feedBytes.length = 0;
  progress(`cluster bench: measuring ${SECONDS} s`);
  await sleep(SECONDS * 1000);
  const metrics = (await (await fetch(`${nodes[0]!.url}/api/metrics`)).json()) as { tps: number };
  for (const ws of sockets) ws.close();
  for (const s of subs) s.unsubscribe();
  await nc.close();
  await Promise.all(nodes.map((n) => n.stop()));
  const perNodeTick = (bytes: number[]) =>
    round(bytes.reduce((a, b) => a + b, 0) / bytes.length, 0);
  return {
    clusterTps: tps,
    observedTps: metrics.tps,
    mergeLatencyMs: {
      samples: latencies.length,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: quantile(latencies, 1),
      bar: TICK_MS + 50,
    },
    partialBytesPerTick: { mean: perNodeTick(partialBytes), max: Math.max(...partialBytes) },
    feedBytesPerTick: { mean: perNodeTick(feedBytes), max: Math.max(...feedBytes) },
  };
}

const runs = [];
for (const tps of RATES) runs.push(await runRate(tps));
const path = writeResult(
  'cluster',
  'npm run bench:cluster',
  `three nodes and NATS on this machine, persistence off, tick ${TICK_MS} ms, ${SECONDS} s per rate, 1 shard per node`,
  { runs },
);
process.stdout.write(`${JSON.stringify(runs, null, 2)}\nwritten to ${path}\n`);
process.exit(0);
