import type { DbConfig } from '../db/db-config.js';
import type { StreamDoorConfig } from '../ingest/stream/stream-config.js';
import type { FaultSpec } from './fault-switch.js';

/**
 * The typed protocol between the primary and the ingest thread. The primary only reads the
 * body and hands the bytes over (transferred, not copied); parsing, validation, the group
 * commit and the metrics all happen on the ingest thread, which appears to the snapshot as
 * one more shard (its own ShardMetrics, feed and alert rings).
 */

/**
 * The ingest thread's status block (Float64Array over `statusSab`, ingest → primary), read
 * by GET /readyz and the snapshot:
 *
 *   +----------------+-----------------+-------------------+----------------+
 *   | commit since ms| failed attempts | refused requests  | refused items  |
 *   +----------------+-----------------+-------------------+----------------+
 *   commit since: when the group commit now running started (0 = none running);
 *   failed attempts: of that group so far (0 = none failed); refused: since start, requests
 *   (and their items) the database refused for good (answered 422 PB_ERR_INGEST_REJECTED).
 */
export const IS_COMMIT_SINCE_MS = 0;
export const IS_FAILED_ATTEMPTS = 1;
export const IS_REFUSED_REQUESTS = 2;
export const IS_REFUSED_ITEMS = 3;
export const IS_COUNT = 4;

export interface IngestInit {
  db: DbConfig;
  /** IS_COUNT float64 (see above). */
  statusSab: SharedArrayBuffer;
  /** Worker part of the ids this thread assigns (distinct from every shard's). */
  idWorker: number;
  metricsSab: SharedArrayBuffer;
  /** The live feed's per-tick sample (feed-sample.ts). */
  feedSab: SharedArrayBuffer;
  feedSize: number;
  alertRingSab: SharedArrayBuffer;
  alertRingCapacity: number;
  /** The source registry (source-registry.ts): producers' names become slots here. */
  sourcesSab: SharedArrayBuffer;
  maxItems: number;
  /** Items waiting for commit above which new requests get 503 + Retry-After. */
  maxQueued: number;
  fraudAmountThreshold: number;
  /** Set for a restarted thread: mint ids only above this ms (G_ID_MS of the failed one). */
  idAfterMs?: number;
  /** The JetStream door (INGEST_STREAM), run by this thread; absent when off. */
  stream?: StreamDoorConfig;
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
  | { type: 'warn'; code: string; message: string; attempt: number }
  /** A request the database refused for good (logged at error level once per cause). */
  | { type: 'refused'; code: string; message: string; items: number; groupRequests: number }
  /**
   * A source name first met with the registry full: it counts under `other` (logged once
   * per name; the first OVERFLOW_NAMES_LOGGED names only, the counters count them all).
   */
  | { type: 'source-overflow'; source: string; capacity: number }
  /** The JetStream door's state changes (one line per outage, setup, misconfiguration). */
  | { type: 'stream'; level: 'info' | 'warn' | 'error'; code: string; message: string };

/** Rollup `writer` column of rows the ingest thread writes (simulator writers are 0..N). */
export const INGEST_ROLLUP_WRITER = 1000;
