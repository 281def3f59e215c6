import type { Shard } from './shard-pool.js';
import { type TxItem, txItem } from './tx-item.js';

/**
 * Reads the sampled feed and the alerts that shards left in their small rings since the
 * last tick. The primary is the only consumer of these rings (slot 0). Work per tick is
 * bounded by the caps, not by the transaction rate.
 */

export function drainRing(
  shards: readonly Shard[],
  ring: 'feedRing' | 'alertRing',
  max: number,
  sourceNames: readonly string[],
): TxItem[] {
  const items: TxItem[] = [];
  // Round-robin over shards so one busy shard cannot crowd out the others.
  const per = Math.max(1, Math.ceil(max / Math.max(1, shards.length)));
  for (const shard of shards) {
    const r = shard[ring];
    const available = r.available(0);
    if (available <= 0) continue;
    let pos = r.readPos(0);
    const take = Math.min(available, per, max - items.length);
    for (let n = 0; n < take; n++) {
      items.push(txItem(r.f, pos & r.mask, sourceNames));
      pos = (pos + 1) | 0;
    }
    r.release(0, pos);
    if (items.length >= max) break;
  }
  return items.sort((a, b) => a.completedAt - b.completedAt);
}

/** Forgets everything not yet read (after a reset). */
export function skipRing(shards: readonly Shard[], ring: 'feedRing' | 'alertRing'): void {
  for (const shard of shards) shard[ring].release(0, shard[ring].writePos);
}
