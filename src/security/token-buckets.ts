import { addressHashes } from '../shared/address-hash.js';
import { spinLock, spinUnlock } from '../shared/spin-lock.js';

/**
 * Token buckets per client address (a client may send `burst` at once, then `ratePerSec`):
 * INGEST_RATE_LIMIT on the primary, and AUTH_FAILURE_LIMIT's wrong-token buckets, which
 * live in shared memory so that every thread that checks tokens (the primary's HTTP routes,
 * and with WS_THREADS > 1 each fan-out thread's /ws upgrades) takes from the same bucket
 * of an address: the limit holds for the process, not per thread (auth-throttle.ts).
 *
 *   tokens ─► min(burst, tokens + elapsed × rate) ─► ≥ 1? take one : wait
 *
 * One SharedArrayBuffer, allocated once at its full size:
 *
 *   i32[0]   LOCK (spin-lock.ts): holders are fan-out threads 0 … K-1 and the primary (K)
 *   entries from byte 8, 24 bytes each:
 *     i32 [hashA, hashB]   (address-hash.ts; hashA = 0: empty)
 *     f64 [tokens, atMs]   atMs = Date.now() of the last refill: every thread's
 *                          performance.now() counts from its own start
 *
 * A lookup probes at most PROBE entries from the address's home. Entries are never emptied,
 * only reused, so a probe run never breaks. A new address takes the first empty entry of its
 * run; else an idle one (a bucket that has refilled to full is the same as no bucket);
 * else, when every entry of the run is draining, the one with the most tokens. So memory is
 * fixed (768 KB) and a flood of addresses can only make the table forget the buckets
 * closest to full.
 */

const LOCK = 0;
const HEADER_BYTES = 8;
const ENTRY_BYTES = 24;
export const TOKEN_BUCKET_ENTRIES = 32_768;
const PROBE = 32;
/** f64 words of an entry, after its two i32 hashes (the entry's first 8 bytes). */
const TOKENS = 1;
const AT = 2;

export class TokenBuckets {
  readonly sab: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly mask: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    /**
     * This thread's lock id: fan-out thread t is t, the primary WS_THREADS (any id will do
     * for a table only one thread uses).
     */
    private readonly holder: number,
    /** The primary's buffer, in a fan-out thread; the primary creates it. */
    sab?: SharedArrayBuffer,
    capacity = TOKEN_BUCKET_ENTRIES,
  ) {
    if ((capacity & (capacity - 1)) !== 0) throw new Error('capacity must be a power of 2');
    this.sab = sab ?? new SharedArrayBuffer(HEADER_BYTES + capacity * ENTRY_BYTES);
    if (this.sab.byteLength !== HEADER_BYTES + capacity * ENTRY_BYTES) {
      throw new Error(`shared buckets: ${this.sab.byteLength} bytes for ${capacity} entries`);
    }
    this.i32 = new Int32Array(this.sab);
    this.f64 = new Float64Array(this.sab);
    this.mask = capacity - 1;
  }

  get enabled(): boolean {
    return this.ratePerSec > 0;
  }

  /** 0 when a token was there and is now taken; else the whole seconds to wait. */
  take(key: string, now = Date.now()): number {
    if (!this.enabled) return 0;
    return this.locked(() => {
      const e = this.findOrInsert(key, now);
      const tokens = this.refilled(e, now);
      this.f64[e / 8 + AT] = now;
      if (tokens >= 1) {
        this.f64[e / 8 + TOKENS] = tokens - 1;
        return 0;
      }
      this.f64[e / 8 + TOKENS] = tokens;
      return this.waitFor(tokens);
    });
  }

  /** Like `take`, without taking: 0 when a token is there, else the whole seconds to wait. */
  wait(key: string, now = Date.now()): number {
    if (!this.enabled) return 0;
    return this.locked(() => {
      const e = this.find(key);
      if (e === -1) return 0;
      const tokens = this.refilled(e, now);
      return tokens >= 1 ? 0 : this.waitFor(tokens);
    });
  }

  /** Primary only, after thread `holder` exited: frees the lock if it died holding it. */
  releaseThread(holder: number): void {
    spinUnlock(this.i32, LOCK, holder);
  }

  private locked<T>(fn: () => T): T {
    spinLock(this.i32, LOCK, this.holder);
    try {
      return fn();
    } finally {
      spinUnlock(this.i32, LOCK, this.holder);
    }
  }

  private waitFor(tokens: number): number {
    return Math.max(1, Math.ceil((1 - tokens) / this.ratePerSec));
  }

  /** Byte offset of entry `slot`. */
  private entry(slot: number): number {
    return HEADER_BYTES + slot * ENTRY_BYTES;
  }

  private refilled(e: number, now: number): number {
    const elapsedS = Math.max(0, now - this.f64[e / 8 + AT]!) / 1000;
    return Math.min(this.burst, this.f64[e / 8 + TOKENS]! + elapsedS * this.ratePerSec);
  }

  private find(key: string): number {
    const [a, b] = addressHashes(key);
    for (let i = 0, slot = (a >>> 1) & this.mask; i < PROBE; i++, slot = (slot + 1) & this.mask) {
      const e = this.entry(slot);
      const ea = this.i32[e / 4]!;
      if (ea === 0) return -1;
      if (ea === a && this.i32[e / 4 + 1] === b) return e;
    }
    return -1;
  }

  private findOrInsert(key: string, now: number): number {
    const found = this.find(key);
    if (found !== -1) return found;
    const [a, b] = addressHashes(key);
    let best = -1;
    let bestTokens = -1;
    for (let i = 0, slot = (a >>> 1) & this.mask; i < PROBE; i++, slot = (slot + 1) & this.mask) {
      const e = this.entry(slot);
      if (this.i32[e / 4] === 0) {
        best = e;
        break;
      }
      const tokens = this.refilled(e, now);
      if (tokens >= this.burst) {
        best = e;
        break;
      }
      if (tokens > bestTokens) {
        best = e;
        bestTokens = tokens;
      }
    }
    this.i32[best / 4] = a;
    this.i32[best / 4 + 1] = b;
    this.f64[best / 8 + TOKENS] = this.burst;
    this.f64[best / 8 + AT] = now;
    return best;
  }
}
