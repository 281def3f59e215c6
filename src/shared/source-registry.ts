import { threadId } from 'node:worker_threads';
import { OVERFLOW_SOURCE, type SourceNames } from './source-name.js';
import { OVERFLOW_SLOT, SOURCES_LIMIT } from './window-row.js';

/**
 * The sources Pulseboard tracks, name → slot of the window rows (window-row.ts), shared by
 * every thread. The simulator's SOURCES take slots 0…n−1 (a shard's records carry those
 * indexes); any other name a producer sends takes the next free slot the first time a
 * thread meets it, without a restart, until SOURCES_MAX slots are taken. After that a new
 * name counts in OVERFLOW_SLOT, shown as `other` (its rows keep the real name in MySQL).
 *
 *   SharedArrayBuffer
 *   +-------------------------------+-------------------------+----------------+-----------------+
 *   | int32 × 4: count, lock,       | int64 × 2: overflow     | uint8 × 256:   | uint8 × 256×32: |
 *   |   capacity, (spare)           |   items, overflow names | name lengths   | name bytes      |
 *   +-------------------------------+-------------------------+----------------+-----------------+
 *
 * Append-only: a slot, once published, never changes name. Registering takes the lock (a
 * compareExchange spin: the critical section is a few dozen byte stores, and the primary
 * thread must not block in Atomics.wait; the lock word holds the owner's threadId + 1, so
 * the supervisor can free the lock of a thread that died holding it: releaseIfHeldBy), re-reads the names published meanwhile (another
 * thread may just have registered the same name), writes the name's bytes and length with
 * plain stores, then publishes with Atomics.store(count, n + 1).
 *
 * Memory ordering: Atomics operations are sequentially consistent, and in the ECMAScript
 * memory model a SeqCst store synchronizes-with the SeqCst load that reads its value. So a
 * thread that reads count = n + 1 with Atomics.load also sees every plain store the
 * registering thread made before publishing it: the bytes of names 0…n. Readers never look
 * past the count they loaded, and nothing they look at is written again, so they need no
 * lock. Two registrars are serialised by the lock, whose release (Atomics.store) likewise
 * publishes everything done while holding it.
 *
 * Each thread keeps a local Map of what it has read; a name it does not know costs one
 * Atomics.load to see whether another thread published more, and only a truly new name
 * takes the lock. So the hot path (a known name) is one Map lookup.
 */

/** Bytes per name: SOURCE_NAME allows 32 ASCII characters. */
export const NAME_BYTES = 32;

const H_COUNT = 0;
const H_LOCK = 1;
const H_CAPACITY = 2;
const HEADER_INTS = 4;
const K_OVERFLOW_ITEMS = 0;
const K_OVERFLOW_NAMES = 1;
const COUNTERS = 2;
const COUNTERS_OFFSET = HEADER_INTS * 4;
const LENGTHS_OFFSET = COUNTERS_OFFSET + COUNTERS * 8;
const NAMES_OFFSET = LENGTHS_OFFSET + SOURCES_LIMIT;
const BYTE_LENGTH = NAMES_OFFSET + SOURCES_LIMIT * NAME_BYTES;

export class SourceRegistry implements SourceNames {
  readonly sab: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly counters: BigInt64Array;
  private readonly lengths: Uint8Array;
  private readonly bytes: Uint8Array;
  private readonly known = new Map<string, number>();
  private readonly list: string[] = [];

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.header = new Int32Array(sab, 0, HEADER_INTS);
    this.counters = new BigInt64Array(sab, COUNTERS_OFFSET, COUNTERS);
    this.lengths = new Uint8Array(sab, LENGTHS_OFFSET, SOURCES_LIMIT);
    this.bytes = new Uint8Array(sab, NAMES_OFFSET, SOURCES_LIMIT * NAME_BYTES);
    this.known.set(OVERFLOW_SOURCE, OVERFLOW_SLOT);
    this.sync();
  }

  /**
   * A registry of `capacity` named slots (SOURCES_MAX) holding `names` in order (the
   * simulator's SOURCES first, so slot i is SOURCES[i]; then the names to know again).
   * Names beyond the capacity are left out (they will count in `other`).
   */
  static create(capacity: number, names: readonly string[]): SourceRegistry {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > SOURCES_LIMIT)
      throw new RangeError(`capacity must be between 1 and ${SOURCES_LIMIT} (got ${capacity})`);
    const r = new SourceRegistry(new SharedArrayBuffer(BYTE_LENGTH));
    Atomics.store(r.header, H_CAPACITY, capacity);
    for (const n of names) r.slotOf(n);
    return r;
  }

  get capacity(): number {
    return Atomics.load(this.header, H_CAPACITY);
  }

  /** Named slots taken (SOURCES first); changes only by growing. */
  get count(): number {
    return Atomics.load(this.header, H_COUNT);
  }

  /** Names of slots 0…count−1, brought up to date: one array that grows as names are added. */
  names(): readonly string[] {
    this.sync();
    return this.list;
  }

  /** Display name of a slot (OVERFLOW_SLOT is `other`). */
  nameOf(slot: number): string {
    if (slot === OVERFLOW_SLOT) return OVERFLOW_SOURCE;
    if (slot >= this.list.length) this.sync();
    return this.list[slot] ?? OVERFLOW_SOURCE;
  }

  /** The slot of a known name, or −1 (never registers). */
  find(name: string): number {
    const slot = this.known.get(name);
    if (slot !== undefined) return slot;
    this.sync();
    return this.known.get(name) ?? -1;
  }

  /**
   * The slot of `name` (which must match SOURCE_NAME), registering it if there is room;
   * OVERFLOW_SLOT when the registry is full.
   */
  slotOf(name: string): number {
    const slot = this.find(name);
    if (slot !== -1) return slot;
    const h = this.header;
    const owner = threadId + 1;
    while (Atomics.compareExchange(h, H_LOCK, 0, owner) !== 0);
    try {
      this.sync(); // what others published while we waited
      const again = this.known.get(name);
      if (again !== undefined) return again;
      const n = Atomics.load(h, H_COUNT);
      if (n >= Atomics.load(h, H_CAPACITY)) return OVERFLOW_SLOT;
      const at = n * NAME_BYTES;
      for (let i = 0; i < name.length; i++) this.bytes[at + i] = name.charCodeAt(i);
      this.lengths[n] = name.length;
      Atomics.store(h, H_COUNT, n + 1); // publishes the bytes above (see the header)
      this.sync();
      return n;
    } finally {
      Atomics.store(h, H_LOCK, 0);
    }
  }

  /** Frees the lock if thread `deadThreadId` (which has exited) still holds it. */
  releaseIfHeldBy(deadThreadId: number): void {
    Atomics.compareExchange(this.header, H_LOCK, deadThreadId + 1, 0);
  }

  /** Counts items that went to `other` because the registry was full (all threads). */
  countOverflowItems(n: number): void {
    Atomics.add(this.counters, K_OVERFLOW_ITEMS, BigInt(n));
  }

  /** Counts a name first met when the registry was full (once per name and thread). */
  countOverflowName(): void {
    Atomics.add(this.counters, K_OVERFLOW_NAMES, 1n);
  }

  get overflowItems(): number {
    return Number(Atomics.load(this.counters, K_OVERFLOW_ITEMS));
  }

  get overflowNames(): number {
    return Number(Atomics.load(this.counters, K_OVERFLOW_NAMES));
  }

  /** Reads the names published since the last sync (Atomics.load: see the header). */
  private sync(): void {
    const n = Atomics.load(this.header, H_COUNT);
    for (let slot = this.list.length; slot < n; slot++) {
      const at = slot * NAME_BYTES;
      const name = String.fromCharCode(...this.bytes.subarray(at, at + this.lengths[slot]!));
      this.list.push(name);
      this.known.set(name, slot);
    }
  }
}
