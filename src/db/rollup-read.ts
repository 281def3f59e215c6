import type { Connection, Pool } from 'mysql2/promise';
import { CURRENCIES } from '../shared/catalog.js';
import { HISTOGRAM_BUCKETS } from '../shared/latency-histogram.js';
import {
  addVolumeExact,
  B_COUNT,
  B_FAILED,
  B_FLAGGED,
  B_HISTOGRAM,
  B_PROC_SUM,
  B_SECOND,
  B_SOURCE_COUNT,
  B_SOURCE_FAILED,
  B_SOURCE_USD,
  B_VOLUME_USD,
  BUCKET_STRIDE,
} from '../shared/metric-buckets.js';
import { type ReadLimit, timedQuery } from './read-timeout.js';

/**
 * Reads the per-second rollups back as metric bucket rows (metric-buckets.ts layout), summed
 * over writers, sources × currencies and `step`-second bins. The same rows the shards write
 * in memory, so the restart reload (step 1, into a shard's buckets) and the history of older
 * ranges (any step) share one path, and percentiles come from the stored histogram.
 *
 * Both queries are range scans on the primary keys' leading `second` column, each stopped by
 * the database past `limit.timeoutMs` (read-timeout.ts). Volume sums arrive as exact decimal
 * digits and go into the rows' two volume limbs (metric-buckets.ts).
 */

export interface RollupBins {
  /** Start second of each bin that has data, ascending. */
  seconds: number[];
  /** BUCKET_STRIDE float64 per bin, in the order of `seconds`; B_SECOND = bin start. */
  rows: Float64Array;
}

const USD_PER_MINOR = CURRENCIES.map((c) => c.usdPerMinor);
const CURRENCY_INDEX = new Map(CURRENCIES.map((c, i) => [c.code, i]));

export async function readRollupBins(
  conn: Connection | Pool,
  fromSecond: number,
  toSecond: number,
  step: number,
  sourceNames: readonly string[],
  limit: ReadLimit,
): Promise<RollupBins> {
  const from = Math.max(0, Math.floor(fromSecond));
  const to = Math.max(from, Math.floor(toSecond));
  const s = Math.max(1, Math.floor(step));
  const cellRows = await timedQuery(
    conn,
    `SELECT second DIV ${s} AS b, source, currency, SUM(count), SUM(failed), SUM(flagged), SUM(volume), SUM(processing_ms)
       FROM rollup_seconds WHERE second BETWEEN ? AND ? GROUP BY b, source, currency`,
    [from, to],
    limit,
  );
  const latRows = await timedQuery(
    conn,
    `SELECT second DIV ${s} AS b, bucket, SUM(count)
       FROM rollup_latency WHERE second BETWEEN ? AND ? GROUP BY b, bucket`,
    [from, to],
    limit,
  );
  const sourceIndex = new Map(sourceNames.map((n, i) => [n, i]));
  const bins = new Map<number, number>(); // bin → row index
  for (const r of cellRows) bins.set(Number(r[0]), 0);
  for (const r of latRows) bins.set(Number(r[0]), 0);
  const order = [...bins.keys()].sort((a, b) => a - b);
  const rows = new Float64Array(order.length * BUCKET_STRIDE);
  for (let i = 0; i < order.length; i++) {
    bins.set(order[i]!, i);
    rows[i * BUCKET_STRIDE + B_SECOND] = order[i]! * s;
  }
  for (const r of cellRows) {
    const off = bins.get(Number(r[0]))! * BUCKET_STRIDE;
    const count = Number(r[3]);
    // SUM of a DECIMAL(38,0) column: decimal digits (mysql2 returns DECIMAL as a string).
    const exact = typeof r[6] === 'number' ? BigInt(Math.round(r[6])) : BigInt(String(r[6] ?? 0));
    const volume = Number(exact);
    rows[off + B_COUNT]! += count;
    const failed = Number(r[4]);
    rows[off + B_FAILED]! += failed;
    rows[off + B_FLAGGED]! += Number(r[5]);
    rows[off + B_PROC_SUM]! += Number(r[7]);
    const cur = CURRENCY_INDEX.get(String(r[2]));
    const usd = cur === undefined ? 0 : volume * USD_PER_MINOR[cur]!;
    if (cur !== undefined) addVolumeExact(rows, off, cur, exact);
    rows[off + B_VOLUME_USD]! += usd;
    // A source no longer configured still counts in the totals, not in a source slot.
    const src = sourceIndex.get(String(r[1]));
    if (src !== undefined) {
      rows[off + B_SOURCE_COUNT + src]! += count;
      rows[off + B_SOURCE_USD + src]! += usd;
      rows[off + B_SOURCE_FAILED + src]! += failed;
    }
  }
  for (const r of latRows) {
    const bucket = Number(r[1]);
    if (bucket < 0 || bucket >= HISTOGRAM_BUCKETS) continue;
    rows[bins.get(Number(r[0]))! * BUCKET_STRIDE + B_HISTOGRAM + bucket]! += Number(r[2]);
  }
  return { seconds: order.map((b) => b * s), rows };
}
