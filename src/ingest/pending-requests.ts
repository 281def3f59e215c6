/**
 * The HTTP requests the primary has handed to the ingest thread and not yet answered, in
 * reused slots instead of a Map keyed by an ever-growing id.
 *
 * Why not a Map: V8's Map is an ordered hash table that never reuses a deleted entry's
 * place, so with keys that only grow (one per request) it rehashes into a fresh table
 * every few hundred requests, and the old table keeps pointing at the new one and at the
 * entries it held (each a `done` closure holding a whole request: handler context, uWS
 * response, Tracked). Once an old table has been promoted, the scavenger takes every
 * pointer out of it as a root until the next mark-compact: dead requests survived the
 * young generation, were copied, then promoted, and their successors after them. At 256
 * connections that was ~2 MB promoted per scavenge and a median scavenge of 5.3 ms on the
 * primary (profiles/README.md, "The primary's event-loop delay"). These arrays only grow
 * (to the most requests ever open at once) and a freed slot is cleared, so nothing old
 * points at a finished request.
 *
 *   reqId = generation << SLOT_BITS | slot     (positive int32: the thread's stream ids
 *                                               are negative, ingest-worker.ts)
 *
 * The generation changes each time a slot is reused, so a late answer for an aborted
 * request (same slot, older generation) finds no match and is dropped. The thread sees a
 * reqId again only after 2,047 reuses of its slot, long after its abort or answer: parts
 * reach it in order, so it has closed the old one first.
 */

const SLOT_BITS = 20;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
/** 11 bits: generation << SLOT_BITS stays below 2^31. */
const GENERATION_MAX = 2047;
const INITIAL_SLOTS = 256;

export class PendingRequests<T> {
  /** The answer callback of the request in each slot (undefined: free). */
  private done: (T | undefined)[] = new Array(INITIAL_SLOTS).fill(undefined);
  /** The reqId now in each slot (0: free; a reqId is never 0), and its body flags until its first part is sent. */
  private ids: Int32Array<ArrayBuffer> = new Int32Array(INITIAL_SLOTS);
  private opening = new Int32Array(INITIAL_SLOTS);
  private generation = new Int32Array(INITIAL_SLOTS);
  /** Free slots, a stack: the most recently freed (cache-warm) slot is reused first. */
  private free = new Int32Array(INITIAL_SLOTS);
  private freeCount = 0;
  /** Slots ever used; the ones above are free without being on the stack. */
  private used = 0;
  private open = 0;

  /** Requests waiting for an answer. */
  get size(): number {
    return this.open;
  }

  /** Takes a slot for a new request; `flags` are its body flags, sent with its first part. */
  add(done: T, flags: number): number {
    let slot: number;
    if (this.freeCount > 0) slot = this.free[--this.freeCount]!;
    else {
      if (this.used === this.ids.length) this.grow();
      slot = this.used++;
    }
    const g = this.generation[slot]! >= GENERATION_MAX ? 1 : this.generation[slot]! + 1;
    this.generation[slot] = g;
    const reqId = (g << SLOT_BITS) | slot;
    this.ids[slot] = reqId;
    this.opening[slot] = flags;
    this.done[slot] = done;
    this.open++;
    return reqId;
  }

  /** The callback of request `reqId`, if it is still waiting. */
  get(reqId: number): T | undefined {
    const slot = reqId & SLOT_MASK;
    return reqId > 0 && slot < this.used && this.ids[slot] === reqId ? this.done[slot] : undefined;
  }

  /** The body flags of `reqId` if its first part has not been sent (0 after); -1: not waiting. */
  takeOpening(reqId: number): number {
    const slot = reqId & SLOT_MASK;
    if (reqId <= 0 || slot >= this.used || this.ids[slot] !== reqId) return -1;
    const flags = this.opening[slot]!;
    this.opening[slot] = 0;
    return flags;
  }

  /**
   * Frees `reqId`'s slot; returns its body flags if its first part was never sent (0 if it
   * was), or -1 if it was not waiting.
   */
  delete(reqId: number): number {
    const slot = reqId & SLOT_MASK;
    if (reqId <= 0 || slot >= this.used || this.ids[slot] !== reqId) return -1;
    const flags = this.opening[slot]!;
    this.ids[slot] = 0;
    this.opening[slot] = 0;
    this.done[slot] = undefined;
    this.free[this.freeCount++] = slot;
    this.open--;
    return flags;
  }

  /** Every waiting callback, and frees them all (the thread is gone). */
  drain(): T[] {
    const out: T[] = [];
    for (let slot = 0; slot < this.used; slot++) {
      const d = this.done[slot];
      if (d === undefined) continue;
      out.push(d);
      this.delete(this.ids[slot]!);
    }
    return out;
  }

  private grow(): void {
    const n = this.ids.length * 2;
    if (n > SLOT_MASK + 1) {
      throw new RangeError(`more than ${SLOT_MASK + 1} ingest requests open at once`);
    }
    const done: (T | undefined)[] = new Array(n).fill(undefined);
    for (let i = 0; i < this.used; i++) done[i] = this.done[i];
    this.done = done;
    this.ids = extend(this.ids, n);
    this.opening = extend(this.opening, n);
    this.generation = extend(this.generation, n);
    this.free = extend(this.free, n);
  }
}

function extend(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
