import type { DbConfig } from '../db/db-config.js';
import type { FaultSpec } from './fault-switch.js';

/**
 * The typed protocol between the primary and the ingest thread. The primary only reads the
 * body and hands the bytes over (transferred, not copied); parsing, validation, the group
 * commit and the metrics all happen on the ingest thread, which appears to the snapshot as
 * one more shard (its own ShardMetrics, feed and alert rings).
 */

export interface IngestInit {
  db: DbConfig;
  /** Worker part of the ids this thread assigns (distinct from every shard's). */
  idWorker: number;
  metricsSab: SharedArrayBuffer;
  feedRingSab: SharedArrayBuffer;
  feedRingCapacity: number;
  alertRingSab: SharedArrayBuffer;
  alertRingCapacity: number;
  sourceNames: string[];
  maxItems: number;
  /** Items waiting for commit above which new requests get 503 + Retry-After. */
  maxQueued: number;
  fraudAmountThreshold: number;
  feedQuota: number;
  /** Set for a restarted thread: mint ids only above this ms (G_ID_MS of the failed one). */
  idAfterMs?: number;
  /** Test-only fault switch (src/shared/fault-switch.ts); absent in production. */
  fault?: FaultSpec;
}

/** primary → ingest */
export interface IngestRequest {
  type: 'ingest';
  reqId: number;
  body: Uint8Array;
  ndjson: boolean;
}

/** ingest → primary */
export type IngestMessage =
  | { type: 'ready' }
  | { type: 'result'; reqId: number; status: number; json: string; retryAfterS?: number }
  | { type: 'warn'; code: string; message: string; attempt: number };

/** Rollup `writer` column of rows the ingest thread writes (simulator writers are 0..N). */
export const INGEST_ROLLUP_WRITER = 1000;
