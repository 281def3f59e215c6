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
 *   +----------------+-----------------+-------------------+----------------+-----------+
 *   | commit since ms| failed attempts | refused requests  | refused items  | deadlocks |
 *   +----------------+-----------------+-------------------+----------------+-----------+
 *   commit since: when the oldest group commit now running started (0 = none running; up to
 *   INGEST_COMMITS_IN_FLIGHT run at once); failed attempts: of the groups now running, so
 *   far (0 = none failed); refused: since start, requests (and their items) the database
 *   refused for good (answered 422 PB_ERR_INGEST_REJECTED); deadlocks: since start, attempts
 *   the database chose as a deadlock victim (two overlapping groups; retried).
 */
export const IS_COMMIT_SINCE_MS = 0;
export const IS_FAILED_ATTEMPTS = 1;
export const IS_REFUSED_REQUESTS = 2;
export const IS_REFUSED_ITEMS = 3;
export const IS_DEADLOCKS = 4;
export const IS_COUNT = 5;

export interface IngestInit {
  db: DbConfig;
  /** IS_COUNT float64 (see above). */
  statusSab: SharedArrayBuffer;
  /** Worker part of the ids this thread assigns (distinct from every shard's). */
  idWorker: number;
  /** The `writer` column of its rollup rows (src/db/rollup-writers.ts). */
  rollupWriter: number;
  metricsSab: SharedArrayBuffer;
  /** The live feed's per-tick sample (feed-sample.ts). */
  feedSab: SharedArrayBuffer;
  feedSize: number;
  alertRingSab: SharedArrayBuffer;
  alertRingCapacity: number;
  /** The source registry (source-registry.ts): producers' names become slots here. */
  sourcesSab: SharedArrayBuffer;
  maxItems: number;
  /** INGEST_COMMITS_IN_FLIGHT: group commits running at once, one connection each. */
  commitsInFlight: number;
  /** INGEST_OVERLAP_MIN_ITEMS: items waiting before a commit starts beside a running one. */
  overlapMinItems: number;
  /** INGEST_BODY_LIMIT: also the bound on a decompressed (gzip) body. */
  bodyLimit: number;
  /** INGEST_MAX_QUEUED_BYTES, resolved: also bounds the bytes of gzip bodies inflating at once. */
  maxQueuedBytes: number;
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

/**
 * primary → ingest: the body bytes that arrived for every request since the last message,
 * in one message (not one per request). `bytes` holds them back to back; `parts` is an
 * Int32Array of PART_FIELDS per part (numbers, not objects: cloning an object per part cost
 * the primary more than the bytes):
 *
 *   bytes: | req 7 (whole body) | req 8 (first chunk) | req 5 (last chunk) |
 *   parts: [7, 0, 153, OPEN|LAST] [8, 153, 65689, OPEN|NDJSON] [5, 65689, 70012, LAST]
 *
 * A request's first part has PART_OPEN (and how to read the body: PART_NDJSON, PART_GZIP);
 * its last has PART_LAST; PART_ABORT (no bytes) means the client went away or the primary
 * refused the rest, and the thread forgets the request without answering.
 */
export interface IngestParts {
  type: 'parts';
  bytes: Uint8Array;
  parts: Int32Array;
}

export const PART_REQ_ID = 0;
export const PART_START = 1;
export const PART_END = 2;
export const PART_FLAGS = 3;
export const PART_FIELDS = 4;

export const PART_OPEN = 1;
export const PART_NDJSON = 2;
export const PART_GZIP = 4;
export const PART_LAST = 8;
export const PART_ABORT = 16;

/** One request's answer. */
export interface IngestResult {
  reqId: number;
  status: number;
  json: string;
  retryAfterS?: number;
}

/** ingest → primary */
export type IngestMessage =
  | { type: 'ready' }
  /** Answers, one message per group commit (and per batch of early refusals). */
  | { type: 'results'; results: IngestResult[] }
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
