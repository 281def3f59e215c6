import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { ALL, MetricSlots } from '../../src/alerts/metric-reader.js';
import { RuleEvaluator } from '../../src/alerts/rule-evaluator.js';
import { validateRule } from '../../src/alerts/rule-schema.js';
import { SnapshotMetricReader } from '../../src/alerts/snapshot-metric-reader.js';
import { SnapshotService } from '../../src/metrics/snapshot-service.js';
import type { ShardPool } from '../../src/pipeline/shard-pool.js';
import { DEFAULT_SOURCES } from '../../src/shared/catalog.js';
import { ShardMetrics } from '../../src/shared/metric-buckets.js';
import { SourceRegistry } from '../../src/shared/source-registry.js';
import { SOURCE_SLOTS, SOURCES_LIMIT } from '../../src/shared/window-row.js';
import { WindowWriter } from '../../workers/common/window-writer.js';
import { benchArgs } from '../lib/cli-args.js';
import { progress, writeResult } from '../lib/results.js';
import { benchRules } from './rule-set.js';

/**
 * `npm run bench:alerts-eval`: the cost of evaluating alert rules every tick (DESIGN §7 bar:
 * 1,000 rules in < 1 ms per tick), and whether that belongs on the primary or a worker.
 *
 *   refresh      the MetricReader reading the tick's snapshot (once per tick, any rule count)
 *   evaluate     every rule against those values, steady state (no state changes)
 *   worst case   every rule changes state in the tick (an event built for each)
 *   worker       the same evaluation on a worker thread: post the values, await the events
 *                (what moving it off the primary would cost per tick, round trip)
 *
 * A snapshot of real windows (one shard, an hour of data) feeds the reader, as in the tick.
 */

const RULES = benchArgs({
  command: 'node dist/bench/alerts/rule-evaluation.js',
  about:
    'Alert rule evaluation per tick over a snapshot of real windows: on the primary, and on a worker thread round trip. Writes bench/results/alert-rules.json.',
  flags: { rules: { type: 'number', default: '1000', help: 'rules evaluated per tick' } },
}).rules;
const sources = [...DEFAULT_SOURCES];

// An hour of data in one shard's buckets, and the SnapshotService the tick uses over it.
const shard = ShardMetrics.create();
const writer = new WindowWriter(shard);
const nowSecond = Math.floor(Date.now() / 1000);
for (let s = nowSecond - 3600; s <= nowSecond; s++) {
  writer.begin();
  writer.selectSecond(s);
  for (let k = 0; k < 50; k++)
    writer.add(k % 20 === 0, k % 50 === 0, 100 + k * 13, k % 4, 1000 + k, 1000 + k, k % 6);
  writer.end();
}
const pool = {
  shards: [{ index: 0, metrics: shard }],
  simulatorParams: { tps: 50 },
  simulatorShards: 1,
  reset: async () => undefined,
} as unknown as ShardPool;
const snapshots = new SnapshotService(pool, SourceRegistry.create(SOURCES_LIMIT, sources), {
  clients: () => 0,
  persistence: () => ({ on: false, dbRowsPerSec: 0, writerLag: 0, ringFill: 0 }),
  eventLoopDelayP99Ms: () => 0,
  publishCostMs: () => 0,
});
// The first snapshot folds the whole hour (3,600 closed seconds, once at start); the tick's
// steady state has zero or one closed second per snapshot.
snapshots.refresh();
const reader = new SnapshotMetricReader(snapshots);
const evaluator = new RuleEvaluator(reader);
const rules = benchRules(RULES, sources);
for (const r of rules) evaluator.set(r);
const series = evaluator.status().reduce((n, r) => n + r.series.length, 0);

// Worst case: every rule flips between inactive and firing on every evaluation.
const flipSlots = new MetricSlots(sources);
const flipper = new RuleEvaluator({
  sources,
  slotOf: (name) => (sources as readonly string[]).indexOf(name),
  values: flipSlots.values,
  slot: (m, w, s) => flipSlots.slot(m, w, s),
});
for (let i = 0; i < RULES; i++) {
  const v = validateRule(
    { alert: `Flip${i}`, metric: 'inFlight', op: '>', threshold: 0 },
    { sources },
  );
  if (v.ok) flipper.set(v.rule);
}
const inFlight = flipSlots.slot('inFlight', null, ALL);

let ts = Date.now();
let events = 0;
const bench = new Bench({ time: 1500, warmupTime: 300 });
bench
  .add('refresh: MetricReader from the snapshot', () => {
    reader.refresh();
  })
  .add(`evaluate ${RULES} rules (${series} series), no change`, () => {
    ts += 500;
    events += evaluator.evaluate(ts).length;
  })
  .add(`tick: refresh + evaluate ${RULES} rules`, () => {
    ts += 500;
    reader.refresh();
    events += evaluator.evaluate(ts).length;
  })
  .add(`worst case: ${RULES} rules all change state`, () => {
    ts += 500;
    flipSlots.values[inFlight] = flipSlots.values[inFlight] === 1 ? 0 : 1;
    events += flipper.evaluate(ts).length;
  });

progress(`alert rule evaluation (tinybench), ${RULES} rules: ~8 s`);
await bench.run();
const rows = bench.tasks.map((t) => {
  const r = t.result as unknown as { latency: { mean: number; p99: number } };
  return {
    task: t.name,
    meanUs: Math.round(r.latency.mean * 1000 * 100) / 100,
    p99Us: Math.round(r.latency.p99 * 1000 * 100) / 100,
    nsPerRule: Math.round(((r.latency.mean * 1e6) / RULES) * 10) / 10,
  };
});
console.table(rows);

// The same evaluation on a worker: one round trip per tick.
const worker = new Worker(fileURLToPath(new URL('./evaluation-worker.js', import.meta.url)), {
  // The same slot layout as the reader's (a slot per registry entry, SOURCE_SLOTS of them).
  workerData: { rules: RULES, sources, sourceSlots: SOURCE_SLOTS },
});
const roundTrip = (): Promise<number> =>
  new Promise((resolve) => {
    const t0 = performance.now();
    worker.once('message', () => resolve(performance.now() - t0));
    reader.refresh();
    ts += 500;
    worker.postMessage({ values: reader.values, ts });
  });
for (let i = 0; i < 200; i++) await roundTrip(); // warm-up
const trips: number[] = [];
for (let i = 0; i < 2000; i++) trips.push(await roundTrip());
await worker.terminate();
trips.sort((a, b) => a - b);
const q = (p: number) => Math.round(trips[Math.floor(p * (trips.length - 1))]! * 1000 * 100) / 100;
const workerUs = {
  mean: Math.round((trips.reduce((a, b) => a + b, 0) / trips.length) * 1000 * 100) / 100,
  p50: q(0.5),
  p99: q(0.99),
};
const tick = rows.find((r) => r.task.startsWith('tick'))!;
const result = {
  rules: RULES,
  series,
  rows,
  tickUs: tick.meanUs,
  tickP99Us: tick.p99Us,
  nsPerRulePerTick: tick.nsPerRule,
  worker: { roundTripUs: workerUs },
  decision:
    tick.meanUs < workerUs.mean
      ? 'primary: evaluating in place costs less than the round trip to a worker would'
      : 'worker: the round trip costs less than evaluating on the primary',
  events,
};
progress(
  `tick ${tick.meanUs} µs for ${RULES} rules (${tick.nsPerRule} ns per rule); worker round trip ${workerUs.mean} µs (p99 ${workerUs.p99})`,
);
writeResult(
  'alert-rules',
  `node dist/bench/alerts/rule-evaluation.js --rules ${RULES}`,
  `${RULES} rules (${series} series), one shard with an hour of data; single thread, tinybench 1.5 s per task; worker round trip over 2,000 ticks`,
  result,
);
