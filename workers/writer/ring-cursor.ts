import { TxRing } from '../../src/shared/tx-ring.js';

/**
 * One writer's view of one shard ring. Several connections commit batches of the same
 * ring concurrently, and they may finish out of order; the ring slot is released only up to
 * the first batch not yet committed, so a crash or a failed batch never frees a record
 * that is not durable.
 *
 *   readPos (released)      claimed                writePos
 *   |  b1 done | b2 pending | b3 done |  unclaimed  |
 *   release(b1.end) now; b3's slots wait for b2.
 */

export interface Batch {
  readonly cursor: RingCursor;
  readonly start: number;
  readonly count: number;
  /** Some of these records may be committed already (a restarted writer's first batches). */
  readonly maybeCommitted: boolean;
  done: boolean;
}

export class RingCursor {
  readonly ring: TxRing;
  private claimed: number;
  private readonly pending: Batch[] = [];
  /** When unclaimed records were first seen waiting (for the flush interval), or -1. */
  waitingSince = -1;
  /**
   * Records from the released position on that a failed writer may have committed: every
   * record published when this writer started (the failed one could not have claimed more).
   */
  private resendLeft: number;

  constructor(
    sab: SharedArrayBuffer,
    capacity: number,
    readonly consumer: number,
    resumed = false,
  ) {
    this.ring = new TxRing(sab, capacity);
    this.claimed = this.ring.readPos(consumer);
    this.resendLeft = resumed ? (this.ring.writePos - this.claimed) | 0 : 0;
  }

  unclaimed(): number {
    return (this.ring.writePos - this.claimed) | 0;
  }

  claim(max: number): Batch | null {
    const count = Math.min(this.unclaimed(), max);
    if (count <= 0) return null;
    const maybeCommitted = this.resendLeft > 0;
    if (maybeCommitted) this.resendLeft = Math.max(0, this.resendLeft - count);
    const batch: Batch = { cursor: this, start: this.claimed, count, maybeCommitted, done: false };
    this.claimed = (this.claimed + count) | 0;
    this.pending.push(batch);
    this.waitingSince = -1;
    return batch;
  }

  /** Marks a batch committed and releases every committed batch at the head. */
  complete(batch: Batch): void {
    batch.done = true;
    let release = -1;
    while (this.pending.length > 0 && this.pending[0]!.done) {
      const b = this.pending.shift()!;
      release = (b.start + b.count) | 0;
    }
    if (release !== -1) this.ring.release(this.consumer, release);
  }

  idle(): boolean {
    return this.unclaimed() === 0 && this.pending.length === 0;
  }
}
