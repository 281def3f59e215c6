import { MAX_CURRENCIES, MAX_SOURCES } from './catalog.js';
import { HISTOGRAM_BUCKETS } from './latency-histogram.js';

/**
 * Per-shard metrics in shared memory: one bucket per second in a ring of BUCKET_COUNT
 * seconds (a little over the 1 h window), written only by the shard's own thread and read
 * by the primary. Buckets are rows of float64 (integers stay exact below 2^53); merging
 * shards, seconds and windows is element-wise addition.
 *
 *   bucket row (float64 × BUCKET_STRIDE)
 *   +--------+-------+--------+---------+-------+--------+------------+--------------+
 *   | second | count | failed | flagged | procΣ | volUsd | vol[cur]×16| volHi[cur]×16|
 *   +--------+-------+--------+---------+-------+--------+------------+--------------+
 *   | cnt[src]×32 | usd[src]×32 | fail[src]×32 | hist ×128 |
 *   +-------------+-------------+--------------+-----------+
 *
 * Volume per currency is money and must be exact, but one second may hold more than 2^53
 * minor units (ten ingested amounts of 10^15 do). So it is two limbs: vol = volHi · 2^32 +
 * vol, and addVolume keeps a bucket's low limb below 2^32 (carrying into volHi). Sums of
 * limbs stay exact integers while each stays below 2^53: the low limbs of a window
 * (≤ 4096 seconds × 64 shards × 2^32 < 2^50) always do; the high limbs do while a window's
 * volume in one currency stays below 2^85 ≈ 3.9·10^25 minor units (an hour of 10^5
 * maximal amounts per second is 3.6·10^23). Adding and subtracting seconds (the window's
 * running sums) is then exact too, so a large second leaves no rounding behind when it
 * leaves the window. volUsd and usd[src] are approximate by nature (fixed demo rates).
 * fail[src] counts the failed transactions per source (per-source failure-rate rules).
 *
 *   SharedArrayBuffer: | control int32 × 16 | gauges float64 × 16 | buckets: row × 4096 | totals: row |
 *
 * `totals` is one more row: everything this writer added to its buckets since start or the
 * last reset (the exactness check: the primary's windows must add up to it).
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

export const B_SECOND = 0;
export const B_COUNT = 1;
export const B_FAILED = 2;
export const B_FLAGGED = 3;
export const B_PROC_SUM = 4;
export const B_VOLUME_USD = 5;
export const B_VOLUME = 6; // per currency: low limb (< 2^32 in a shard's bucket)
export const B_VOLUME_HI = B_VOLUME + MAX_CURRENCIES; // per currency: multiples of 2^32
export const B_SOURCE_COUNT = B_VOLUME_HI + MAX_CURRENCIES;
export const B_SOURCE_USD = B_SOURCE_COUNT + MAX_SOURCES;
/** Failed transactions per source (per-source failure rate: alert rules, src/alerts). */
export const B_SOURCE_FAILED = B_SOURCE_USD + MAX_SOURCES;
export const B_HISTOGRAM = B_SOURCE_FAILED + MAX_SOURCES;
export const BUCKET_STRIDE = B_HISTOGRAM + HISTOGRAM_BUCKETS;

/** The volume limbs' base: vol = volHi · VOLUME_LIMB + vol. */
export const VOLUME_LIMB = 2 ** 32;

/**
 * Adds `amount` (an integer in [0, 2^52]) to currency `currency`'s volume in the row at
 * `row`, carrying into the high limb so the low limb stays below 2^32.
 */
export function addVolume(b: Float64Array, row: number, currency: number, amount: number): void {
  const lo = b[row + B_VOLUME + currency]! + amount;
  if (lo < VOLUME_LIMB) {
    b[row + B_VOLUME + currency] = lo;
    return;
  }
  const carry = Math.floor(lo / VOLUME_LIMB);
  b[row + B_VOLUME_HI + currency]! += carry;
  b[row + B_VOLUME + currency] = lo - carry * VOLUME_LIMB;
}

/** Adds an exact volume (e.g. a DECIMAL sum read back from MySQL) to a row, split into limbs. */
export function addVolumeExact(
  b: Float64Array,
  row: number,
  currency: number,
  volume: bigint,
): void {
  const limb = BigInt(VOLUME_LIMB);
  b[row + B_VOLUME_HI + currency]! += Number(volume / limb);
  b[row + B_VOLUME + currency]! += Number(volume % limb);
}

/** Currency `currency`'s volume in the row at `row`, exactly. */
export function volumeOf(b: Float64Array, row: number, currency: number): bigint {
  return (
    BigInt(b[row + B_VOLUME_HI + currency]!) * BigInt(VOLUME_LIMB) +
    BigInt(b[row + B_VOLUME + currency]!)
  );
}

/** Shard control and counters (Int32Array view of the same SAB). */
export const C_SEQ = 0; // seqlock over buckets, totals and the writer's gauges (bucket-seqlock.ts)
export const C_STOP = 1; // primary → shard: 1 = stop
export const C_WAKE = 2; // bumped by the primary to wake a sleeping shard (rate change, stop)
export const C_TICK = 3; // tick epoch: the shard hands its feed sample over when it changes
export const C_RESET = 4; // reset epoch requested by the primary
export const C_RESET_ACK = 5; // reset epoch the shard has applied
export const C_SOURCE_MASK = 6; // bit i = source i enabled for generation
export const C_SEALED = 7; // primary → writer: last second folded into the windows, − SECOND_BASE
export const CONTROL_INTS = 16;

/** C_SEALED counts seconds from here (2020-09-13), so an int32 holds them until 2088. */
export const SECOND_BASE = 1_600_000_000;
/** C_SEALED before the primary sealed anything: earlier than any second a writer uses. */
export const NOTHING_SEALED = -0x80000000;

/**
 * Float64 gauges and totals. Params are written by the primary; everything else only by the
 * writer thread, inside its seqlock publish (WRITER_GAUGES), so a reader's consistent copy
 * has gauges and bucket rows from the same moment.
 */
export const G_RATE = 0; // param: target tx/s for this shard (Infinity = as fast as possible)
export const G_FAILURE_RATE = 1; // param
export const G_PAIRING_RATE = 2; // param: share of unusual source/currency pairs
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
const TOTALS_OFFSET = BUCKETS_OFFSET + BUCKET_COUNT * BUCKET_STRIDE * 8;

export function shardMetricsByteLength(): number {
  return TOTALS_OFFSET + BUCKET_STRIDE * 8;
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
    this.buckets = new Float64Array(sab, BUCKETS_OFFSET, BUCKET_COUNT * BUCKET_STRIDE);
    this.totals = new Float64Array(sab, TOTALS_OFFSET, BUCKET_STRIDE);
  }

  static create(): ShardMetrics {
    const m = new ShardMetrics(new SharedArrayBuffer(shardMetricsByteLength()));
    Atomics.store(m.control, C_SEALED, NOTHING_SEALED);
    return m;
  }

  /** Row offset of the bucket for epoch second `second`. */
  static rowOf(second: number): number {
    return (second & BUCKET_MASK) * BUCKET_STRIDE;
  }
}
