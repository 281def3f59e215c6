import { readStart, readValid, resetPending, seal } from '../shared/bucket-seqlock.js';
import { BUCKET_COUNT, BUCKET_MASK, GAUGE_COUNT, ShardMetrics } from '../shared/metric-buckets.js';
import {
  B_COUNT,
  B_SECOND,
  clearRow,
  clearRows,
  mergeRow,
  ROW_STRIDE,
  S_COUNT,
  sourceField,
  subtractRow,
} from '../shared/window-row.js';
import { WINDOW_NAMES, WINDOW_SECONDS, type WindowName } from './snapshot-types.js';

/**
 * The primary's view of the metric windows, merged across writer threads (shards and the
 * ingest thread), at a cost per tick that does not depend on the transaction rate:
 *
 *   seconds:  … s-L+1 … │ closed: sealed, final … closedThrough │ open … now │
 *             window sum = Σ closed seconds in the window (kept incrementally: + the
 *             second that closes, − the second that leaves)  +  the open seconds,
 *             copied from every writer under its seqlock on every read.
 *
 * Exact or explicitly partial (the protocol and its memory-ordering argument are in
 * src/shared/bucket-seqlock.ts):
 * - advance() seals a second in every writer before folding it, so a closed second is
 *   never written again (a writer that stalled past the close adds to the next open
 *   second instead). It folds only when no writer is mid-publish or mid-reset; otherwise it
 *   tries again on the next read, and the seconds stay open meanwhile (read under the
 *   seqlock like the others, so nothing is missing and nothing counts twice).
 * - readOpen() never adds a copy it could not validate: a writer whose open seconds could
 *   not be copied consistently in MAX_SEQLOCK_TRIES is left out of that read, listed in
 *   `partial`, and counted in `partialReads`; its gauges are those of its last consistent
 *   copy.
 * - Only a writer stuck mid-publish for MAX_FOLD_LAG_S (a hung thread) lets the windows
 *   close without it: its rows of those seconds are left out for good, and counted.
 *
 * Closed seconds are also kept here, merged, for an hour of history (charts, /api/history).
 */

/** Seconds still open in the steady state: the current one and the one before it. */
export const OPEN_SECONDS = 2;
const MAX_SEQLOCK_TRIES = 1000;
/** Seconds the close may wait for a writer that never gets out of a publish or a reset. */
const MAX_FOLD_LAG_S = 10;

export interface OpenRead {
  /** Merged rows of the two newest seconds: row k (k = 0, 1) is second now-1+k. */
  rows: Float64Array;
  /** All open seconds (closedThrough+1 … now) merged: what the windows add to their sums. */
  sum: Float64Array;
  /** Gauges summed across writers (a partial writer's from its last consistent copy). */
  gauges: Float64Array;
  /** Per-writer gauges (writer i at i*GAUGE_COUNT). */
  shardGauges: Float64Array;
  /** Writers whose open seconds are left out of this read (empty: the read is exact). */
  partial: number[];
  /** The second the read was taken in. */
  nowSecond: number;
}

export class WindowAccumulator {
  /**
   * Merged closed seconds, by second & BUCKET_MASK (B_SECOND says which second). Shared
   * memory so history reads run on a piscina thread without a copy: advance() only ever
   * rewrites the slot of a second that is BUCKET_COUNT (4096) seconds old, so the rows of
   * the last hour stay stable for minutes while a reader looks at them (it checks B_SECOND).
   */
  readonly closed = new Float64Array(new SharedArrayBuffer(BUCKET_COUNT * ROW_STRIDE * 8));
  /** Closed part of each window: [closedThrough - (L - OPEN_SECONDS) + 1, closedThrough]. */
  private readonly sums = new Map<WindowName, Float64Array>();
  private readonly open: OpenRead;
  /** One writer's open rows while they are copied: [second now-1, second now, all open]. */
  private readonly scratch = new Float64Array(3 * ROW_STRIDE);
  private readonly scratchGauges = new Float64Array(GAUGE_COUNT);
  /** Reads (open seconds of one writer, or a forced close) that left a writer out. */
  partialReads = 0;
  /** Last closed second included in the sums. */
  closedThrough: number;
  /** First second after start or reset: windows that reach further back are partial. */
  startSecond: number;

  constructor(
    private readonly shards: readonly ShardMetrics[],
    nowSecond: number,
  ) {
    for (const w of WINDOW_NAMES) this.sums.set(w, new Float64Array(ROW_STRIDE));
    this.open = {
      rows: new Float64Array(OPEN_SECONDS * ROW_STRIDE),
      sum: new Float64Array(ROW_STRIDE),
      gauges: new Float64Array(GAUGE_COUNT),
      shardGauges: new Float64Array(GAUGE_COUNT * shards.length),
      partial: [],
      nowSecond,
    };
    // Start an hour back so seconds already in the shards' buckets (reloaded history) count.
    this.closedThrough = nowSecond - OPEN_SECONDS - WINDOW_SECONDS['1h'];
    this.startSecond = Math.min(nowSecond, this.firstHeldSecond(nowSecond));
  }

  /**
   * The oldest second of the last hour that a shard already holds at start (rollups reloaded
   * after a restart), so window rates divide by the seconds really covered.
   */
  private firstHeldSecond(nowSecond: number): number {
    for (let s = nowSecond - OPEN_SECONDS - WINDOW_SECONDS['1h'] + 1; s < nowSecond; s++) {
      const off = ShardMetrics.rowOf(s);
      for (const shard of this.shards)
        if (shard.buckets[off + B_SECOND] === s && shard.buckets[off + B_COUNT]! > 0) return s;
    }
    return nowSecond;
  }

  /**
   * Clears everything after every writer applied a reset asked for in second
   * `resetSecond`: writers cleared all their rows, and everything they added since lies in
   * seconds ≥ resetSecond, which therefore stay open to be folded again.
   */
  reset(resetSecond: number): void {
    clearRows(this.closed);
    for (const s of this.sums.values()) s.fill(0);
    this.closedThrough = Math.max(this.closedThrough, resetSecond - 1);
    this.startSecond = resetSecond;
  }

  /**
   * Folds every second that closed by `nowSecond` into the sums and returns the closed
   * seconds, oldest first (none when a writer keeps the close waiting: see the header).
   */
  advance(nowSecond: number): number[] {
    const target = nowSecond - OPEN_SECONDS;
    if (target <= this.closedThrough) return [];
    for (const shard of this.shards) seal(shard.control, target);
    // After the seal, one even SEQ per writer: every publish that could still touch a
    // second ≤ target has finished, so those rows are final (bucket-seqlock.ts).
    const left: number[] = [];
    for (let i = 0; i < this.shards.length; i++) {
      const control = this.shards[i]!.control;
      let settled = false;
      for (let attempt = 0; attempt < MAX_SEQLOCK_TRIES && !settled; attempt++)
        settled = !resetPending(control) && readStart(control) !== -1;
      if (!settled) left.push(i);
    }
    if (left.length > 0 && target - this.closedThrough <= MAX_FOLD_LAG_S) return [];
    this.partialReads += left.length;

    const newlyClosed: number[] = [];
    let s = this.closedThrough + 1;
    // After a long stall, seconds older than the ring are gone from the shards anyway.
    if (target - s >= BUCKET_COUNT) s = target - BUCKET_COUNT + 1;
    for (; s <= target; s++) {
      const off = (s & BUCKET_MASK) * ROW_STRIDE;
      clearRow(this.closed, off);
      this.closed[off + B_SECOND] = s;
      const sOff = ShardMetrics.rowOf(s);
      for (let i = 0; i < this.shards.length; i++) {
        if (left.includes(i)) continue;
        const buckets = this.shards[i]!.buckets;
        if (buckets[sOff + B_SECOND] === s) mergeRow(this.closed, off, buckets, sOff);
      }
      for (const w of WINDOW_NAMES) {
        const sum = this.sums.get(w)!;
        mergeRow(sum, 0, this.closed, off);
        const leaving = s - (WINDOW_SECONDS[w] - OPEN_SECONDS);
        const lOff = (leaving & BUCKET_MASK) * ROW_STRIDE;
        if (this.closed[lOff + B_SECOND] === leaving) subtractRow(sum, 0, this.closed, lOff);
      }
      if (this.closed[off + B_COUNT]! > 0 || s >= this.startSecond) newlyClosed.push(s);
      this.closedThrough = s;
    }
    return newlyClosed;
  }

  /**
   * Copies the open seconds (closedThrough+1 … now, including one a writer may have begun
   * since `nowSecond` was taken) and the gauges from every writer, each under its seqlock;
   * a writer without a consistent copy is left out (`partial`).
   */
  readOpen(nowSecond: number): OpenRead {
    const { rows, sum, gauges, shardGauges, partial } = this.open;
    const scratch = this.scratch;
    const g = this.scratchGauges;
    rows.fill(0);
    sum.fill(0);
    gauges.fill(0);
    partial.length = 0;
    this.open.nowSecond = nowSecond;
    const first = Math.max(this.closedThrough + 1, nowSecond - BUCKET_COUNT + 1);
    for (let i = 0; i < this.shards.length; i++) {
      const shard = this.shards[i]!;
      const control = shard.control;
      let ok = false;
      for (let attempt = 0; attempt < MAX_SEQLOCK_TRIES && !ok; attempt++) {
        if (resetPending(control)) break; // its rows are being cleared: nothing to copy
        const start = readStart(control);
        if (start === -1) continue; // mid-publish
        // A writer may already count in a later second than `nowSecond` (its clock read
        // came after ours): every publish this copy can see chose its second before now.
        const last = Math.max(nowSecond, Math.floor(Date.now() / 1000)) + 1;
        scratch.fill(0);
        for (let s = first; s <= last; s++) {
          const sOff = ShardMetrics.rowOf(s);
          if (shard.buckets[sOff + B_SECOND] !== s) continue;
          mergeRow(scratch, 2 * ROW_STRIDE, shard.buckets, sOff);
          const k = s - (nowSecond - 1);
          if (k === 0 || k === 1) mergeRow(scratch, k * ROW_STRIDE, shard.buckets, sOff);
        }
        g.set(shard.gauges);
        ok = readValid(control, start);
      }
      if (ok) {
        mergeRow(rows, 0, scratch, 0);
        mergeRow(rows, ROW_STRIDE, scratch, ROW_STRIDE);
        mergeRow(sum, 0, scratch, 2 * ROW_STRIDE);
        shardGauges.set(g, i * GAUGE_COUNT);
      } else {
        partial.push(i);
        this.partialReads++;
      }
      for (let k = 0; k < GAUGE_COUNT; k++) gauges[k]! += shardGauges[i * GAUGE_COUNT + k]!;
    }
    return this.open;
  }

  /** The last readOpen() result (the same object, overwritten by the next read). */
  get lastOpen(): OpenRead {
    return this.open;
  }

  /** Per-source count of source slot `i` in closed second `s` (0 if not held). */
  closedSourceCount(s: number, i: number): number {
    const off = (s & BUCKET_MASK) * ROW_STRIDE;
    return this.closed[off + B_SECOND] === s ? this.closed[off + sourceField(i, S_COUNT)]! : 0;
  }

  /**
   * Writes the full window `w` ending at the read's second (closed part + open seconds)
   * into `out`. While the close waits (closedThrough < now - OPEN_SECONDS), the closed part
   * reaches that many seconds too far back: those are taken out again.
   */
  window(w: WindowName, open: OpenRead, out: Float64Array): void {
    out.set(this.sums.get(w)!);
    mergeRow(out, 0, open.sum, 0);
    const L = WINDOW_SECONDS[w];
    for (let s = this.closedThrough - (L - OPEN_SECONDS) + 1; s <= open.nowSecond - L; s++) {
      const off = (s & BUCKET_MASK) * ROW_STRIDE;
      if (this.closed[off + B_SECOND] === s) subtractRow(out, 0, this.closed, off);
    }
  }

  /** Seconds the window `w` actually covers (less than its length right after start). */
  coveredSeconds(w: WindowName, nowSecond: number): number {
    return Math.max(1, Math.min(WINDOW_SECONDS[w], nowSecond - this.startSecond + 1));
  }

  /** Count in closed second `s`, or 0 if it is not (or no longer) held. */
  closedCount(s: number): number {
    const off = (s & BUCKET_MASK) * ROW_STRIDE;
    return this.closed[off + B_SECOND] === s ? this.closed[off + B_COUNT]! : 0;
  }
}
