import { Readable } from 'node:stream';
import {
  encodeRingRows,
  LOAD_TX_SQL,
  RollupAccumulator,
  type RowFormat,
  ringRowId,
  TX_COLUMNS,
} from '../../src/db/ring-rows.js';
import type { Lane } from './lane.js';
import type { Batch } from './ring-cursor.js';

/**
 * Commits one batch of ring records in one transaction: the rows and their rollup cells.
 *
 * First attempt: one round trip, `START TRANSACTION; LOAD DATA LOCAL INFILE … IGNORE` (the
 * rows come from a Buffer stream, not a file) or `INSERT …`, then the rollup upserts and
 * `COMMIT`. The ids are fresh (nothing else writes them), so every row is new.
 *
 * A retry cannot know whether the lost attempt committed (the reply may be what was lost).
 * So it first locks the batch's id range (`SELECT … FOR UPDATE` waits for a still-running
 * rollback of the old attempt) and writes only the ids not already there, and rollups only
 * for those: a re-sent batch neither duplicates a row nor counts it twice. The rows keep a
 * second line of defence on the primary key: LOAD DATA … IGNORE and INSERT … ON DUPLICATE
 * KEY UPDATE id = id both skip an id that exists.
 */

const QUERY_TIMEOUT_MS = 120_000;
/** LOAD DATA packets: well under max_allowed_packet and the 16 MB protocol packet limit. */
const CHUNK_BYTES = 1 << 20;

export interface CommitContext {
  writerIndex: number;
  format: RowFormat;
  /** Source names as `format` writes them. */
  sourceText: readonly string[];
  sourceNames: readonly string[];
}

function chunks(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < buf.length; o += CHUNK_BYTES) out.push(buf.subarray(o, o + CHUNK_BYTES));
  return out;
}

export async function commitBatch(
  lane: Lane,
  batch: Batch,
  attempt: number,
  ctx: CommitContext,
): Promise<number> {
  const { ring } = batch.cursor;
  const conn = await lane.get();
  // A batch a failed writer may have committed (restart) is re-sent like a retry.
  const retry = attempt > 0 || batch.maybeCommitted;
  let skip: Set<string> | undefined;
  if (retry) {
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
  const rollup = new RollupAccumulator();
  const { text, rows } = encodeRingRows(
    ring.f,
    ring.mask,
    batch.start,
    batch.count,
    ctx.format,
    ctx.sourceText,
    rollup,
    skip,
  );
  let sql = retry ? '' : 'START TRANSACTION;';
  let payload: Buffer[] | undefined;
  if (rows > 0) {
    if (ctx.format === 'load') {
      sql += `${LOAD_TX_SQL};`;
      // Every byte is ASCII (ids, numbers, catalog names, validated source names).
      payload = chunks(Buffer.from(text, 'latin1'));
    } else {
      sql += `INSERT INTO transactions (${TX_COLUMNS}) VALUES ${text} ON DUPLICATE KEY UPDATE id = id;`;
    }
    sql += rollup.sql(ctx.writerIndex, ctx.sourceNames);
  }
  sql += 'COMMIT';
  await conn.query({
    sql,
    timeout: QUERY_TIMEOUT_MS,
    ...(payload ? { infileStreamFactory: () => Readable.from(payload) } : {}),
  });
  return rows;
}
