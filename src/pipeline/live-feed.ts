import { readFeedSample } from '../shared/feed-sample.js';
import type { SourceNames } from '../shared/source-name.js';
import type { Shard } from './shard-pool.js';
import { type TxItem, txItem } from './tx-item.js';

/**
 * The live `tx` feed and the alerts, read from what the producer threads left in shared
 * memory since the last tick. Work per tick is bounded by the caps, not by the rate.
 *
 * Feed: every thread hands over a uniform sample of the transactions it finished during
 * the previous tick and how many that was (src/shared/feed-sample.ts). The merge draws
 * FEED_PER_TICK of the union without replacement: how many come from each thread follows
 * the multivariate hypergeometric law of the threads' counts (a thread that finished 90 %
 * of the transactions supplies about 90 % of the feed), and which ones is a uniform choice
 * within the thread's sample, so every finished transaction had the same chance to be
 * shown. The feed is one tick behind: the sample of tick k is published at tick k+1.
 */

export class LiveFeed {
  private readonly seenFlush: number[] = [];
  private readonly seenOffered: number[] = [];
  private readonly pick: Int32Array;
  /** Finished transactions not shown in the feed, since start or reset. */
  omittedTotal = 0;

  constructor(
    private readonly shards: readonly Shard[],
    private readonly max: number,
    private readonly sources: SourceNames,
    private readonly random: () => number = Math.random,
  ) {
    this.pick = new Int32Array(Math.max(1, max));
  }

  /**
   * The sample of the threads' latest flushes and how many finished transactions it
   * leaves out. Call before starting the next tick (ShardPool.tick): threads flush when
   * they see it, into the slot this read is not looking at.
   */
  drain(): { items: TxItem[]; omitted: number } {
    const reads = [];
    let offered = 0;
    for (const shard of this.shards) {
      const i = shard.index;
      const r = readFeedSample(shard.feed, this.seenFlush[i] ?? 0);
      if (r === null) continue;
      offered += r.offered - (this.seenOffered[i] ?? 0);
      this.seenOffered[i] = r.offered;
      this.seenFlush[i] = r.flush;
      reads.push({ shard, r });
    }
    const take = allocateSample(
      reads.map((x) => x.r.population),
      this.max,
      this.random,
    );
    const items: TxItem[] = [];
    for (let j = 0; j < reads.length; j++) {
      const { shard, r } = reads[j]!;
      const n = Math.min(take[j]!, r.count);
      if (n === 0) continue;
      // n distinct records of the thread's sample: a partial Fisher–Yates shuffle.
      const pick = this.pick;
      for (let k = 0; k < r.count; k++) pick[k] = k;
      const chosen: TxItem[] = [];
      for (let k = 0; k < n; k++) {
        const x = k + Math.floor(this.random() * (r.count - k));
        const idx = pick[x]!;
        pick[x] = pick[k]!;
        chosen.push(txItem(shard.feed.f, r.base + idx, this.sources));
      }
      // A thread that flushed again meanwhile may have rewritten these records.
      if (shard.feed.flushes === r.flush) items.push(...chosen);
    }
    const omitted = Math.max(0, offered - items.length);
    this.omittedTotal += omitted;
    return { items: items.sort((a, b) => a.completedAt - b.completedAt), omitted };
  }

  /** Forgets every sample taken so far (after a reset). */
  skip(): void {
    for (const shard of this.shards) {
      const r = readFeedSample(shard.feed, -1);
      this.seenFlush[shard.index] = r?.flush ?? 0;
      this.seenOffered[shard.index] = r?.offered ?? 0;
    }
    this.omittedTotal = 0;
  }
}

/**
 * How many of `max` feed items each thread supplies: draws without replacement from the
 * union of the threads' populations (multivariate hypergeometric), O(max × threads).
 */
export function allocateSample(
  populations: readonly number[],
  max: number,
  random: () => number,
): number[] {
  const remaining = populations.slice();
  const take = populations.map(() => 0);
  let total = remaining.reduce((a, b) => a + b, 0);
  const m = Math.min(max, total);
  for (let j = 0; j < m; j++) {
    let r = random() * total;
    let i = -1;
    // The first thread whose share of [0, total) holds r (the last non-empty one if
    // rounding leaves r just past the end).
    for (let k = 0; k < remaining.length; k++) {
      if (remaining[k] === 0) continue;
      i = k;
      if (r < remaining[k]!) break;
      r -= remaining[k]!;
    }
    take[i]!++;
    remaining[i]!--;
    total--;
  }
  return take;
}

/** Drains up to `max` alerts, round-robin over threads so one cannot crowd out the rest. */
export function drainAlerts(shards: readonly Shard[], max: number, sources: SourceNames): TxItem[] {
  const items: TxItem[] = [];
  const per = Math.max(1, Math.ceil(max / Math.max(1, shards.length)));
  for (const shard of shards) {
    const r = shard.alertRing;
    const available = r.available(0);
    if (available <= 0) continue;
    let pos = r.readPos(0);
    const take = Math.min(available, per, max - items.length);
    for (let n = 0; n < take; n++) {
      items.push(txItem(r.f, pos & r.mask, sources));
      pos = (pos + 1) | 0;
    }
    r.release(0, pos);
    if (items.length >= max) break;
  }
  return items.sort((a, b) => a.completedAt - b.completedAt);
}

/** Forgets every alert not yet read (after a reset). */
export function skipAlerts(shards: readonly Shard[]): void {
  for (const shard of shards) shard.alertRing.release(0, shard.alertRing.writePos);
}
