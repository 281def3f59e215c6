/**
 * A timing wheel with 1 ms slots that holds every in-flight transaction until its next
 * lifecycle step is due (pending → processing, processing → completed | failed).
 * Scheduling and popping are O(1); nothing is allocated per transaction: each slot is the
 * head of an intrusive singly-linked list threaded through `next[]`, indexed by the
 * transaction's slot in the in-flight pool.
 *
 *   heads[t & mask] ──► pool slot 17 ──next──► pool slot 4 ──next──► -1
 *        ▲
 *     cursor: the millisecond being drained; everything before it is done
 *
 * WHEEL_SLOTS ms is the horizon: a step further ahead is clamped to the horizon (the
 * simulator never schedules beyond 8 s; options.procMaxMs is capped below it).
 */

export const WHEEL_SLOTS = 8192;
const MASK = WHEEL_SLOTS - 1;

export class LifecycleWheel {
  private readonly heads = new Int32Array(WHEEL_SLOTS).fill(-1);
  private readonly next: Int32Array;
  private cursor: number;
  /** Transactions scheduled and not yet popped. */
  size = 0;

  constructor(poolCapacity: number, nowMs: number) {
    this.next = new Int32Array(poolCapacity);
    this.cursor = Math.floor(nowMs);
  }

  schedule(slot: number, atMs: number): void {
    let t = Math.floor(atMs);
    if (t < this.cursor) t = this.cursor;
    else if (t >= this.cursor + WHEEL_SLOTS) t = this.cursor + WHEEL_SLOTS - 1;
    const w = t & MASK;
    this.next[slot] = this.heads[w]!;
    this.heads[w] = slot;
    this.size++;
  }

  /** The next transaction due at or before `nowMs`, or -1 when none is. */
  popDue(nowMs: number): number {
    while (this.cursor <= nowMs) {
      const w = this.cursor & MASK;
      const head = this.heads[w]!;
      if (head !== -1) {
        this.heads[w] = this.next[head]!;
        this.size--;
        return head;
      }
      this.cursor++;
    }
    return -1;
  }

  /** Puts a popped transaction back at the front (its step could not be applied yet). */
  unpop(slot: number): void {
    const w = this.cursor & MASK;
    this.next[slot] = this.heads[w]!;
    this.heads[w] = slot;
    this.size++;
  }
}
