import { MAX_CURRENCIES, MAX_SOURCES } from './catalog.js';
import { HISTOGRAM_BUCKETS } from './latency-histogram.js';

/**
 * Per-shard metrics in shared memory: one bucket per second in a ring of BUCKET_COUNT
 * seconds (a little over the 1 h window), written only by the shard's own thread and read
 * by the primary. Buckets are rows of float64 (integers stay exact below 2^53); merging
 * shards, seconds and windows is element-wise addition.
 *
 *   bucket row (float64 × BUCKET_STRIDE)
 *   +--------+-------+--------+---------+-------+--------+------------+-----------+-----------+-----------+
 *   | second | count | failed | flagged | procΣ | volUsd | vol[cur]×16| cnt[src]×32| usd[src]×32| hist ×128 |
 *   +--------+-------+--------+---------+-------+--------+------------+-----------+-----------+-----------+
 *
 * Consistency: the shard wraps each batch of updates in a seqlock (SEQ odd while writing,
 * even when done). The primary copies the open seconds and retries if SEQ changed or was
 * odd, so it never waits on the worker and the worker never waits on it. Closed seconds
 * are never written again, so the primary reads them without the lock.
 */

export const BUCKET_COUNT = 4096; // > 3600 s + the seconds still open
export const BUCKET_MASK = BUCKET_COUNT - 1;

export const B_SECOND = 0;
export const B_COUNT = 1;
export const B_FAILED = 2;
export const B_FLAGGED = 3;
export const B_PROC_SUM = 4;
export const B_VOLUME_USD = 5;
export const B_VOLUME = 6; // per currency
export const B_SOURCE_COUNT = B_VOLUME + MAX_CURRENCIES;
export const B_SOURCE_USD = B_SOURCE_COUNT + MAX_SOURCES;
export const B_HISTOGRAM = B_SOURCE_USD + MAX_SOURCES;
export const BUCKET_STRIDE = B_HISTOGRAM + HISTOGRAM_BUCKETS;

/** Shard control and counters (Int32Array view of the same SAB). */
export const C_SEQ = 0; // seqlock over buckets and gauges
export const C_STOP = 1; // primary → shard: 1 = stop
export const C_WAKE = 2; // bumped by the primary to wake a sleeping shard (rate change, stop)
export const C_TICK = 3; // tick epoch: the shard's per-tick feed quota resets when it changes
export const C_RESET = 4; // reset epoch requested by the primary
export const C_RESET_ACK = 5; // reset epoch the shard has applied
export const C_SOURCE_MASK = 6; // bit i = source i enabled for generation
export const CONTROL_INTS = 16;

/** Float64 gauges and totals (written by the shard; params written by the primary). */
export const G_RATE = 0; // param: target tx/s for this shard (Infinity = as fast as possible)
export const G_FAILURE_RATE = 1; // param
export const G_PAIRING_RATE = 2; // param: share of unusual source/currency pairs
export const G_PENDING = 3;
export const G_PROCESSING = 4;
export const G_GENERATED = 5; // totals since start (or reset)
export const G_COMPLETED = 6;
export const G_FAILED = 7;
export const G_FLAGGED = 8;
export const G_FEED_OMITTED = 9; // completions not sampled into the feed
export const G_ALERTS_DROPPED = 10; // flagged records the alert ring had no room for
export const G_THROTTLED = 11; // loop iterations that could not generate: ring or pool full
export const G_LOOP_NS = 12; // busy time of the shard loop, ns (for utilisation)
/** Highest ms part (since TX_ID_EPOCH_MS) of any id the thread minted: a restart mints above it. */
export const G_ID_MS = 13;
export const GAUGE_COUNT = 16;

export function shardMetricsByteLength(): number {
  return CONTROL_INTS * 4 + GAUGE_COUNT * 8 + BUCKET_COUNT * BUCKET_STRIDE * 8;
}

export class ShardMetrics {
  readonly sab: SharedArrayBuffer;
  readonly control: Int32Array;
  readonly gauges: Float64Array;
  readonly buckets: Float64Array;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.control = new Int32Array(sab, 0, CONTROL_INTS);
    this.gauges = new Float64Array(sab, CONTROL_INTS * 4, GAUGE_COUNT);
    this.buckets = new Float64Array(
      sab,
      CONTROL_INTS * 4 + GAUGE_COUNT * 8,
      BUCKET_COUNT * BUCKET_STRIDE,
    );
  }

  static create(): ShardMetrics {
    return new ShardMetrics(new SharedArrayBuffer(shardMetricsByteLength()));
  }

  /** Row offset of the bucket for epoch second `second`. */
  static rowOf(second: number): number {
    return (second & BUCKET_MASK) * BUCKET_STRIDE;
  }
}
