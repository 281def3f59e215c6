import type { DbConfig } from '../db/db-config.js';
import type { TxQuery } from '../db/transactions-query.js';

/**
 * The typed protocol between the primary and the piscina read threads
 * (workers/piscina/read-worker.ts). A task answers with the response body as a JSON string,
 * so encoding also happens off the primary; errors come back as {code, message, field}.
 */

export interface TransactionsTask {
  kind: 'transactions';
  db: DbConfig;
  query: TxQuery;
}

export interface HistoryTask {
  kind: 'history';
  /** null when persistence is off: only the in-memory hour is served. */
  db: DbConfig | null;
  sourceNames: string[];
  /** `source=`: the window-row slot whose series to return (HISTORY_SOURCE_METRICS only). */
  sourceSlot: number | null;
  /** The primary's merged closed seconds (WindowAccumulator.closed), shared, read-only here. */
  closed: SharedArrayBuffer;
  /** Seconds >= memFirst come from `closed`, older ones from the rollup table. */
  memFirst: number;
  /** Last closed second in `closed`. */
  closedThrough: number;
  fromMs: number;
  toMs: number;
  metrics: string[];
  points: number | null;
}

export type ReadRequest = TransactionsTask | HistoryTask;

/** The reads' database limits, added to every task by ReadPool. */
export interface ReadLimits {
  /** READ_TIMEOUT_MS: longest one statement may run (the database stops it). */
  timeoutMs: number;
  /** Connections one read thread may open (its share of READ_DB_CONNECTIONS). */
  connectionsPerThread: number;
}

export type ReadTask = ReadRequest & { limits: ReadLimits };

/**
 * `message` is what the client is told, in our words; `detail` (the driver's error, which
 * may name hosts, ports and SQL) only goes to the server log.
 */
export type ReadResult =
  | { ok: true; json: string }
  | { ok: false; code: string; message: string; field?: string; detail?: string };

/** Whether a request reads the database (and so takes one of the READ_DB_CONNECTIONS). */
export function readsDatabase(r: ReadRequest): boolean {
  if (r.kind === 'transactions') return true;
  return r.db !== null && Math.ceil(r.fromMs / 1000) < r.memFirst;
}

/** Most per-point bins read from the rollup table before LTTB (bounds work per request). */
export const MAX_ROLLUP_BINS = 20_000;
