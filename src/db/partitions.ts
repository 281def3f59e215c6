import type { Connection } from 'mysql2/promise';
import { firstIdAt } from './tx-id-time.js';

/**
 * Daily RANGE partitions of `transactions` by id (ids are time-ordered, so id ranges are
 * days). Retention is then a partition drop: O(1) metadata work instead of a DELETE that
 * locks and logs millions of rows.
 *
 *   p20261126 | p20261127 | p20261128 | ... | pfuture (VALUES LESS THAN MAXVALUE, kept empty)
 *   ids < start of the next day ──►
 *
 * Partition pYYYYMMDD holds ids below the first id of the next day (the oldest one also
 * holds anything older). New days are split off `pfuture` ahead of time while it is still
 * empty, which is cheap.
 */

const DAY_MS = 86_400_000;
export const DAYS_AHEAD = 3;

export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export function partitionName(dayMs: number): string {
  return `p${new Date(dayMs).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

export function partitionDef(dayMs: number): string {
  return `PARTITION ${partitionName(dayMs)} VALUES LESS THAN (${firstIdAt(dayMs + DAY_MS)})`;
}

/** The PARTITION BY clause for a new table: yesterday … DAYS_AHEAD days ahead, then pfuture. */
export function initialPartitionClause(nowMs: number): string {
  const today = dayStart(nowMs);
  const defs: string[] = [];
  for (let d = -1; d <= DAYS_AHEAD; d++) defs.push(partitionDef(today + d * DAY_MS));
  defs.push('PARTITION pfuture VALUES LESS THAN MAXVALUE');
  return `PARTITION BY RANGE (id) (\n  ${defs.join(',\n  ')}\n)`;
}

interface PartitionRow {
  name: string;
  bound: string | null;
}

export async function listPartitions(
  conn: Connection,
  table = 'transactions',
): Promise<PartitionRow[]> {
  const [rows] = await conn.query(
    `SELECT PARTITION_NAME AS name, PARTITION_DESCRIPTION AS bound
       FROM information_schema.PARTITIONS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND PARTITION_NAME IS NOT NULL
      ORDER BY PARTITION_ORDINAL_POSITION`,
    [table],
  );
  return rows as PartitionRow[];
}

export interface RetentionResult {
  added: string[];
  dropped: string[];
}

/**
 * Adds the daily partitions up to DAYS_AHEAD days from `nowMs` and drops those whose every
 * row is older than `retentionDays` (the partition's upper bound is at or before the cutoff).
 */
export async function maintainPartitions(
  conn: Connection,
  nowMs: number,
  retentionDays: number,
): Promise<RetentionResult> {
  const parts = await listPartitions(conn);
  const names = new Set(parts.map((p) => p.name));
  const today = dayStart(nowMs);
  const missing: number[] = [];
  // Only days after the last daily partition can be split off pfuture.
  const daily = parts.filter((p) => p.name !== 'pfuture');
  const lastBound = daily.length > 0 ? BigInt(daily[daily.length - 1]!.bound!) : 0n;
  // From the retention horizon (gaps after a long downtime) to DAYS_AHEAD days ahead.
  for (let d = -retentionDays; d <= DAYS_AHEAD; d++) {
    const day = today + d * DAY_MS;
    if (!names.has(partitionName(day)) && firstIdAt(day + DAY_MS) > lastBound) missing.push(day);
  }
  if (missing.length > 0) {
    await conn.query(
      `ALTER TABLE transactions REORGANIZE PARTITION pfuture INTO (${missing.map(partitionDef).join(', ')}, PARTITION pfuture VALUES LESS THAN MAXVALUE)`,
    );
  }
  const cutoff = firstIdAt(nowMs - retentionDays * DAY_MS);
  const expired = daily.filter((p) => BigInt(p.bound!) <= cutoff).map((p) => p.name);
  // Never drop the last daily partition: RANGE needs at least one besides pfuture.
  if (expired.length === daily.length) expired.pop();
  if (expired.length > 0)
    await conn.query(`ALTER TABLE transactions DROP PARTITION ${expired.join(', ')}`);
  return { added: missing.map(partitionName), dropped: expired };
}
