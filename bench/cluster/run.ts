import { progress, writeResult } from '../lib/results.js';
import { spread } from '../lib/stats.js';
import { CLIENTS_CONDITIONS, runClientsPass } from './clients-pass.js';
import { runMergeRate, TICK_MS } from './merge-run.js';
import { PERSISTED_CONDITIONS, runPersistedPass } from './persisted-pass.js';

/**
 * npm run bench:cluster — the cluster on this box's NATS (NATS_URL, default
 * nats://127.0.0.1:4222), in three parts (about 7 minutes):
 *
 * 1. merge (merge-run.ts): three nodes, persistence off, at each cluster rate of
 *    PB_BENCH_RATES: merge latency, partial and feed bytes per tick, the rate delivered;
 * 2. clients (clients-pass.ts): PB_BENCH_CLIENTS clients over three nodes against one
 *    node, at PB_BENCH_CLIENTS_TPS in total, passes interleaved (1, 3, 1, 3, …);
 * 3. persisted (persisted-pass.ts): the committed rate of three nodes sharing one MariaDB
 *    against one node, PB_BENCH_PERSISTED_TPS asked in total, passes interleaved.
 *
 * PB_BENCH_REPEATS passes of each node count (default 2); PB_BENCH_PARTS picks parts.
 */

const RATES = (process.env.PB_BENCH_RATES ?? '300,3000,30000').split(',').map(Number);
const SECONDS = Number(process.env.PB_BENCH_SECONDS ?? 20);
const CLIENTS = Number(process.env.PB_BENCH_CLIENTS ?? 10_000);
const CLIENTS_TPS = Number(process.env.PB_BENCH_CLIENTS_TPS ?? 3000);
const CLIENTS_SECONDS = Number(process.env.PB_BENCH_CLIENTS_SECONDS ?? 15);
const PERSISTED_TPS = Number(process.env.PB_BENCH_PERSISTED_TPS ?? 300_000);
const PERSISTED_SECONDS = Number(process.env.PB_BENCH_PERSISTED_SECONDS ?? 12);
const REPEATS = Number(process.env.PB_BENCH_REPEATS ?? 2);
const PARTS = (process.env.PB_BENCH_PARTS ?? 'merge,clients,persisted').split(',');
const NODE_COUNTS = [1, 3];

/** Runs `pass` for 1 and 3 nodes, interleaved, REPEATS times each. */
async function interleaved<T>(pass: (nodes: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < REPEATS; i++) for (const n of NODE_COUNTS) out.push(await pass(n));
  return out;
}

/** Per node count: every pass, and the spread of the figures named. */
function byNodes<T extends { nodes: number }>(
  passes: T[],
  figures: Record<string, (p: T) => number | null>,
) {
  return NODE_COUNTS.map((nodes) => {
    const mine = passes.filter((p) => p.nodes === nodes);
    const summary: Record<string, unknown> = { nodes };
    for (const [k, f] of Object.entries(figures))
      summary[k] = spread(mine.map(f).filter((v): v is number => v !== null));
    return summary;
  });
}

const t0 = performance.now();
const result: Record<string, unknown> = {};
const conditions = [`tick ${TICK_MS} ms, 1 shard per node, NATS and every node on this machine`];
if (PARTS.includes('merge')) {
  const runs = [];
  for (const tps of RATES) runs.push(await runMergeRate(tps, SECONDS));
  result.runs = runs;
  conditions.push(`merge: three nodes, persistence off, ${SECONDS} s per rate`);
}
if (PARTS.includes('clients')) {
  const passes = await interleaved((n) => runClientsPass(n, CLIENTS, CLIENTS_TPS, CLIENTS_SECONDS));
  result.clients = {
    clients: CLIENTS,
    tps: CLIENTS_TPS,
    seconds: CLIENTS_SECONDS,
    passes,
    byNodes: byNodes(passes, {
      p99Ms: (p) => p.latencyMs.p99,
      cpuUsPerMessage: (p) => p.cpuUsPerMessage,
      gaps: (p) => p.gaps,
      messagesPerSec: (p) => p.messagesPerSec,
      machineBusyCores: (p) => p.machineBusyCores,
    }),
  };
  conditions.push(
    `clients: ${CLIENTS} clients at ${CLIENTS_TPS} tx/s in total, ${CLIENTS_SECONDS} s measured after the ramp, ${REPEATS} interleaved passes per node count; ${CLIENTS_CONDITIONS}`,
  );
}
if (PARTS.includes('persisted')) {
  const passes = await interleaved((n) => runPersistedPass(n, PERSISTED_TPS, PERSISTED_SECONDS));
  result.persisted = {
    askedTps: PERSISTED_TPS,
    seconds: PERSISTED_SECONDS,
    passes,
    byNodes: byNodes(passes, { committedPerSec: (p) => p.committedPerSec }),
  };
  conditions.push(
    `persisted: ${PERSISTED_TPS} tx/s asked in total, ${PERSISTED_SECONDS} s measured, ${REPEATS} interleaved passes per node count; ${PERSISTED_CONDITIONS}`,
  );
}
result.totalSeconds = Math.round((performance.now() - t0) / 1000);
progress(`cluster bench: done in ${result.totalSeconds} s`);
const path = writeResult('cluster', 'npm run bench:cluster', conditions.join('; '), result);
process.stdout.write(`${JSON.stringify(result, null, 2)}\nwritten to ${path}\n`);
process.exit(0);
