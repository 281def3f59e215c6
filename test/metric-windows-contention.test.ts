import t from 'tap';
import { parseOptions } from '../src/config/parse-options.js';
import { SnapshotService } from '../src/metrics/snapshot-service.js';
import { ShardPool, type SimulatorParams } from '../src/pipeline/shard-pool.js';
import { CURRENCIES } from '../src/shared/catalog.js';
import { G_COMPLETED, G_FAILED } from '../src/shared/metric-buckets.js';
import { SourceRegistry } from '../src/shared/source-registry.js';
import { B_COUNT, B_FAILED, B_VOLUME, ROW_STRIDE } from '../src/shared/window-row.js';

/**
 * Windows are exact under contention (issue 10, part 1). Real shard threads run at max
 * rate on a machine with fewer cores than threads, the primary's reset and scenario
 * changes hit them, and the main thread snapshots back to back for RUN_MS:
 *
 * - every snapshot that is not marked `partial` (and not taken while a reset is being
 *   applied) is exact: its 1 h count equals the completed counters it reports, and lies
 *   between the shards' own completed counters read just before and just after it;
 * - after the shards stop, the 1 h window's count, failed count and volume per currency
 *   (integer minor units) equal exactly what the shards counted themselves.
 *
 * On the code before this test (commit 486656d) it fails: shards wrote whole batches of
 * up to 4,096 completions under the seqlock and their counters outside it, a read whose
 * every retry found the lock taken added the previous shard's (or tick's) rows again, and
 * a reset raced the fold. This test adapted to that code (no `partial`, no totals row;
 * reset as server.ts did it) saw 20,726 of 91,748 checked snapshots wrong: 11,058 above
 * the shards' counters read after them, 9,432 below those read before them.
 */

const RUN_MS = 12_000;
const RESET_EVERY_MS = 2_500;
const SCENARIO_EVERY_MS = 600;
const SCENARIOS: Partial<SimulatorParams>[] = [
  { tps: Number.POSITIVE_INFINITY, failureRate: 0.03, sources: [] },
  { tps: 200_000, failureRate: 0.3 },
  { tps: Number.POSITIVE_INFINITY, sources: [0, 2, 4] },
  { tps: 20_000, failureRate: 0.5, sources: [1] },
  { tps: Number.POSITIVE_INFINITY, failureRate: 0.1, sources: [] },
];

t.test('snapshots are exact or marked partial, and the final 1 h window adds up', async (t) => {
  const { options } = parseOptions(['--sim-tps', '0', '--shards', '2'], {});
  const pool = new ShardPool(options);
  await pool.start();
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await pool.stop();
  });
  const snapshots = new SnapshotService(
    pool,
    SourceRegistry.create(options.sourcesMax, options.sources),
    {
      clients: () => 0,
      persistence: () => ({ on: false, dbRowsPerSec: 0, writerLag: 0, ringFill: 0 }),
      eventLoopDelayP99Ms: () => 0,
      publishCostMs: () => 0,
    },
  );
  const completed = () => pool.shards.reduce((n, s) => n + s.metrics.gauges[G_COMPLETED]!, 0);

  const seen = { snapshots: 0, exact: 0, partial: 0, duringReset: 0, resets: 0, scenarios: 0 };
  const bad: string[] = [];
  let resetting: Promise<void> | null = null;
  const started = Date.now();
  let nextReset = started + RESET_EVERY_MS;
  let nextScenario = started;
  while (Date.now() - started < RUN_MS) {
    const now = Date.now();
    if (now >= nextScenario) {
      pool.setParams(SCENARIOS[seen.scenarios++ % SCENARIOS.length]!);
      nextScenario += SCENARIO_EVERY_MS;
    }
    if (resetting === null && now >= nextReset) {
      seen.resets++;
      resetting = snapshots.reset().finally(() => {
        resetting = null;
      });
      nextReset += RESET_EVERY_MS;
    }
    const during = snapshots.resetting;
    const before = completed();
    const snap = snapshots.refresh();
    const after = completed();
    seen.snapshots++;
    if (during || snapshots.resetting) seen.duringReset++;
    else if (snap.partial !== null) seen.partial++;
    else {
      seen.exact++;
      const count = snap.windows['1h'].count;
      if (count !== snap.pipeline.completed || count < before || count > after) {
        bad.push(
          `snapshot ${seen.snapshots}: 1 h count ${count}, its completed ${snap.pipeline.completed}, shards ${before}…${after}`,
        );
      }
    }
    // Let the reset's promise and the timers run, then read again at once.
    await new Promise((r) => setImmediate(r));
  }
  await resetting;
  pool.setParams({ tps: 0 });
  await pool.stop();
  stopped = true;

  t.comment(JSON.stringify(seen));
  for (const b of bad.slice(0, 5)) t.fail(b);
  t.equal(bad.length, 0, `every exact snapshot adds up (${seen.exact} checked)`);
  t.ok(seen.resets >= 3, `resets applied while reading (${seen.resets})`);
  t.ok(seen.exact > seen.partial, 'most snapshots are exact (partial ones are the exception)');

  // The shards' own counters, read after they stopped.
  const totals = new Float64Array(ROW_STRIDE);
  let ownCompleted = 0;
  let ownFailed = 0;
  for (const s of pool.shards) {
    for (let i = 1; i < ROW_STRIDE; i++) totals[i]! += s.metrics.totals[i]!;
    ownCompleted += s.metrics.gauges[G_COMPLETED]!;
    ownFailed += s.metrics.gauges[G_FAILED]!;
  }
  t.equal(totals[B_COUNT], ownCompleted, 'the shards agree with themselves (totals row, counter)');
  t.ok(ownCompleted > 10_000, `the shards completed ${ownCompleted} since the last reset`);

  const final = snapshots.refresh();
  const w = final.windows['1h'];
  t.equal(final.partial, null, 'the final snapshot is exact');
  t.equal(w.count, ownCompleted, '1 h count = completed by the shards');
  t.equal(w.failed, ownFailed, '1 h failed = failed by the shards');
  t.equal(w.failed, totals[B_FAILED]);
  const volume: Record<string, number> = {};
  for (let c = 0; c < CURRENCIES.length; c++) {
    const v = totals[B_VOLUME + c]!;
    if (v > 0) volume[CURRENCIES[c]!.code] = v;
  }
  t.ok(Object.keys(volume).length >= 4, 'several currencies moved');
  t.strictSame(w.volume, volume, '1 h volume per currency (integer minor units) = the shards');
  for (const v of Object.values(w.volume)) t.ok(Number.isSafeInteger(v), 'volume is exact');
});
