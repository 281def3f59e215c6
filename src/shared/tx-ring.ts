/**
 * A single-producer ring of fixed-width transaction records in a SharedArrayBuffer,
 * struct-of-arrays, read by up to MAX_CONSUMERS consumers that each keep their own read
 * position (the live feed, the MySQL writers, ...).
 *
 *   header (Int32Array)                 records (one typed array per field)
 *   +-----------+                       index = position & mask
 *   | writePos  |--------------------+   +----+----+----+----+----+----+----+----+
 *   | read[0]   |----------+         +-->| .. | w  |    |    |    | r0 | .. | .. |
 *   | read[1]   |  ...     +------------------------------------->+
 *   | active[k] |  1 = consumer k holds slots
 *   +-----------+
 *
 * Positions are int32 counters that wrap at 2^32; `(write - read) | 0` is the fill level
 * as long as capacity < 2^31, and `pos & mask` stays the same slot across the wrap because
 * the capacity is a power of two.
 *
 * The producer writes records at writePos.., then publishes with Atomics.store(writePos):
 * a consumer that Atomics.load()s writePos sees every field of every record before it.
 * A consumer publishes its progress with Atomics.store(read[k]); the producer never writes
 * a slot that an active consumer has not released, so a slow consumer throttles the
 * producer instead of losing records. With no active consumer the producer may skip the
 * ring entirely (see hasConsumers).
 */

export const MAX_CONSUMERS = 4;

const WRITE_POS = 0;
const READ_POS = 1; // .. 1 + MAX_CONSUMERS
const ACTIVE = 1 + MAX_CONSUMERS; // .. 1 + 2 * MAX_CONSUMERS
const HEADER_INTS = 16; // 64 bytes: keep the header on its own cache line

/** One record: every field in its own typed array (field name → element type). */
const FIELDS = {
  idHi: Uint32Array,
  idLo: Uint32Array,
  createdAt: Float64Array,
  completedAt: Float64Array,
  /** Integer minor units; a float64 holds integers exactly up to 2^53. */
  amount: Float64Array,
  processingMs: Uint32Array,
  account: Uint32Array,
  source: Uint8Array,
  currency: Uint8Array,
  type: Uint8Array,
  status: Uint8Array,
  failureReason: Uint8Array,
  flagRule: Uint8Array,
  riskScore: Uint8Array,
} as const;

type FieldName = keyof typeof FIELDS;
type ViewCtor = {
  new (b: SharedArrayBuffer, offset: number, length: number): ArrayBufferView;
  BYTES_PER_ELEMENT: number;
};
export type RecordViews = { readonly [K in FieldName]: InstanceType<(typeof FIELDS)[K]> };
export const RECORD_FIELDS = Object.keys(FIELDS) as FieldName[];

/** Bytes per record, summed over fields. */
export const RECORD_BYTES = RECORD_FIELDS.reduce((n, f) => n + FIELDS[f].BYTES_PER_ELEMENT, 0);

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Bytes of `capacity` records, struct-of-arrays, each field array 8-byte aligned. */
export function recordsByteLength(capacity: number): number {
  let bytes = 0;
  for (const f of RECORD_FIELDS) bytes = align8(bytes + FIELDS[f].BYTES_PER_ELEMENT * capacity);
  return bytes;
}

/** Views of `capacity` records laid out at `offset` (8-aligned) of `sab`. */
export function recordViews(sab: SharedArrayBuffer, offset: number, capacity: number): RecordViews {
  const views: Record<string, ArrayBufferView> = {};
  let at = offset;
  for (const name of RECORD_FIELDS) {
    const Ctor = FIELDS[name] as unknown as ViewCtor;
    views[name] = new Ctor(sab, at, capacity);
    at = align8(at + Ctor.BYTES_PER_ELEMENT * capacity);
  }
  return views as unknown as RecordViews;
}

export function ringByteLength(capacity: number): number {
  return HEADER_INTS * 4 + recordsByteLength(capacity);
}

export class TxRing {
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  readonly mask: number;
  readonly header: Int32Array;
  readonly f: RecordViews;

  constructor(sab: SharedArrayBuffer, capacity: number) {
    if (
      !Number.isInteger(capacity) ||
      capacity < 2 ||
      capacity > 2 ** 30 ||
      (capacity & (capacity - 1)) !== 0
    ) {
      throw new RangeError(
        `ring capacity must be a power of two between 2 and 2^30 (got ${capacity})`,
      );
    }
    if (sab.byteLength < ringByteLength(capacity)) {
      throw new RangeError(`ring buffer too small for capacity ${capacity}`);
    }
    this.sab = sab;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.header = new Int32Array(sab, 0, HEADER_INTS);
    this.f = recordViews(sab, HEADER_INTS * 4, capacity);
  }

  static create(capacity: number): TxRing {
    return new TxRing(new SharedArrayBuffer(ringByteLength(capacity)), capacity);
  }

  // ---- producer side -------------------------------------------------------------

  get writePos(): number {
    return Atomics.load(this.header, WRITE_POS);
  }

  hasConsumers(): boolean {
    for (let k = 0; k < MAX_CONSUMERS; k++)
      if (Atomics.load(this.header, ACTIVE + k) === 1) return true;
    return false;
  }

  /** Slots the producer may fill now: capacity minus what the slowest active consumer holds. */
  freeSlots(): number {
    const write = Atomics.load(this.header, WRITE_POS);
    let used = 0;
    for (let k = 0; k < MAX_CONSUMERS; k++) {
      if (Atomics.load(this.header, ACTIVE + k) !== 1) continue;
      const held = (write - Atomics.load(this.header, READ_POS + k)) | 0;
      if (held > used) used = held;
    }
    return this.capacity - used;
  }

  /** Makes records up to (not including) `pos` visible to consumers and wakes waiting ones. */
  publish(pos: number): void {
    Atomics.store(this.header, WRITE_POS, pos | 0);
    Atomics.notify(this.header, WRITE_POS);
  }

  // ---- consumer side -------------------------------------------------------------

  /** Claims a consumer slot that starts at the current write position. */
  attachConsumer(): number {
    for (let k = 0; k < MAX_CONSUMERS; k++) {
      if (Atomics.compareExchange(this.header, ACTIVE + k, 0, 2) === 0) {
        // 2 = claiming: set the start before the producer starts honouring this slot.
        Atomics.store(this.header, READ_POS + k, Atomics.load(this.header, WRITE_POS));
        Atomics.store(this.header, ACTIVE + k, 1);
        return k;
      }
    }
    throw new Error(`all ${MAX_CONSUMERS} ring consumer slots are taken`);
  }

  detachConsumer(k: number): void {
    Atomics.store(this.header, ACTIVE + k, 0);
  }

  readPos(k: number): number {
    return Atomics.load(this.header, READ_POS + k);
  }

  /** Records published and not yet released by consumer k. */
  available(k: number): number {
    return (Atomics.load(this.header, WRITE_POS) - Atomics.load(this.header, READ_POS + k)) | 0;
  }

  /** Releases records up to (not including) `pos` for consumer k. */
  release(k: number, pos: number): void {
    Atomics.store(this.header, READ_POS + k, pos | 0);
  }

  /**
   * Blocks (worker threads only) until records are available for consumer k or the
   * timeout passes. Returns the number available.
   */
  waitForRecords(k: number, timeoutMs: number): number {
    const read = Atomics.load(this.header, READ_POS + k);
    const write = Atomics.load(this.header, WRITE_POS);
    if (write !== read) return (write - read) | 0;
    Atomics.wait(this.header, WRITE_POS, write, timeoutMs);
    return this.available(k);
  }
}

/** Copies record `from` of ring `a` into slot `to` of ring `b` (same layout). */
export function copyRecord(a: RecordViews, from: number, b: RecordViews, to: number): void {
  b.idHi[to] = a.idHi[from];
  b.idLo[to] = a.idLo[from];
  b.createdAt[to] = a.createdAt[from];
  b.completedAt[to] = a.completedAt[from];
  b.amount[to] = a.amount[from];
  b.processingMs[to] = a.processingMs[from];
  b.account[to] = a.account[from];
  b.source[to] = a.source[from];
  b.currency[to] = a.currency[from];
  b.type[to] = a.type[from];
  b.status[to] = a.status[from];
  b.failureReason[to] = a.failureReason[from];
  b.flagRule[to] = a.flagRule[from];
  b.riskScore[to] = a.riskScore[from];
}
