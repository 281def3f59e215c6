import { Readable } from 'node:stream';
import type mysql from 'mysql2/promise';
import {
  encodeRingRows,
  LOAD_TX_SQL,
  RollupAccumulator,
  type RowFormat,
  ringRowId,
  TX_COLUMNS,
} from '../../src/db/ring-rows.js';
import type { Lane } from './lane.js';
import type { RingCursor } from './ring-cursor.js';

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
 *
 * LOAD DATA LOCAL turns what INSERT refuses (a value out of range, too long, not a number)
 * into a warning and stores a changed value (the server cannot stop a LOCAL transfer
 * midway). So with LOAD DATA the rows go in a first round trip, its warnings are checked,
 * and a warning other than a skipped duplicate fails the batch with the warning's error
 * code (db-errors.ts then says it is permanent) before anything is committed; the rollups
 * and COMMIT follow in a second round trip.
 */

const QUERY_TIMEOUT_MS = 120_000;
/** LOAD DATA packets: well under max_allowed_packet and the 16 MB protocol packet limit. */
const CHUNK_BYTES = 1 << 20;

export interface CommitContext {
  writerIndex: number;
  /** The `writer` column of the rollup rows (src/db/rollup-writers.ts). */
  rollupWriter: number;
  format: RowFormat;
  /** Source names as `format` writes them. */
  sourceText: readonly string[];
  sourceNames: readonly string[];
  /** TEST ONLY (PB_FAULT_POISON_ROWS): ring positions whose row the database must refuse. */
  poison?: (position: number) => boolean;
}

/** Ring records `start..start+count` of one cursor: a claimed batch, or a part of one. */
export interface RowRange {
  readonly cursor: RingCursor;
  readonly start: number;
  readonly count: number;
}

/** MySQL error codes of LOAD DATA warnings, by number (the driver names only errors). */
const WARNING_CODES: Record<number, string> = {
  1264: 'ER_WARN_DATA_OUT_OF_RANGE',
  1265: 'WARN_DATA_TRUNCATED',
  1292: 'ER_TRUNCATED_WRONG_VALUE',
  1366: 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
  1406: 'ER_DATA_TOO_LONG',
  1048: 'ER_BAD_NULL_ERROR',
  1261: 'ER_WARN_TOO_FEW_RECORDS',
  1262: 'ER_WARN_TOO_MANY_RECORDS',
  1263: 'ER_WARN_NULL_TO_NOTNULL',
};
const ER_DUP_ENTRY = 1062;

/** An error made from a LOAD DATA warning, shaped like the driver's errors. */
class LoadDataWarning extends Error {
  readonly code: string;
  readonly errno: number;

  constructor(errno: number, message: string) {
    super(`LOAD DATA warning ${errno}: ${message}`);
    this.errno = errno;
    this.code = WARNING_CODES[errno] ?? `ERRNO_${errno}`;
  }
}

interface Header {
  warningStatus?: number;
}

/** Throws if the LOAD DATA that produced `result` changed or dropped a value. */
async function refuseLoadWarnings(conn: mysql.Connection, result: unknown): Promise<void> {
  const header = (Array.isArray(result) ? result[result.length - 1] : result) as Header;
  if (!header || !(Number(header.warningStatus) > 0)) return;
  const [warnings] = await conn.query('SHOW WARNINGS');
  for (const w of warnings as { Code: number; Message: string }[]) {
    // A duplicate id is skipped by IGNORE on purpose (a re-sent row already stored).
    if (Number(w.Code) !== ER_DUP_ENTRY) throw new LoadDataWarning(Number(w.Code), w.Message);
  }
}

function chunks(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < buf.length; o += CHUNK_BYTES) out.push(buf.subarray(o, o + CHUNK_BYTES));
  return out;
}

/**
 * Commits the rows of `range` and their rollups in one transaction; `checkExisting` (any
 * attempt after a failed one, and a batch a failed writer thread may have committed before
 * it died) skips ids already stored. Returns the rows written.
 */
export async function commitBatch(
  lane: Lane,
  range: RowRange,
  checkExisting: boolean,
  ctx: CommitContext,
): Promise<number> {
  const { ring } = range.cursor;
  const conn = await lane.get();
  let skip: Set<string> | undefined;
  if (checkExisting) {
    const ids: string[] = [];
    for (let n = 0; n < range.count; n++)
      ids.push(ringRowId(ring.f, (range.start + n) & ring.mask));
    const [results] = await conn.query({
      sql: `START TRANSACTION; SELECT id FROM transactions WHERE id IN (${ids.join(',')}) FOR UPDATE`,
      timeout: QUERY_TIMEOUT_MS,
    });
    const found = (results as unknown[])[1] as { id: string }[];
    skip = new Set(found.map((r) => String(r.id)));
  }
  const rollup = new RollupAccumulator();
  if (ctx.format === 'load') {
    const { payload, rows } = lane.rows.encode(
      ring.f,
      ring.mask,
      range.start,
      range.count,
      ctx.sourceText,
      rollup,
      skip,
      ctx.poison,
      true,
    );
    let sql = checkExisting ? '' : 'START TRANSACTION;';
    if (rows > 0) {
      const [loaded] = await conn.query({
        sql: `${sql}${LOAD_TX_SQL}`,
        timeout: QUERY_TIMEOUT_MS,
        infileStreamFactory: () => Readable.from(chunks(payload)),
      });
      await refuseLoadWarnings(conn, loaded);
      sql = rollup.sql(ctx.rollupWriter, ctx.sourceNames);
    }
    await conn.query({ sql: `${sql}COMMIT`, timeout: QUERY_TIMEOUT_MS });
    return rows;
  }
  const { text, rows } = encodeRingRows(
    ring.f,
    ring.mask,
    range.start,
    range.count,
    'insert',
    ctx.sourceText,
    rollup,
    skip,
    ctx.poison,
  );
  let sql = checkExisting ? '' : 'START TRANSACTION;';
  if (rows > 0) {
    sql += `INSERT INTO transactions (${TX_COLUMNS}) VALUES ${text} ON DUPLICATE KEY UPDATE id = id;`;
    sql += rollup.sql(ctx.rollupWriter, ctx.sourceNames);
  }
  sql += 'COMMIT';
  await conn.query({ sql, timeout: QUERY_TIMEOUT_MS });
  return rows;
}
