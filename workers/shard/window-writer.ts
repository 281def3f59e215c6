import { histogramBucket } from '../../src/shared/latency-histogram.js';
import {
  addVolume,
  B_COUNT,
  B_FAILED,
  B_FLAGGED,
  B_HISTOGRAM,
  B_PROC_SUM,
  B_SECOND,
  B_SOURCE_COUNT,
  B_SOURCE_USD,
  B_VOLUME_USD,
  BUCKET_STRIDE,
  C_RESET,
  C_RESET_ACK,
  C_SEQ,
  G_ALERTS_DROPPED,
  G_COMPLETED,
  G_FAILED,
  G_FEED_OMITTED,
  G_FLAGGED,
  G_GENERATED,
  G_THROTTLED,
  ShardMetrics,
} from '../../src/shared/metric-buckets.js';

/** Totals a reset sets back to zero. */
const RESET_TOTALS = [
  G_GENERATED,
  G_COMPLETED,
  G_FAILED,
  G_FLAGGED,
  G_FEED_OMITTED,
  G_ALERTS_DROPPED,
  G_THROTTLED,
];

/**
 * Adds completed transactions to this shard's per-second bucket in shared memory. The
 * shard calls begin() before a batch of completions and end() after it: the seqlock the
 * primary's snapshot reader checks (see metric-buckets.ts).
 */
export class WindowWriter {
  private readonly buckets: Float64Array;
  private row = -1;
  private second = -1;

  constructor(private readonly metrics: ShardMetrics) {
    this.buckets = metrics.buckets;
  }

  begin(): void {
    Atomics.add(this.metrics.control, C_SEQ, 1); // odd: writing
  }

  end(): void {
    Atomics.add(this.metrics.control, C_SEQ, 1); // even: consistent
  }

  /** Selects the bucket for epoch second `second`, clearing it if it held an older second. */
  selectSecond(second: number): void {
    if (second === this.second) return;
    this.second = second;
    this.row = ShardMetrics.rowOf(second);
    const b = this.buckets;
    if (b[this.row + B_SECOND] !== second) {
      b.fill(0, this.row, this.row + BUCKET_STRIDE);
      b[this.row + B_SECOND] = second;
    }
  }

  add(
    failed: boolean,
    flagged: boolean,
    processingMs: number,
    currency: number,
    amount: number,
    amountUsd: number,
    source: number,
  ): void {
    const b = this.buckets;
    const r = this.row;
    b[r + B_COUNT]!++;
    if (failed) b[r + B_FAILED]!++;
    if (flagged) b[r + B_FLAGGED]!++;
    b[r + B_PROC_SUM]! += processingMs;
    b[r + B_SOURCE_COUNT + source]!++;
    // Volume is money that moved: failed transactions count, but add none.
    if (!failed) {
      addVolume(b, r, currency, amount); // exact past 2^53 (metric-buckets.ts)
      b[r + B_VOLUME_USD]! += amountUsd;
      b[r + B_SOURCE_USD + source]! += amountUsd;
    }
    b[r + B_HISTOGRAM + histogramBucket(processingMs)]!++;
  }

  /**
   * Applies a reset the primary asked for (C_RESET ≠ C_RESET_ACK): clears every bucket and
   * the running totals under the seqlock, then acknowledges. Returns true if it did.
   * Gauges that describe the present (pending, processing, rate) are left alone.
   */
  applyResetIfAsked(): boolean {
    const c = this.metrics.control;
    const asked = Atomics.load(c, C_RESET);
    if (asked === Atomics.load(c, C_RESET_ACK)) return false;
    this.begin();
    this.buckets.fill(0);
    for (const g of RESET_TOTALS) this.metrics.gauges[g] = 0;
    this.second = -1;
    this.row = -1;
    this.end();
    Atomics.store(c, C_RESET_ACK, asked);
    return true;
  }
}
