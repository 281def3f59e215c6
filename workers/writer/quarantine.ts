import { open } from 'node:fs/promises';
import { dbErrorCode, isServerAnswer } from '../../src/db/db-errors.js';
import { encodeRingRows, RollupAccumulator, ringRowId } from '../../src/db/ring-rows.js';
import { backoffMs, sleep } from '../common/backoff.js';
import type { CommitContext, RowRange } from './commit-batch.js';
import type { Lane } from './lane.js';

/**
 * Where a simulator row goes when the database refuses it for good (a permanent error,
 * db-errors.ts): the `quarantine` table (schema.ts, migration 3), with the row as the text
 * the writer sent, the error's code and message, the writer and the time. The row travels
 * as a string parameter into bounded text columns, so this INSERT cannot fail for the
 * reason the row did.
 *
 * If the server answers the quarantine INSERT with an error of its own (the table dropped,
 * a lock wait, anything), the row is appended to DB_QUARANTINE_FILE as one JSON line and
 * fsynced instead. While the connection itself fails (the database down), the INSERT is
 * retried with backoff. The ring slot is released only once the row is durable in one of
 * the two, so nothing is lost; meanwhile /readyz reports the writer retrying.
 */

const MESSAGE_MAX = 500;

export interface QuarantinedRow {
  atMs: number;
  writer: number;
  txId: string;
  errorCode: string;
  error: string;
  rowFormat: string;
  rowText: string;
}

export class Quarantine {
  constructor(
    private readonly ctx: CommitContext,
    private readonly file: string,
  ) {}

  /**
   * Makes the one row of `range` durable in the quarantine; says where it went. `onRetry`
   * hears of each failed attempt before its backoff.
   */
  async put(
    lane: Lane,
    range: RowRange,
    err: unknown,
    onRetry: (cause: unknown, attempt: number) => void,
  ): Promise<'table' | 'file'> {
    const row = this.describe(range, err);
    for (let attempt = 0; ; attempt++) {
      try {
        const conn = await lane.get();
        await conn.query(
          'INSERT INTO quarantine (at_ms, writer, tx_id, error_code, error, row_format, row_text) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [row.atMs, row.writer, row.txId, row.errorCode, row.error, row.rowFormat, row.rowText],
        );
        return 'table';
      } catch (e) {
        lane.drop();
        if (!isServerAnswer(e)) {
          onRetry(e, attempt);
          await sleep(backoffMs(attempt));
          continue;
        }
      }
      try {
        await appendLine(this.file, `${JSON.stringify(row)}\n`);
        return 'file';
      } catch (e) {
        onRetry(e, attempt);
        await sleep(backoffMs(attempt));
      }
    }
  }

  private describe(range: RowRange, err: unknown): QuarantinedRow {
    const { ring } = range.cursor;
    const { text } = encodeRingRows(
      ring.f,
      ring.mask,
      range.start,
      1,
      this.ctx.format,
      this.ctx.sourceText,
      new RollupAccumulator(),
      undefined,
      this.ctx.poison,
    );
    return {
      atMs: Date.now(),
      writer: this.ctx.writerIndex,
      txId: ringRowId(ring.f, range.start & ring.mask),
      errorCode: dbErrorCode(err),
      error: String((err as Error)?.message ?? err).slice(0, MESSAGE_MAX),
      rowFormat: this.ctx.format,
      rowText: text.replace(/\n$/, ''),
    };
  }
}

async function appendLine(path: string, line: string): Promise<void> {
  const fh = await open(path, 'a');
  try {
    await fh.write(line);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
