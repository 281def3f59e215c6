import t from 'tap';
import { RollupAccumulator } from '../src/db/ring-rows.js';
import { CURRENCIES, MAX_CURRENCIES } from '../src/shared/catalog.js';
import { HISTOGRAM_BUCKETS } from '../src/shared/latency-histogram.js';
import { ShardMetrics } from '../src/shared/metric-buckets.js';
import {
  addItem,
  addLatency,
  addRollupCell,
  B_HISTOGRAM,
  B_SECOND,
  B_SOURCES,
  B_VOLUME,
  B_VOLUME_HI,
  B_VOLUME_USD,
  mergeRow,
  OVERFLOW_SLOT,
  ROW_STRIDE,
  S_USD,
  SOURCE_FIELDS,
  sourceField,
  subtractRow,
  volumeOf,
} from '../src/shared/window-row.js';
import { WindowWriter } from '../workers/shard/window-writer.js';
import { mulberry32 } from './helpers/rng.js';

/**
 * The window row is defined once (src/shared/window-row.ts) and everything that adds to
 * rows goes through it. These pin its algebra: add then subtract is zero; merging partial
 * rows equals the row of the union of their items; the rollups MySQL keeps, read back,
 * give the row the shard's writer builds for the same items.
 */

interface Item {
  failed: boolean;
  flagged: boolean;
  ms: number;
  currency: number;
  amount: number;
  source: number;
}

const USD_PER_MINOR = CURRENCIES.map((c) => c.usdPerMinor);

function items(seed: number, n: number): Item[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => ({
    failed: rnd() < 0.2,
    flagged: rnd() < 0.1,
    ms: Math.floor(rnd() * 5000),
    currency: Math.floor(rnd() * CURRENCIES.length),
    // Some amounts near the limit: the volume limbs must carry exactly.
    amount: rnd() < 0.05 ? 1e15 - Math.floor(rnd() * 1000) : 1 + Math.floor(rnd() * 1e6),
    source: rnd() < 0.1 ? OVERFLOW_SLOT : Math.floor(rnd() * 40),
  }));
}

function rowOf(list: Item[]): Float64Array {
  const row = new Float64Array(ROW_STRIDE);
  for (const i of list)
    addItem(
      row,
      0,
      i.failed,
      i.flagged,
      i.ms,
      i.currency,
      i.amount,
      i.amount * USD_PER_MINOR[i.currency]!,
      i.source,
    );
  return row;
}

/** USD figures are float sums in different orders: compared within a relative 1e-9. */
function isUsd(k: number): boolean {
  return k === B_VOLUME_USD || (k >= B_SOURCES && (k - B_SOURCES) % SOURCE_FIELDS === S_USD);
}

/** The fields where two rows differ (B_SECOND, a label, is not compared). */
function rowDiffs(a: Float64Array, b: Float64Array): string[] {
  const diffs: string[] = [];
  // The limbs are not canonical (a merge does not carry): compare the exact volumes.
  for (let c = 0; c < MAX_CURRENCIES; c++) {
    const va = volumeOf(a, 0, c);
    const vb = volumeOf(b, 0, c);
    if (va !== vb) diffs.push(`volume[${c}] ${va} ≠ ${vb}`);
  }
  for (let k = 1; k < ROW_STRIDE; k++) {
    if (k >= B_VOLUME && k < B_VOLUME_HI + MAX_CURRENCIES) continue;
    const ok = isUsd(k)
      ? Math.abs(a[k]! - b[k]!) <= 1e-9 * Math.max(1, Math.abs(a[k]!))
      : a[k] === b[k];
    if (!ok) diffs.push(`[${k}] ${a[k]} ≠ ${b[k]}`);
  }
  return diffs;
}

t.test('add then subtract gives zero', async (t) => {
  const row = rowOf(items(1, 2000));
  t.ok(
    row.some((v) => v !== 0),
    'the row holds something',
  );
  const acc = new Float64Array(ROW_STRIDE);
  mergeRow(acc, 0, row, 0);
  subtractRow(acc, 0, row, 0);
  t.ok(
    acc.every((v) => v === 0),
    'zero everywhere',
  );
});

t.test('merging partial rows equals the row of the union of their items', async (t) => {
  const a = items(2, 1500);
  const b = items(3, 700);
  const merged = new Float64Array(2 * ROW_STRIDE);
  merged.set(rowOf(a), 0);
  merged.set(rowOf(b), ROW_STRIDE);
  mergeRow(merged, 0, merged, ROW_STRIDE);
  t.same(rowDiffs(merged.subarray(0, ROW_STRIDE), rowOf([...a, ...b])), [], 'merge = union');
});

t.test('the shard writer and the rollups give the same row for the same items', async (t) => {
  const list = items(4, 3000);
  const second = 1_800_000_000;

  const metrics = ShardMetrics.create();
  const writer = new WindowWriter(metrics);
  writer.begin();
  writer.selectSecond(second);
  for (const i of list)
    writer.add(
      i.failed,
      i.flagged,
      i.ms,
      i.currency,
      i.amount,
      i.amount * USD_PER_MINOR[i.currency]!,
      i.source,
    );
  writer.end();
  const off = ShardMetrics.rowOf(second);
  const shardRow = metrics.buckets.slice(off, off + ROW_STRIDE);
  t.equal(shardRow[B_SECOND], second, 'the shard row is labelled with its second');

  // The rollup writer's cells and histogram, read back the way rollup-read.ts does.
  const rollup = new RollupAccumulator();
  for (const i of list)
    rollup.add(second, i.source, i.currency, i.failed, i.flagged, i.amount, i.ms);
  const fromRollups = new Float64Array(ROW_STRIDE);
  for (const c of rollup.cells.values())
    addRollupCell(
      fromRollups,
      0,
      c.source,
      c.currency,
      c.count,
      c.failed,
      c.flagged,
      c.volume.toBigInt(),
      c.processingMs,
    );
  for (const [k, n] of rollup.latency) addLatency(fromRollups, 0, k % HISTOGRAM_BUCKETS, n);

  t.same(rowDiffs(shardRow, rowOf(list)), [], 'shard writer = addItem');
  t.same(rowDiffs(fromRollups, rowOf(list)), [], 'rollup cells = addItem');
  t.ok(
    fromRollups.subarray(B_HISTOGRAM, B_SOURCES).some((v) => v > 0),
    'the histogram counted',
  );
  t.ok(fromRollups[sourceField(OVERFLOW_SLOT, 0)]! > 0, 'the overflow slot counted');
});
