import t from 'tap';
import { sourceMetrics, windowMetrics } from '../src/metrics/bucket-row.js';
import { WINDOW_NAMES, WINDOW_SECONDS } from '../src/metrics/snapshot-types.js';
import { OPEN_SECONDS, WindowAccumulator } from '../src/metrics/window-accumulator.js';
import { CURRENCIES } from '../src/shared/catalog.js';
import { HISTOGRAM_RELATIVE_ERROR } from '../src/shared/latency-histogram.js';
import { ShardMetrics } from '../src/shared/metric-buckets.js';
import { C_RESET, C_RESET_ACK } from '../src/shared/shard-protocol.js';
import { ROW_STRIDE } from '../src/shared/window-row.js';
import { WindowWriter } from '../workers/shard/window-writer.js';
import { mulberry32 } from './helpers/rng.js';

/**
 * The windows the primary computes incrementally, checked against a brute-force oracle
 * that keeps every record: counts, volume and rates exact; percentiles within the
 * histogram's stated error; across second roll-overs, window edges and several shards.
 */

interface Rec {
  second: number;
  failed: boolean;
  flagged: boolean;
  ms: number;
  currency: number;
  amount: number;
  source: number;
}

function exactQuantile(sorted: number[], q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

const SOURCES = ['a', 'b', 'c', 'd'];

t.test('windows match a brute-force oracle over random streams', async (t) => {
  const random = mulberry32(42);
  const shards = [ShardMetrics.create(), ShardMetrics.create(), ShardMetrics.create()];
  const writers = shards.map((m) => new WindowWriter(m));
  const t0 = 1_800_000_000; // epoch seconds
  const acc = new WindowAccumulator(shards, t0);
  const records: Rec[] = [];
  const out = new Float64Array(ROW_STRIDE);
  let mismatches = 0;
  let checks = 0;

  // 3,800 seconds: more than the 1 h window, so seconds leave every window; some seconds
  // are empty (gaps), some busy.
  for (let now = t0; now < t0 + 3800; now++) {
    const n = random() < 0.1 ? 0 : Math.floor(random() * 12);
    for (let k = 0; k < n; k++) {
      const shard = Math.floor(random() * shards.length);
      const r: Rec = {
        second: now,
        failed: random() < 0.05,
        flagged: random() < 0.02,
        ms: Math.floor(1 + random() ** 2 * 3000),
        currency: Math.floor(random() * CURRENCIES.length),
        amount: 1 + Math.floor(random() * 100_000),
        source: Math.floor(random() * SOURCES.length),
      };
      records.push(r);
      const w = writers[shard]!;
      w.begin();
      w.selectSecond(now);
      w.add(
        r.failed,
        r.flagged,
        r.ms,
        r.currency,
        r.amount,
        r.amount * CURRENCIES[r.currency]!.usdPerMinor,
        r.source,
      );
      w.end();
    }
    // The primary reads at irregular moments, sometimes skipping seconds.
    if ((random() < 0.06 || now > t0 + 3790) && now > t0 + 5) {
      acc.advance(now);
      const open = acc.readOpen(now);
      for (const name of WINDOW_NAMES) {
        acc.window(name, open, out);
        const L = WINDOW_SECONDS[name];
        const inWindow = records.filter((r) => r.second > now - L && r.second <= now);
        const got = windowMetrics(out, 0, acc.coveredSeconds(name, now));
        const failed = inWindow.filter((r) => r.failed).length;
        const volume: Record<string, number> = {};
        let usd = 0;
        for (const r of inWindow) {
          if (r.failed) continue;
          const code = CURRENCIES[r.currency]!.code;
          volume[code] = (volume[code] ?? 0) + r.amount;
          usd += r.amount * CURRENCIES[r.currency]!.usdPerMinor;
        }
        checks++;
        const sorted = inWindow.map((r) => r.ms).sort((a, b) => a - b);
        const bad: string[] = [];
        if (got.count !== inWindow.length) bad.push(`count ${got.count} ≠ ${inWindow.length}`);
        if (got.failed !== failed) bad.push(`failed ${got.failed} ≠ ${failed}`);
        if (got.flagged !== inWindow.filter((r) => r.flagged).length) bad.push('flagged');
        // Per-source failures (B_SOURCE_FAILED: per-source failure-rate alert rules).
        for (const src of sourceMetrics(out, 0, SOURCES)) {
          const i = SOURCES.indexOf(src.source);
          const want = inWindow.filter((r) => r.source === i && r.failed).length;
          if (src.failed !== want) bad.push(`failed of ${src.source} ${src.failed} ≠ ${want}`);
        }
        if (
          JSON.stringify(got.volume) !==
          JSON.stringify(
            Object.fromEntries(
              Object.entries(volume).sort(
                (a, b) =>
                  CURRENCIES.findIndex((c) => c.code === a[0]) -
                  CURRENCIES.findIndex((c) => c.code === b[0]),
              ),
            ),
          )
        ) {
          bad.push(`volume ${JSON.stringify(got.volume)} ≠ ${JSON.stringify(volume)}`);
        }
        if (Math.abs(got.volumeUsd - Math.round(usd)) > 1)
          bad.push(`volumeUsd ${got.volumeUsd} ≠ ${usd}`);
        const avg = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
        if (sorted.length > 0 && Math.abs(got.avgMs - avg) > 0.001)
          bad.push(`avgMs ${got.avgMs} ≠ ${avg}`);
        if (sorted.length > 0) {
          for (const [q, v] of [
            [0.5, got.p50Ms],
            [0.95, got.p95Ms],
            [0.99, got.p99Ms],
          ] as const) {
            const exact = exactQuantile(sorted, q);
            if (Math.abs(v - exact) / exact > HISTOGRAM_RELATIVE_ERROR + 1e-9)
              bad.push(`p${q * 100} ${v} vs exact ${exact}`);
          }
        }
        const sources = sourceMetrics(out, 0, SOURCES);
        for (const s of sources) {
          const want = inWindow.filter((r) => SOURCES[r.source] === s.source).length;
          if (s.count !== want) bad.push(`source ${s.source} ${s.count} ≠ ${want}`);
        }
        if (bad.length > 0) {
          mismatches++;
          if (mismatches <= 3) t.fail(`window ${name} at +${now - t0}s: ${bad.join('; ')}`);
        }
      }
    }
  }
  t.ok(checks > 300, `checked ${checks} window readings`);
  t.equal(mismatches, 0, 'every window reading matched the oracle');
  // Reads under contention (real threads) are checked in metric-windows-contention.test.ts.
});

t.test('a reset clears the windows; seconds written after it count again', async (t) => {
  const shard = ShardMetrics.create();
  const w = new WindowWriter(shard);
  const t0 = 1_800_000_000;
  const acc = new WindowAccumulator([shard], t0);
  w.begin();
  w.selectSecond(t0);
  w.add(false, false, 10, 0, 100, 100, 0);
  w.end();
  acc.advance(t0 + 5);
  const out = new Float64Array(ROW_STRIDE);
  acc.window('1m', acc.readOpen(t0 + 5), out);
  t.equal(windowMetrics(out, 0, 60).count, 1);
  Atomics.store(shard.control, C_RESET, 1); // what ShardPool.reset() asks
  t.equal(w.applyResetIfAsked(), true, 'the writer applies the reset');
  t.equal(Atomics.load(shard.control, C_RESET_ACK), 1, 'and acknowledges it');
  t.equal(w.applyResetIfAsked(), false, 'once');
  acc.reset(t0 + 5);
  acc.window('1m', acc.readOpen(t0 + 5), out);
  t.equal(windowMetrics(out, 0, 60).count, 0, 'empty after reset');
  w.begin();
  w.selectSecond(t0 + 6);
  w.add(true, false, 10, 0, 100, 100, 0);
  w.end();
  acc.advance(t0 + 6 + OPEN_SECONDS + 1);
  acc.window('1m', acc.readOpen(t0 + 6 + OPEN_SECONDS + 1), out);
  const m = windowMetrics(out, 0, 60);
  t.equal(m.count, 1);
  t.equal(m.failed, 1);
  t.same(m.volume, {}, 'failed transactions move no money');
});
