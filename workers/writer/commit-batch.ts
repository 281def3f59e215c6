import {
  appendRingRows,
  RollupAccumulator,
  ringRowId,
  TX_COLUMNS,
} from '../../src/db/ring-rows.js';
import type { Lane } from './lane.js';
import type { Batch } from './ring-cursor.js';

/**
 * Commits one batch of ring records in one transaction: the rows and their rollup cells.
 *
 * First attempt: one round trip, `START TRANSACTION; INSERT …; INSERT rollups …; COMMIT`.
 * The ids are fresh (nothing else writes them), so every row is new.
 *
 * A retry cannot know whether the lost attempt committed (the reply may be what was lost).
 * So it first locks the batch's id range (`SELECT … FOR UPDATE` waits for a still-running
 * rollback of the old attempt) and writes only the ids not already there, and rollups only
 * for those: a re-sent batch neither duplicates a row nor counts it twice. The INSERT also
 * keeps `ON DUPLICATE KEY UPDATE id = id` as a second line of defence.
 */

const QUERY_TIMEOUT_MS = 120_000;

export interface CommitContext {
  writerIndex: number;
  sourceSql: readonly string[];
  sourceNames: readonly string[];
}

export async function commitBatch(
  lane: Lane,
  batch: Batch,
  attempt: number,
  ctx: CommitContext,
): Promise<number> {
  const { ring } = batch.cursor;
  const conn = await lane.get();
  let skip: Set<string> | undefined;
  if (attempt > 0) {
    const ids: string[] = [];
    for (let n = 0; n < batch.count; n++)
      ids.push(ringRowId(ring.f, (batch.start + n) & ring.mask));
    const [results] = await conn.query({
      sql: `START TRANSACTION; SELECT id FROM transactions WHERE id IN (${ids.join(',')}) FOR UPDATE`,
      timeout: QUERY_TIMEOUT_MS,
    });
    const found = (results as unknown[])[1] as { id: string }[];
    skip = new Set(found.map((r) => String(r.id)));
  }
  const rows: string[] = [];
  const rollup = new RollupAccumulator();
  const added = appendRingRows(
    ring.f,
    ring.mask,
    batch.start,
    batch.count,
    ctx.sourceSql,
    rows,
    rollup,
    skip,
  );
  let sql = attempt > 0 ? '' : 'START TRANSACTION;';
  if (added > 0) {
    sql += `INSERT INTO transactions (${TX_COLUMNS}) VALUES ${rows.join(',')} ON DUPLICATE KEY UPDATE id = id;`;
    sql += `${rollup.sql(ctx.writerIndex, ctx.sourceNames)};`;
  }
  sql += 'COMMIT';
  await conn.query({ sql, timeout: QUERY_TIMEOUT_MS });
  return added;
}
