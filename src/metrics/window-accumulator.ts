import {
  B_COUNT,
  B_SECOND,
  BUCKET_COUNT,
  BUCKET_MASK,
  BUCKET_STRIDE,
  C_SEQ,
  GAUGE_COUNT,
  ShardMetrics,
} from '../shared/metric-buckets.js';
import { addRow, subRow } from './bucket-row.js';
import { WINDOW_NAMES, WINDOW_SECONDS, type WindowName } from './snapshot-types.js';

/**
 * The primary's view of the metric windows, merged across shards, at a cost per tick that
 * does not depend on the transaction rate:
 *
 *   seconds:  … s-L+1 … │ closed (final, never written again) … now-2 │ now-1  now │
 *             window sum = Σ closed seconds in the window (kept incrementally: + the
 *             second that closes, − the second that leaves)  +  the 2 open seconds,
 *             copied from the shards under their seqlocks on every read.
 *
 * Closed seconds are also kept here, merged, for an hour of history (charts, /api/history).
 */

/** Seconds still being written by shards: the current one and the one before it. */
export const OPEN_SECONDS = 2;
const MAX_SEQLOCK_TRIES = 1000;

export interface OpenRead {
  /** Merged rows of the open seconds: row k (k = 0, 1) is second now-1+k. */
  rows: Float64Array;
  /** Gauges summed across shards, read in the same seqlock pass. */
  gauges: Float64Array;
  /** Per-shard gauges (shard i at i*GAUGE_COUNT). */
  shardGauges: Float64Array;
}

export class WindowAccumulator {
  /**
   * Merged closed seconds, by second & BUCKET_MASK (B_SECOND says which second). Shared
   * memory so history reads run on a piscina thread without a copy: advance() only ever
   * rewrites the slot of a second that is BUCKET_COUNT (4096) seconds old, so the rows of
   * the last hour stay stable for minutes while a reader looks at them (it checks B_SECOND).
   */
  readonly closed = new Float64Array(new SharedArrayBuffer(BUCKET_COUNT * BUCKET_STRIDE * 8));
  /** Closed part of each window: [closedThrough - (L - OPEN_SECONDS) + 1, closedThrough]. */
  private readonly sums = new Map<WindowName, Float64Array>();
  private readonly open: OpenRead;
  private readonly scratch = new Float64Array(OPEN_SECONDS * BUCKET_STRIDE);
  /** Reads that gave up on a consistent copy after MAX_SEQLOCK_TRIES (should stay 0). */
  tornReads = 0;
  /** Last closed second included in the sums. */
  closedThrough: number;
  /** First second after start or reset: windows that reach further back are partial. */
  startSecond: number;

  constructor(
    private readonly shards: readonly ShardMetrics[],
    nowSecond: number,
  ) {
    for (const w of WINDOW_NAMES) this.sums.set(w, new Float64Array(BUCKET_STRIDE));
    this.open = {
      rows: new Float64Array(OPEN_SECONDS * BUCKET_STRIDE),
      gauges: new Float64Array(GAUGE_COUNT),
      shardGauges: new Float64Array(GAUGE_COUNT * shards.length),
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

  /** Clears everything (after the shards acknowledged a reset). */
  reset(nowSecond: number): void {
    this.closed.fill(0);
    for (const s of this.sums.values()) s.fill(0);
    this.closedThrough = nowSecond - OPEN_SECONDS;
    this.startSecond = nowSecond;
  }

  /**
   * Folds every second that closed by `nowSecond` into the sums and returns the closed
   * seconds, oldest first.
   */
  advance(nowSecond: number): number[] {
    const target = nowSecond - OPEN_SECONDS;
    const newlyClosed: number[] = [];
    let s = this.closedThrough + 1;
    // After a long stall, seconds older than the ring are gone from the shards anyway.
    if (target - s >= BUCKET_COUNT) s = target - BUCKET_COUNT + 1;
    for (; s <= target; s++) {
      const off = (s & BUCKET_MASK) * BUCKET_STRIDE;
      this.closed.fill(0, off, off + BUCKET_STRIDE);
      this.closed[off + B_SECOND] = s;
      for (const shard of this.shards) {
        const sOff = ShardMetrics.rowOf(s);
        if (shard.buckets[sOff + B_SECOND] === s) addRow(this.closed, off, shard.buckets, sOff);
      }
      for (const w of WINDOW_NAMES) {
        const sum = this.sums.get(w)!;
        addRow(sum, 0, this.closed, off);
        const leaving = s - (WINDOW_SECONDS[w] - OPEN_SECONDS);
        const lOff = (leaving & BUCKET_MASK) * BUCKET_STRIDE;
        if (this.closed[lOff + B_SECOND] === leaving) subRow(sum, 0, this.closed, lOff);
      }
      if (this.closed[off + B_COUNT]! > 0 || s >= this.startSecond) newlyClosed.push(s);
      this.closedThrough = s;
    }
    return newlyClosed;
  }

  /** Copies the open seconds and the gauges from every shard, each under its seqlock. */
  readOpen(nowSecond: number): OpenRead {
    const { rows, gauges, shardGauges } = this.open;
    const scratch = this.scratch;
    rows.fill(0);
    gauges.fill(0);
    for (let i = 0; i < this.shards.length; i++) {
      const shard = this.shards[i]!;
      const gOff = i * GAUGE_COUNT;
      for (let attempt = 0; attempt < MAX_SEQLOCK_TRIES; attempt++) {
        const before = Atomics.load(shard.control, C_SEQ);
        if ((before & 1) === 1) continue; // the shard is mid-batch
        scratch.fill(0);
        for (let k = 0; k < OPEN_SECONDS; k++) {
          const second = nowSecond - OPEN_SECONDS + 1 + k;
          const sOff = ShardMetrics.rowOf(second);
          if (shard.buckets[sOff + B_SECOND] === second) {
            scratch.set(shard.buckets.subarray(sOff, sOff + BUCKET_STRIDE), k * BUCKET_STRIDE);
          }
        }
        shardGauges.set(shard.gauges, gOff);
        if (Atomics.load(shard.control, C_SEQ) === before) break; // consistent copy
        if (attempt === MAX_SEQLOCK_TRIES - 1) this.tornReads++;
      }
      for (let k = 0; k < OPEN_SECONDS; k++)
        addRow(rows, k * BUCKET_STRIDE, scratch, k * BUCKET_STRIDE);
      for (let g = 0; g < GAUGE_COUNT; g++) gauges[g]! += shardGauges[gOff + g]!;
    }
    return this.open;
  }

  /** Writes the full window `w` (closed part + open seconds) into `out`. */
  window(w: WindowName, open: OpenRead, out: Float64Array): void {
    out.set(this.sums.get(w)!);
    for (let k = 0; k < OPEN_SECONDS; k++) addRow(out, 0, open.rows, k * BUCKET_STRIDE);
  }

  /** Seconds the window `w` actually covers (less than its length right after start). */
  coveredSeconds(w: WindowName, nowSecond: number): number {
    return Math.max(1, Math.min(WINDOW_SECONDS[w], nowSecond - this.startSecond + 1));
  }

  /** Count in closed second `s`, or 0 if it is not (or no longer) held. */
  closedCount(s: number): number {
    const off = (s & BUCKET_MASK) * BUCKET_STRIDE;
    return this.closed[off + B_SECOND] === s ? this.closed[off + B_COUNT]! : 0;
  }
}
