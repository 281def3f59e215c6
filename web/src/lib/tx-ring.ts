/**
 * A bounded ring of the most recent transactions, read newest first.
 *
 *   items: [ o o o o N n n n ]     N = next write slot (head), n = oldest
 *                      ^head
 *   at(0) = slot head-1 (newest) … at(size-1) = oldest
 *
 * The feed receives up to a few hundred items per tick; a ring makes each push O(1) with
 * no array shifting, and the virtual list reads only the handful of rows it shows.
 */
import type { TxItem } from '../types.js';

export class TxRing {
  private readonly items: (TxItem | undefined)[];
  private head = 0;
  private count = 0;
  /** Total ever pushed: lets the list keep its scroll anchored when rows arrive above it. */
  total = 0;

  constructor(readonly capacity: number) {
    this.items = new Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(items: readonly TxItem[]): void {
    // Only the newest `capacity` of a big batch can survive; skip writing the rest.
    const start = Math.max(0, items.length - this.capacity);
    for (let i = start; i < items.length; i++) {
      this.items[this.head] = items[i];
      this.head = (this.head + 1) % this.capacity;
    }
    this.count = Math.min(this.capacity, this.count + items.length - start);
    this.total += items.length;
  }

  /** `i` = 0 is the newest item. */
  at(i: number): TxItem | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.items[(this.head - 1 - i + this.capacity * 2) % this.capacity];
  }

  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.count = 0;
  }
}
