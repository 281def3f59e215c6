import { C_SEALED, CONTROL_INTS, NOTHING_SEALED } from './shard-protocol.js';
import { ROW_STRIDE } from './window-row.js';

/**
 * Per-shard metrics in shared memory: one window row (window-row.ts: the layout and how
 * items are added) per second in a ring of BUCKET_COUNT seconds (a little over the 1 h
 * window), written only by the shard's own thread and read by the primary.
 *
 *   SharedArrayBuffer: | control int32 × 16 | gauges float64 × 16 | buckets: row × 4096 | totals: row |
 *
 * The control words (stop, wake, tick, reset, seal) and the rate parameters are the shard
 * protocol (shard-protocol.ts). `totals` is one more row: everything this writer added to
 * its buckets since start or the last reset (the exactness check: the primary's windows
 * must add up to it).
 *
 * Time: every thread assigns a transaction to the second of its wall-clock completion time,
 * `Date.now()` (CLOCK_REALTIME, the same in every thread), never to a per-thread
 * `performance.timeOrigin` base, which drifts from it and from other threads.
 *
 * Consistency: writers publish under a seqlock, and the primary seals a second before it
 * folds it into its windows; bucket-seqlock.ts has the protocol and why it is exact.
 */

export const BUCKET_COUNT = 4096; // > 3600 s + the seconds still open
export const BUCKET_MASK = BUCKET_COUNT - 1;

/**
 * Float64 gauges and totals. Params (G_RATE, G_FAILURE_RATE, G_PAIRING_RATE: slots 0–2,
 * shard-protocol.ts) are written by the primary; everything else only by the
 * writer thread, inside its seqlock publish (WRITER_GAUGES), so a reader's consistent copy
 * has gauges and bucket rows from the same moment.
 */
export const G_PENDING = 3;
export const G_PROCESSING = 4;
export const G_GENERATED = 5; // totals since start (or reset)
export const G_COMPLETED = 6;
export const G_FAILED = 7;
export const G_FLAGGED = 8;
export const G_INGEST_LATE = 9; // ingested items whose second had closed: stored, not in windows
export const G_ALERTS_DROPPED = 10; // flagged records the alert ring had no room for
export const G_THROTTLED = 11; // loop iterations that could not generate: ring or pool full
export const G_LOOP_NS = 12; // busy time of the shard loop, ns (for utilisation)
/** Completions added to a later second than their own: their thread stalled past its close. */
export const G_SHIFTED = 13;
/** Highest ms part (since TX_ID_EPOCH_MS) of any id the thread minted: a restart mints above it. */
export const G_ID_MS = 14;
export const GAUGE_COUNT = 16;

/** The gauges a writer thread owns (everything but the params). */
export const WRITER_GAUGES = [
  G_PENDING,
  G_PROCESSING,
  G_GENERATED,
  G_COMPLETED,
  G_FAILED,
  G_FLAGGED,
  G_INGEST_LATE,
  G_ALERTS_DROPPED,
  G_THROTTLED,
  G_LOOP_NS,
  G_SHIFTED,
];

const GAUGES_OFFSET = CONTROL_INTS * 4;
const BUCKETS_OFFSET = GAUGES_OFFSET + GAUGE_COUNT * 8;
const TOTALS_OFFSET = BUCKETS_OFFSET + BUCKET_COUNT * ROW_STRIDE * 8;

export function shardMetricsByteLength(): number {
  return TOTALS_OFFSET + ROW_STRIDE * 8;
}

export class ShardMetrics {
  readonly sab: SharedArrayBuffer;
  readonly control: Int32Array;
  readonly gauges: Float64Array;
  readonly buckets: Float64Array;
  /** Everything the writer added since start or reset: one bucket row (B_SECOND unused). */
  readonly totals: Float64Array;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.control = new Int32Array(sab, 0, CONTROL_INTS);
    this.gauges = new Float64Array(sab, GAUGES_OFFSET, GAUGE_COUNT);
    this.buckets = new Float64Array(sab, BUCKETS_OFFSET, BUCKET_COUNT * ROW_STRIDE);
    this.totals = new Float64Array(sab, TOTALS_OFFSET, ROW_STRIDE);
  }

  static create(): ShardMetrics {
    const m = new ShardMetrics(new SharedArrayBuffer(shardMetricsByteLength()));
    Atomics.store(m.control, C_SEALED, NOTHING_SEALED);
    return m;
  }

  /** Row offset of the bucket for epoch second `second`. */
  static rowOf(second: number): number {
    return (second & BUCKET_MASK) * ROW_STRIDE;
  }
}
