import type { DbConfig } from '../db/db-config.js';
import type { FaultSpec } from './fault-switch.js';

/**
 * The typed protocol between the primary and a MySQL writer thread: what it gets at start
 * (workerData), its shared control/stats block, and the few messages it posts.
 *
 *   control (Int32Array, primary → writer)   stats (Float64Array, writer → primary)
 *   +-------+                                 +------+---------+---------+--------+-----------+
 *   | DRAIN | 1 = commit what is in the rings  | rows | batches | retries | errors | connected |
 *   +-------+     then exit                    +------+---------+---------+--------+-----------+
 *                                              | last commit ms | retrying since ms | quarantined |
 *                                              +----------------+-------------------+-------------+
 *   retrying since: when the oldest batch a connection is retrying first failed (0 = none);
 *   quarantined: rows the database refused for good, moved to the quarantine (db-errors.ts).
 */

export const W_DRAIN = 0;
export const W_CONTROL_INTS = 4;

export const WS_ROWS = 0; // rows committed since start
export const WS_BATCHES = 1;
export const WS_RETRIES = 2; // batch attempts that failed and were retried
export const WS_ERRORS = 3; // connection or query errors seen
export const WS_CONNECTED = 4; // connections currently open
export const WS_LAST_COMMIT_MS = 5;
export const WS_RETRYING_SINCE_MS = 6;
export const WS_QUARANTINED = 7;
export const WS_STATS_COUNT = 8;

export function writerBlockBytes(): number {
  return W_CONTROL_INTS * 4 + WS_STATS_COUNT * 8;
}

export interface WriterRingRef {
  sab: SharedArrayBuffer;
  capacity: number;
  /** Consumer slot the primary claimed for this writer before the shard started. */
  consumer: number;
}

export interface WriterInit {
  writerIndex: number;
  /** The `writer` column of its rollup rows: node and index (src/db/rollup-writers.ts). */
  rollupWriter: number;
  db: DbConfig;
  rings: WriterRingRef[];
  blockSab: SharedArrayBuffer;
  sourceNames: string[];
  batchSize: number;
  flushMs: number;
  connections: number;
  /** LOAD DATA LOCAL INFILE from a Buffer stream, or multi-row INSERT (see ring-rows.ts). */
  rowFormat: 'load' | 'insert';
  /** JSON-lines file for refused rows the quarantine table cannot take (DB_QUARANTINE_FILE). */
  quarantineFile: string;
  /**
   * A restarted writer: the records its rings hold unreleased may have been committed by the
   * failed one (it died between COMMIT and release), so it re-sends them on the path that
   * skips ids already stored (ring-cursor.ts, commit-batch.ts).
   */
  resume?: boolean;
  /** Test-only fault switch (src/shared/fault-switch.ts); absent in production. */
  fault?: FaultSpec;
}

/** writer → primary */
export type WriterMessage =
  | { type: 'ready'; writerIndex: number }
  | { type: 'drained'; writerIndex: number; rows: number }
  | { type: 'warn'; writerIndex: number; code: string; message: string; attempt: number }
  /** Rows the database refused for good, now in the quarantine table or file. */
  | {
      type: 'quarantined';
      writerIndex: number;
      code: string;
      message: string;
      rows: number;
      where: 'table' | 'file';
    }
  | { type: 'error'; writerIndex: number; code: string; message: string };
