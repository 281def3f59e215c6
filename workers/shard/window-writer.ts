import {
  beginWrite,
  endWrite,
  repairAfterRestart,
  sealedThrough,
} from '../../src/shared/bucket-seqlock.js';
import {
  G_ALERTS_DROPPED,
  G_COMPLETED,
  G_FAILED,
  G_FLAGGED,
  G_GENERATED,
  G_INGEST_LATE,
  G_SHIFTED,
  G_THROTTLED,
  GAUGE_COUNT,
  ShardMetrics,
  WRITER_GAUGES,
} from '../../src/shared/metric-buckets.js';
import { C_RESET, C_RESET_ACK } from '../../src/shared/shard-protocol.js';
import {
  addItem,
  B_COUNT,
  B_SECOND,
  clearRow,
  clearRows,
  ROW_STRIDE,
} from '../../src/shared/window-row.js';

/** Totals a reset sets back to zero (gauges that describe the present stay). */
const RESET_TOTALS = [
  G_GENERATED,
  G_COMPLETED,
  G_FAILED,
  G_FLAGGED,
  G_INGEST_LATE,
  G_ALERTS_DROPPED,
  G_THROTTLED,
  G_SHIFTED,
];

/** Distinct seconds one batch may touch before it is published early (ingest: a few). */
const MAX_BATCH_SECONDS = 8;

/**
 * Adds completed transactions to this thread's per-second buckets in shared memory, exactly
 * (bucket-seqlock.ts has the protocol). A batch is begin(), any number of selectSecond() +
 * add(), end():
 *
 *   add()  ──► private delta rows, one per second of the batch (no lock, no atomics)
 *   end()  ──► seqlock: bucket row[second] += delta, totals += delta, gauges = counters
 *
 * so the lock is held for a few row additions, however many completions the batch had.
 * The thread's counters (G_COMPLETED, G_PENDING, …) live in `counters` and are published in
 * the same end(), so a reader sees rows and counters from the same moment.
 */
export class WindowWriter {
  /** This thread's gauges (WRITER_GAUGES slots), published by end(). */
  readonly counters = new Float64Array(GAUGE_COUNT);
  private readonly buckets: Float64Array;
  private readonly control: Int32Array;
  private readonly delta = new Float64Array(MAX_BATCH_SECONDS * ROW_STRIDE);
  private readonly deltaSecond = new Float64Array(MAX_BATCH_SECONDS);
  private used = 0;
  private row = 0;

  constructor(private readonly metrics: ShardMetrics) {
    this.buckets = metrics.buckets;
    this.control = metrics.control;
    repairAfterRestart(this.control);
    for (const g of WRITER_GAUGES) this.counters[g] = metrics.gauges[g]!;
  }

  /**
   * The last second the primary has folded into its windows: adding to it, or to any second
   * before it, would be lost (end() moves such deltas to the next open second).
   */
  sealed(): number {
    return sealedThrough(this.control);
  }

  /** Starts a batch (nothing shared is touched until end()). */
  begin(): void {
    this.used = 0;
    this.row = 0;
    this.deltaSecond[0] = Number.NaN;
  }

  /** The second (epoch s) the next add()s count in. */
  selectSecond(second: number): void {
    for (let k = 0; k < this.used; k++) {
      if (this.deltaSecond[k] === second) {
        this.row = k * ROW_STRIDE;
        return;
      }
    }
    if (this.used === MAX_BATCH_SECONDS) {
      this.end();
      this.begin();
    }
    const k = this.used++;
    this.deltaSecond[k] = second;
    this.row = k * ROW_STRIDE;
  }

  /** Adds one finished transaction to the selected second (window-row.ts: addItem). */
  add(
    failed: boolean,
    flagged: boolean,
    processingMs: number,
    currency: number,
    amount: number,
    amountUsd: number,
    source: number,
  ): void {
    addItem(
      this.delta,
      this.row,
      failed,
      flagged,
      processingMs,
      currency,
      amount,
      amountUsd,
      source,
    );
  }

  /** Publishes the batch and the counters under the seqlock. */
  end(): void {
    const b = this.buckets;
    const d = this.delta;
    const totals = this.metrics.totals;
    beginWrite(this.control);
    const sealed = sealedThrough(this.control);
    for (let k = 0; k < this.used; k++) {
      const dOff = k * ROW_STRIDE;
      if (d[dOff + B_COUNT] === 0) continue;
      let second = this.deltaSecond[k]!;
      if (second <= sealed) {
        // The primary closed this second while the batch ran (the thread stalled ≥ 1 s):
        // count it in the first open second rather than lose it.
        second = sealed + 1;
        this.counters[G_SHIFTED]! += d[dOff + B_COUNT]!;
      }
      const off = ShardMetrics.rowOf(second);
      if (b[off + B_SECOND] !== second) {
        clearRow(b, off);
        b[off + B_SECOND] = second;
      }
      for (let i = 1; i < ROW_STRIDE; i++) {
        const v = d[dOff + i]!;
        if (v !== 0) {
          b[off + i]! += v;
          totals[i]! += v;
        }
      }
      clearRow(d, dOff);
    }
    const gauges = this.metrics.gauges;
    for (const g of WRITER_GAUGES) gauges[g] = this.counters[g]!;
    endWrite(this.control);
    this.used = 0;
  }

  /**
   * Applies a reset the primary asked for (C_RESET ≠ C_RESET_ACK): clears every bucket,
   * the totals and the running counters under the seqlock, then acknowledges. Returns true
   * if it did. Call between batches.
   */
  applyResetIfAsked(): boolean {
    const c = this.control;
    const asked = Atomics.load(c, C_RESET);
    if (asked === Atomics.load(c, C_RESET_ACK)) return false;
    for (const g of RESET_TOTALS) this.counters[g] = 0;
    beginWrite(c);
    clearRows(this.buckets); // writes only non-zero words (window-row.ts)
    this.metrics.totals.fill(0);
    const gauges = this.metrics.gauges;
    for (const g of WRITER_GAUGES) gauges[g] = this.counters[g]!;
    endWrite(c);
    Atomics.store(c, C_RESET_ACK, asked);
    return true;
  }
}
