import type { Connection, Pool } from 'mysql2/promise';
import { CURRENCIES } from '../shared/catalog.js';
import {
  addLatency,
  addRollupCell,
  B_SECOND,
  OVERFLOW_SLOT,
  ROW_STRIDE,
} from '../shared/window-row.js';
import { type ReadLimit, timedQuery } from './read-timeout.js';

/**
 * Reads the per-second rollups back as metric bucket rows (window-row.ts layout), summed
 * over writers, sources × currencies and `step`-second bins. The same rows the shards write
 * in memory, so the restart reload (step 1, into a shard's buckets) and the history of older
 * ranges (any step) share one path, and percentiles come from the stored histogram.
 *
 * Both queries are range scans on the primary keys' leading `second` column, each stopped by
 * the database past `limit.timeoutMs` (read-timeout.ts). Volume sums arrive as exact decimal
 * digits and go into the rows' two volume limbs (window-row.ts).
 */

export interface RollupBins {
  /** Start second of each bin that has data, ascending. */
  seconds: number[];
  /** ROW_STRIDE float64 per bin, in the order of `seconds`; B_SECOND = bin start. */
  rows: Float64Array;
}

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
  // A name without a slot (it came after the registry was full) counts under `other`.
  const slotOf = (name: string) => sourceIndex.get(name) ?? OVERFLOW_SLOT;
  const bins = new Map<number, number>(); // bin → row index
  for (const r of cellRows) bins.set(Number(r[0]), 0);
  for (const r of latRows) bins.set(Number(r[0]), 0);
  const order = [...bins.keys()].sort((a, b) => a - b);
  const rows = new Float64Array(order.length * ROW_STRIDE);
  for (let i = 0; i < order.length; i++) {
    bins.set(order[i]!, i);
    rows[i * ROW_STRIDE + B_SECOND] = order[i]! * s;
  }
  for (const r of cellRows) {
    const off = bins.get(Number(r[0]))! * ROW_STRIDE;
    // SUM of a DECIMAL(38,0) column: decimal digits (mysql2 returns DECIMAL as a string).
    const volume = typeof r[6] === 'number' ? BigInt(Math.round(r[6])) : BigInt(String(r[6] ?? 0));
    addRollupCell(
      rows,
      off,
      slotOf(String(r[1])),
      CURRENCY_INDEX.get(String(r[2])) ?? -1,
      Number(r[3]),
      Number(r[4]),
      Number(r[5]),
      volume,
      Number(r[7]),
    );
  }
  for (const r of latRows)
    addLatency(rows, bins.get(Number(r[0]))! * ROW_STRIDE, Number(r[1]), Number(r[2]));
  return { seconds: order.map((b) => b * s), rows };
}
