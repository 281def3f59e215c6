import type { Connection } from 'mysql2/promise';
import { maintainPartitions, type RetentionResult } from './partitions.js';

/**
 * Retention: transactions by dropping whole daily partitions (cheap, no row locks), rollups,
 * ingest references and quarantined rows by DELETE in small chunks, so no statement holds
 * locks for long. Quarantined rows are kept as long as the transactions they would have been.
 */

const CHUNK = 10_000;
const DAY_MS = 86_400_000;

export interface RetentionRun extends RetentionResult {
  rollupsDeleted: number;
  refsDeleted: number;
  quarantineDeleted: number;
}

async function deleteInChunks(conn: Connection, sql: string, arg: number): Promise<number> {
  let total = 0;
  for (;;) {
    const [res] = await conn.query(`${sql} LIMIT ${CHUNK}`, [arg]);
    const n = (res as { affectedRows: number }).affectedRows;
    total += n;
    if (n < CHUNK) return total;
  }
}

export async function runRetention(
  conn: Connection,
  nowMs: number,
  retentionDays: number,
  rollupRetentionDays: number,
): Promise<RetentionRun> {
  const parts = await maintainPartitions(conn, nowMs, retentionDays);
  const rollupCutoff = Math.floor((nowMs - rollupRetentionDays * DAY_MS) / 1000);
  const rollupsDeleted = await deleteInChunks(
    conn,
    'DELETE FROM rollup_seconds WHERE second < ?',
    rollupCutoff,
  );
  await deleteInChunks(conn, 'DELETE FROM rollup_latency WHERE second < ?', rollupCutoff);
  // A ref outlives its transaction by nothing: once the row is gone, so is the key.
  const refsDeleted = await deleteInChunks(
    conn,
    'DELETE FROM ingest_refs WHERE created_ms < ?',
    nowMs - retentionDays * DAY_MS,
  );
  const quarantineDeleted = await deleteInChunks(
    conn,
    'DELETE FROM quarantine WHERE at_ms < ?',
    nowMs - retentionDays * DAY_MS,
  );
  return { ...parts, rollupsDeleted, refsDeleted, quarantineDeleted };
}
