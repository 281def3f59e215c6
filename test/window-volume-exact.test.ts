import t from 'tap';
import { windowMetrics } from '../src/metrics/bucket-row.js';
import { WindowAccumulator } from '../src/metrics/window-accumulator.js';
import { CURRENCIES } from '../src/shared/catalog.js';
import { ShardMetrics } from '../src/shared/metric-buckets.js';
import { ROW_STRIDE } from '../src/shared/window-row.js';
import { WindowWriter } from '../workers/shard/window-writer.js';

/**
 * Regression (issue 15 §1): per-currency volume in the live windows was one float64 per
 * bucket, exact only below 2^53 minor units. Ten ingested amounts of 10^15 pass that in one
 * second; the window then showed a rounded sum, and the rounding stayed in the window's
 * running sum (add the second that closes, subtract the one that leaves) after the large
 * second had left. Now volume is two limbs (metric-buckets.ts): checked here against a
 * BigInt oracle while huge seconds enter the windows and after they leave.
 */

const USD = CURRENCIES.findIndex((c) => c.code === 'USD');
const JPY = CURRENCIES.findIndex((c) => c.code === 'JPY');
const MAX_AMOUNT = 1_000_000_000_000_000; // 10^15

t.test('window volume stays exact past 2^53 and after huge seconds leave', async (t) => {
  const shards = [ShardMetrics.create(), ShardMetrics.create()];
  const writers = shards.map((m) => new WindowWriter(m));
  const t0 = 1_800_000_000;
  const acc = new WindowAccumulator(shards, t0);
  const out = new Float64Array(ROW_STRIDE);
  const added: { second: number; currency: number; amount: bigint }[] = [];
  let checks = 0;
  let sawHuge = false;

  const add = (shard: number, second: number, currency: number, amount: number) => {
    const w = writers[shard]!;
    w.begin();
    w.selectSecond(second);
    w.add(false, false, 10, currency, amount, amount, 0);
    w.end();
    added.push({ second, currency, amount: BigInt(amount) });
  };

  for (let now = t0; now < t0 + 140; now++) {
    if (now < t0 + 5) {
      // 2,000 maximal amounts, +1 each so the sum is odd and past 2^53 in every second:
      // a float64 cannot hold it.
      for (let k = 0; k < 2000; k++) add(k & 1, now, USD, MAX_AMOUNT + 1);
      add(0, now, JPY, 7);
    } else {
      add(now & 1, now, USD, 1 + (now % 13));
      add(1, now, JPY, 3);
    }
    acc.advance(now);
    const open = acc.readOpen(now);
    acc.window('1m', open, out);
    const m = windowMetrics(out, 0, 60);
    for (const [cur, code] of [
      [USD, 'USD'],
      [JPY, 'JPY'],
    ] as const) {
      const want = added
        .filter((a) => a.currency === cur && a.second > now - 60 && a.second <= now)
        .reduce((s, a) => s + a.amount, 0n);
      const got =
        m.volumeExact?.[code] !== undefined
          ? BigInt(m.volumeExact[code])
          : BigInt(m.volume[code] ?? 0);
      if (want > BigInt(Number.MAX_SAFE_INTEGER)) {
        sawHuge = true;
        t.equal(
          m.volumeExact?.[code],
          want.toString(),
          `second ${now - t0}: exact digits past 2^53`,
        );
      }
      if (got !== want) t.fail(`second ${now - t0}, ${code}: ${got} ≠ ${want}`);
      checks++;
    }
  }
  t.ok(sawHuge, 'the window held more than 2^53 minor units');
  const open = acc.readOpen(t0 + 139);
  acc.window('1m', open, out);
  const last = windowMetrics(out, 0, 60);
  t.equal(last.volumeExact, undefined, 'no exact digits once the volume is small again');
  const want = added
    .filter((a) => a.currency === USD && a.second > t0 + 139 - 60)
    .reduce((s, a) => s + a.amount, 0n);
  t.equal(last.volume.USD, Number(want), 'no rounding left behind by the seconds that left');
  t.ok(checks > 200, `${checks} checks`);
});
