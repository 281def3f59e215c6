import { type RecordViews, recordsByteLength, recordViews } from './tx-ring.js';

/**
 * The live `tx` feed's raw material: each producer thread (simulator shard, ingest thread)
 * keeps a uniform random sample of the transactions it finished since the last tick, and
 * hands it to the primary when the tick changes. The primary merges the threads' samples
 * in proportion to how many transactions each one finished (src/pipeline/live-feed.ts).
 *
 *   SharedArrayBuffer
 *   +--------------------------+---------------------------------+----------------------------------+
 *   | int32 × 4                | float64 × 3                     | records × 2·size (tx-ring layout) |
 *   | flushes | count[0] | [1] | population[0] | [1] | offered   | slot 0: 0 … size-1 │ slot 1: …    |
 *   +--------------------------+---------------------------------+----------------------------------+
 *
 * Flush n (n = 1, 2, …) is written into slot n & 1 while the tick runs and becomes visible
 * with Atomics.store(flushes, n): count[n & 1] records, sampled from population[n & 1]
 * finished transactions; `offered` counts every transaction of every flush so far (a
 * flush the primary missed still counts as omitted). The reader only ever reads slot (flushes & 1); the writer fills the
 * other one. The primary drains the latest flush before it starts a new tick, and a thread
 * flushes only when it sees a new tick, so a slot is never rewritten while it is read (the
 * reader still checks `flushes` again after its copy).
 */

const FLUSHES = 0;
const COUNT = 1; // + slot
const HEADER_BYTES = 16;
const OFFERED = 2; // index in population
const POPULATION_BYTES = 24;

export function feedSampleByteLength(size: number): number {
  return HEADER_BYTES + POPULATION_BYTES + recordsByteLength(2 * Math.max(1, size));
}

export class FeedSampleBuffer {
  readonly header: Int32Array;
  readonly population: Float64Array;
  /** Both slots' records: slot b holds indexes b·size … b·size + size - 1. */
  readonly f: RecordViews;

  constructor(
    readonly sab: SharedArrayBuffer,
    /** Records per sample: FEED_PER_TICK, so the merge can take all it needs from one thread. */
    readonly size: number,
  ) {
    this.header = new Int32Array(sab, 0, 4);
    this.population = new Float64Array(sab, HEADER_BYTES, 3);
    this.f = recordViews(sab, HEADER_BYTES + POPULATION_BYTES, 2 * Math.max(1, size));
  }

  static create(size: number): FeedSampleBuffer {
    return new FeedSampleBuffer(new SharedArrayBuffer(feedSampleByteLength(size)), size);
  }

  get flushes(): number {
    return Atomics.load(this.header, FLUSHES);
  }
}

/**
 * Thread side: a reservoir of `size` records over the transactions offered since the last
 * flush, by Li's Algorithm L ("Reservoir-sampling algorithms of time complexity
 * O(n(1 + log(N/n)))", ACM TOMS 20(4), 1994). Each transaction costs one increment and one
 * compare; random numbers are drawn only for the O(size · log(N/size)) that enter.
 */
export class ReservoirSampler {
  /** Transactions offered since the last flush. */
  private seen = 0;
  /** The offer (1-based) that enters the reservoir next. */
  private next = 1;
  private w = 1;
  private base: number;
  private readonly size: number;

  constructor(
    private readonly buf: FeedSampleBuffer,
    private readonly random: () => number = Math.random,
  ) {
    this.size = buf.size;
    this.base = ((buf.flushes + 1) & 1) * buf.size;
    this.restart();
  }

  /**
   * Offers one finished transaction: returns the index in `buf.f` to copy its record to, or
   * -1 when it is not sampled (it may replace an earlier one: the caller overwrites).
   */
  offer(): number {
    const i = ++this.seen;
    if (i !== this.next) return -1;
    const k = this.size;
    let at: number;
    if (i <= k) {
      at = i - 1;
      this.next = i < k ? i + 1 : i + this.skip();
    } else {
      at = Math.floor(this.random() * k);
      this.w *= Math.exp(Math.log(this.random()) / k);
      this.next = i + this.skip();
    }
    return this.base + at;
  }

  /** Makes the sample visible to the primary and starts a new one in the other slot. */
  flush(): void {
    const n = this.buf.flushes + 1;
    const slot = n & 1;
    Atomics.store(this.buf.header, COUNT + slot, Math.min(this.seen, this.size));
    this.buf.population[slot] = this.seen;
    this.buf.population[OFFERED]! += this.seen;
    Atomics.store(this.buf.header, FLUSHES, n);
    this.base = ((n + 1) & 1) * this.size;
    this.restart();
  }

  /** Forgets the sample being taken (after a reset: it holds transactions from before). */
  discard(): void {
    this.restart();
  }

  private skip(): number {
    return Math.floor(Math.log(this.random()) / Math.log1p(-this.w)) + 1;
  }

  private restart(): void {
    this.seen = 0;
    this.next = this.size > 0 ? 1 : Number.POSITIVE_INFINITY;
    this.w = Math.exp(Math.log(this.random()) / Math.max(1, this.size));
  }
}

/** One thread's latest flush, as the primary sees it. */
export interface FeedSampleRead {
  /** The flush number: the read is valid while `buf.flushes` still equals it. */
  flush: number;
  /** Index in `f` of the first sampled record. */
  base: number;
  count: number;
  /** Transactions the sample was drawn from. */
  population: number;
  /** Transactions of every flush so far (this one included). */
  offered: number;
}

/** Primary side: the latest flush, or null when there is none after `seenFlush`. */
export function readFeedSample(buf: FeedSampleBuffer, seenFlush: number): FeedSampleRead | null {
  const n = buf.flushes;
  if (n === seenFlush) return null;
  const slot = n & 1;
  return {
    flush: n,
    base: slot * buf.size,
    count: Atomics.load(buf.header, COUNT + slot),
    population: buf.population[slot]!,
    offered: buf.population[OFFERED]!,
  };
}
