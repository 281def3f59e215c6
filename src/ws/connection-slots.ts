import { isLoopbackHost } from '../security/exposure.js';
import { addressHashes } from '../shared/address-hash.js';
import { spinLock, spinUnlock } from '../shared/spin-lock.js';
import { type FanoutShared, LOCK, OPEN_TOTAL } from './fanout-layout.js';

/**
 * WS_MAX_CONNECTIONS and WS_MAX_CONNECTIONS_PER_ADDRESS for the whole process, whichever
 * thread holds the socket. An upgrade reserves its slot (total and per address together)
 * under one short spin lock in shared memory, so two threads can never both take the last
 * slot; closing gives it back.
 *
 * Addresses live in an open-addressing table (linear probing, backward-shift deletion:
 * Knuth 6.4, Algorithm R) keyed by two 32-bit FNV-1a hashes of the address text
 * (address-hash.ts), each entry counting its open sockets per thread:
 *
 *   entry = [hashA | 1, hashB, open[thread 0], …, open[thread K-1]]    hashA = 0: empty
 *
 * An entry lives while its address has a socket open, so the table (twice
 * WS_MAX_CONNECTIONS entries) never fills. Loopback addresses are not counted per address
 * unless LOOPBACK_LIMITS=true: there one address is a local process (the benchmark swarms
 * open 10,000 sockets from 127.0.0.1) or a local reverse proxy speaking for every client.
 *
 * The lock (spin-lock.ts) is never held across a call out: a few dozen loads and stores.
 */

export type SlotRefusal = 'total' | 'address';

export class ConnectionSlots {
  constructor(
    private readonly shared: FanoutShared,
    /** The thread this view reserves for; the primary's recovery uses `threads`. */
    private readonly thread: number,
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
    private readonly limitLoopback: boolean,
  ) {}

  /** The key `address` is counted under, or '' when it is not counted per address. */
  keyOf(address: string): string {
    if (this.maxPerAddress <= 0 || (!this.limitLoopback && isLoopbackHost(address))) return '';
    return address;
  }

  /** Reserves a connection for `key` (from keyOf); null when granted, else which cap is full. */
  tryOpen(key: string): SlotRefusal | null {
    const { i32 } = this.shared;
    this.lock();
    try {
      if (i32[OPEN_TOTAL]! >= this.maxTotal) return 'total';
      if (key !== '') {
        const slot = this.findOrInsert(key);
        // keyOf gives a key only when maxPerAddress ≥ 1: a new entry (0 open) always fits.
        if (this.sum(slot) >= this.maxPerAddress) return 'address';
        i32[this.shared.layout.entry(slot) + 2 + this.thread]!++;
      }
      i32[OPEN_TOTAL]!++;
      return null;
    } finally {
      this.unlock();
    }
  }

  /** Gives back a reservation of tryOpen (the socket closed, or never opened). */
  close(key: string): void {
    const { i32 } = this.shared;
    this.lock();
    try {
      i32[OPEN_TOTAL]!--;
      if (key === '') return;
      const slot = this.find(key);
      if (slot === -1) return;
      const at = this.shared.layout.entry(slot) + 2 + this.thread;
      if (i32[at]! > 0) i32[at]!--;
      if (this.sum(slot) === 0) this.remove(slot);
    } finally {
      this.unlock();
    }
  }

  /**
   * Primary only, after fan-out thread `t` exited: takes its `open` sockets out of the
   * total and its share out of every address (it may have died holding the lock).
   */
  releaseThread(t: number, open: number): void {
    const { i32, layout } = this.shared;
    const me = layout.init.threads;
    // The dead thread cannot release the lock any more; take it over if it held it.
    spinUnlock(i32, LOCK, t);
    this.lock(me);
    try {
      i32[OPEN_TOTAL] = Math.max(0, i32[OPEN_TOTAL]! - open);
      // Zero the column, then rebuild: removing while scanning would skip shifted entries.
      const kept: number[][] = [];
      for (let slot = 0; slot < layout.capacity; slot++) {
        const at = layout.entry(slot);
        if (i32[at] === 0) continue;
        i32[at + 2 + t] = 0;
        const row = Array.from(i32.subarray(at, at + layout.entryInts));
        i32.fill(0, at, at + layout.entryInts);
        if (row.slice(2).some((n) => n > 0)) kept.push(row);
      }
      for (const row of kept) {
        let slot = this.home(row[0]!);
        while (i32[layout.entry(slot)] !== 0) slot = (slot + 1) & (layout.capacity - 1);
        i32.set(row, layout.entry(slot));
      }
    } finally {
      this.unlock(me);
    }
  }

  /** Addresses with a socket open (tests and diagnostics). */
  get addresses(): number {
    const { i32, layout } = this.shared;
    let n = 0;
    for (let slot = 0; slot < layout.capacity; slot++) if (i32[layout.entry(slot)] !== 0) n++;
    return n;
  }

  private lock(me = this.thread): void {
    spinLock(this.shared.i32, LOCK, me);
  }

  private unlock(me = this.thread): void {
    spinUnlock(this.shared.i32, LOCK, me);
  }

  private home(hashA: number): number {
    return (hashA >>> 1) & (this.shared.layout.capacity - 1);
  }

  private find(key: string): number {
    const { i32, layout } = this.shared;
    const [a, b] = addressHashes(key);
    for (let slot = this.home(a); ; slot = (slot + 1) & (layout.capacity - 1)) {
      const at = layout.entry(slot);
      if (i32[at] === 0) return -1;
      if (i32[at] === a && i32[at + 1] === b) return slot;
    }
  }

  private findOrInsert(key: string): number {
    const { i32, layout } = this.shared;
    const [a, b] = addressHashes(key);
    for (let slot = this.home(a); ; slot = (slot + 1) & (layout.capacity - 1)) {
      const at = layout.entry(slot);
      if (i32[at] === 0) {
        i32[at] = a;
        i32[at + 1] = b;
        return slot;
      }
      if (i32[at] === a && i32[at + 1] === b) return slot;
    }
  }

  private sum(slot: number): number {
    const { i32, layout } = this.shared;
    const at = layout.entry(slot);
    let n = 0;
    for (let t = 0; t < layout.init.threads; t++) n += i32[at + 2 + t]!;
    return n;
  }

  /** Backward-shift deletion: later entries of the probe run move up into the hole. */
  private remove(slot: number): void {
    const { i32, layout } = this.shared;
    const mask = layout.capacity - 1;
    let hole = slot;
    let next = (slot + 1) & mask;
    for (;;) {
      const at = layout.entry(next);
      if (i32[at] === 0) break;
      const home = this.home(i32[at]!);
      // Move `next` into the hole unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (!stays) {
        i32.copyWithin(layout.entry(hole), at, at + layout.entryInts);
        hole = next;
      }
      next = (next + 1) & mask;
    }
    const h = layout.entry(hole);
    i32.fill(0, h, h + layout.entryInts);
  }
}
