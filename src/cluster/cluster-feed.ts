import type { Subscription } from 'nats';
import type { Options } from '../config/option-specs.js';
import type { TxItem } from '../pipeline/tx-item.js';
import type { ClusterNode } from './cluster-node.js';

/**
 * The `tx` feed and the `alerts` of the whole cluster: every tick each node sends its own
 * sample and alerts on core NATS (`<name>.feed.<node>`), and merges what the others sent
 * since its last tick into its frames, bounded like its own:
 *
 *   tx      every node's sample together, sampled down to FEED_PER_TICK uniformly; what is
 *           left out is counted in `omitted`, with what the nodes left out themselves
 *   alerts  every node's, ALERTS_PER_TICK at most per tick; the rest counted in `dropped`
 *
 * No duplicates: core NATS may deliver a message twice, so the ids of the last few
 * thousand items are remembered and an item seen before is skipped. Core NATS, not the
 * stream: the feed is a live sample, and one missed while NATS is away is not worth
 * replaying (the windows, which are, travel on the stream).
 */

interface FeedMessage {
  node: number;
  items: TxItem[];
  omitted: number;
  alerts: TxItem[];
  dropped: number;
}

/** Ids remembered against duplicate deliveries. */
const SEEN_IDS = 16_384;

export class ClusterFeed {
  private readonly items: TxItem[] = [];
  private omitted = 0;
  private readonly alerts: TxItem[] = [];
  private dropped = 0;
  private readonly seen = new Set<string>();
  private readonly subscription: Subscription;
  private own: { items: TxItem[]; omitted: number } = { items: [], omitted: 0 };

  constructor(
    private readonly node: ClusterNode,
    private readonly options: Options,
  ) {
    this.subscription = node.nc.subscribe(node.names.feedWildcard, {
      callback: (err, m) => {
        if (err) return;
        try {
          this.receive(JSON.parse(new TextDecoder().decode(m.data)) as FeedMessage);
        } catch {
          // malformed: ignored (the feed is a sample)
        }
      },
    });
  }

  private receive(m: FeedMessage): void {
    if (m.node === this.node.nodeId) return;
    // Bounded while this node's tick is late: past the caps, items only count.
    for (const item of m.items) {
      if (!this.firstTime(item.id)) continue;
      if (this.items.length < this.options.feedPerTick) this.items.push(item);
      else this.omitted++;
    }
    this.omitted += m.omitted;
    for (const item of m.alerts) {
      if (!this.firstTime(item.id)) continue;
      if (this.alerts.length < this.options.alertsPerTick) this.alerts.push(item);
      else this.dropped++;
    }
    this.dropped += m.dropped;
  }

  private firstTime(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > SEEN_IDS) this.seen.delete(this.seen.values().next().value!);
    return true;
  }

  /** This tick's `tx` data: this node's sample and the others', FEED_PER_TICK at most. */
  feed(items: TxItem[], omitted: number): { items: TxItem[]; omitted: number } {
    this.own = { items, omitted };
    const all = items.concat(this.items.splice(0));
    let left = omitted + this.omitted;
    this.omitted = 0;
    const max = this.options.feedPerTick;
    // Uniform sample without replacement (partial Fisher–Yates), then in time order.
    for (let i = 0; i < Math.min(max, all.length); i++) {
      const j = i + Math.floor(Math.random() * (all.length - i));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    if (all.length > max) {
      left += all.length - max;
      all.length = max;
    }
    all.sort((a, b) => a.completedAt - b.completedAt);
    return { items: all, omitted: left };
  }

  /** This tick's alerts: this node's and the others', ALERTS_PER_TICK at most; sends ours. */
  mergeAlerts(items: TxItem[], dropped: number): { items: TxItem[]; dropped: number } {
    this.send({ node: this.node.nodeId, ...this.own, alerts: items, dropped });
    const all = items.concat(this.alerts.splice(0));
    let lost = dropped + this.dropped;
    this.dropped = 0;
    if (all.length > this.options.alertsPerTick) {
      lost += all.length - this.options.alertsPerTick;
      all.length = this.options.alertsPerTick;
    }
    return { items: all, dropped: lost };
  }

  private send(m: FeedMessage): void {
    if (!this.node.connected || (m.items.length === 0 && m.alerts.length === 0 && m.omitted === 0))
      return;
    try {
      this.node.nc.publish(this.node.names.feedSubject(this.node.nodeId), JSON.stringify(m));
    } catch {
      // closed or reconnecting: this tick's sample stays local
    }
  }

  close(): void {
    this.subscription.unsubscribe();
  }
}
