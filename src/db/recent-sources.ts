import type { Connection, Pool } from 'mysql2/promise';
import { type ReadLimit, timedQuery } from './read-timeout.js';

/**
 * The source names of the rollups from `fromSecond` on, in the order they were first seen
 * (ties by name), at most `max`: after a restart these are registered again
 * (source-registry.ts) before anything else. The registry hands out slots first come, so
 * this order gives the names that had a slot before the restart their slot again, and a
 * name that overflowed into `other` stays there. A range scan on rollup_seconds' leading
 * `second` column, stopped past `limit.timeoutMs`.
 */
export async function recentSourceNames(
  conn: Connection | Pool,
  fromSecond: number,
  max: number,
  limit: ReadLimit,
): Promise<string[]> {
  const rows = await timedQuery(
    conn,
    `SELECT source, MIN(second) AS first FROM rollup_seconds WHERE second >= ?
       GROUP BY source ORDER BY first, source LIMIT ${Math.max(1, Math.floor(max))}`,
    [Math.max(0, Math.floor(fromSecond))],
    limit,
  );
  return rows.map((r) => String(r[0]));
}
