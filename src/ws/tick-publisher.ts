import type { Options } from '../config/option-specs.js';
import type { SnapshotService } from '../metrics/snapshot-service.js';
import { drainAlerts, LiveFeed } from '../pipeline/live-feed.js';
import type { ShardPool } from '../pipeline/shard-pool.js';
import type { TxItem } from '../pipeline/tx-item.js';
import { G_ALERTS_DROPPED } from '../shared/metric-buckets.js';
import { OVERFLOW_SOURCE } from '../shared/source-name.js';
import { TopicSequencer } from './envelope.js';
import type { FrameSink } from './partitioned-publisher.js';
import { sourceTopic } from './topics.js';

/**
 * Once per tick: read the snapshot and the sampled records from shared memory, serialise
 * each topic's data once, and hand the frames to the sink: with WS_THREADS=1 uWS on this
 * thread (partitioned-publisher.ts: app.publish per topic and partition, one partition per
 * event-loop turn), else every fan-out thread (fanout-pool.ts), which does the same with
 * its own clients. uWS copies the frame to every subscriber in C++ (each socket write
 * corked), so the JS cost here is O(topics × partitions), not O(clients) or
 * O(transactions). Topics nobody subscribes to (on any thread) are not even serialised:
 * their seq simply does not advance.
 */

export interface TickStats {
  ticks: number;
  /** Sum and max of tick cost (read + encode + publish), ms, since the last stats line. */
  costSumMs: number;
  costMaxMs: number;
  costCount: number;
  /** Bytes handed to publish, all topics, since start. */
  bytesPublished: number;
}

/**
 * Cluster mode: mixes the other nodes' feed samples and alerts into this node's frames
 * (src/cluster/cluster-feed.ts).
 */
export interface FeedMixer {
  feed(items: TxItem[], omitted: number): { items: TxItem[]; omitted: number };
  mergeAlerts(items: TxItem[], dropped: number): { items: TxItem[]; dropped: number };
}

/** Alert rules, evaluated after the snapshot (src/alerts/alerting.ts). */
export interface TickRules {
  /** The `alerts` frame data of this tick's rule state changes, or null. */
  tick(): string | null;
}

export class TickPublisher {
  readonly sequencer = new TopicSequencer();
  readonly stats: TickStats = {
    ticks: 0,
    costSumMs: 0,
    costMaxMs: 0,
    costCount: 0,
    bytesPublished: 0,
  };
  private timer: NodeJS.Timeout | undefined;
  private readonly feed: LiveFeed;
  private lastAlertsDropped = 0;
  private lastCostMs = 0;
  /** Cluster mode: the cluster's feed and alerts instead of this node's. */
  mixer: FeedMixer | undefined;

  constructor(
    private readonly sink: FrameSink,
    /** Sockets subscribed to a public topic, on every thread (fanout-counters.ts). */
    private readonly subscribers: (topic: string) => number,
    private readonly pool: ShardPool,
    private readonly snapshots: SnapshotService,
    private readonly options: Options,
    private readonly rules?: TickRules,
  ) {
    this.feed = new LiveFeed(pool.shards, options.feedPerTick, snapshots.sourceRegistry);
  }

  /** Frames of the current tick, built here and then handed to the sink. */
  private frames: [topic: string, frame: string][] = [];
  private stopped = false;

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.tickMs);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Mean tick cost of the recent past, ms (reported in the snapshot). */
  get publishCostMs(): number {
    return this.lastCostMs;
  }

  /** Forgets the feed sampled so far and resets counters reported as deltas (after a reset). */
  resetDeltas(): void {
    this.feed.skip();
    this.lastAlertsDropped = 0;
  }

  tick(): void {
    if (this.stopped || this.sink.busy) return; // the previous tick is still being handed out
    const t0 = performance.now();
    const snapshot = this.snapshots.refresh();
    // The sample of the tick that just ended, then the new tick: threads hand over their
    // next sample only when they see it, so this read and their writes never overlap.
    const local = this.feed.drain();
    const { items: feed, omitted } = this.mixer?.feed(local.items, local.omitted) ?? local;
    this.pool.tick();
    const now = Date.now();

    this.publish('metrics', this.snapshots.latestJson, now);

    if (this.subscribers('tx') > 0) {
      this.publish('tx', JSON.stringify({ items: feed, omitted }), now);
    }

    const ownAlerts = drainAlerts(
      this.pool.shards,
      this.options.alertsPerTick,
      this.snapshots.sourceRegistry,
    );
    const droppedTotal = this.pool.shards.reduce(
      (n, s) => n + s.metrics.gauges[G_ALERTS_DROPPED]!,
      0,
    );
    const ownDropped = Math.max(0, droppedTotal - this.lastAlertsDropped);
    this.lastAlertsDropped = droppedTotal;
    const { items: alerts, dropped } = this.mixer?.mergeAlerts(ownAlerts, ownDropped) ?? {
      items: ownAlerts,
      dropped: ownDropped,
    };
    if (alerts.length > 0 || dropped > 0)
      this.publish('alerts', JSON.stringify({ kind: 'fraud', items: alerts, dropped }), now);
    // Rule state changes of this snapshot, in the same tick: their own frame on `alerts`.
    const ruleFrame = this.rules?.tick() ?? null;
    if (ruleFrame !== null) this.publish('alerts', ruleFrame, now);

    this.publishSources(feed, snapshot.windows, now);
    const frames = this.frames;
    this.frames = [];
    const buildMs = performance.now() - t0;
    this.sink.publish(frames, (publishMs) => this.account(buildMs + publishMs));
  }

  /** Cost = CPU time on this thread for the tick (read + encode + publish on this thread). */
  private account(cost: number): void {
    const s = this.stats;
    s.ticks++;
    s.costSumMs += cost;
    s.costCount++;
    if (cost > s.costMaxMs) s.costMaxMs = cost;
    this.lastCostMs = this.lastCostMs === 0 ? cost : this.lastCostMs * 0.9 + cost * 0.1;
  }

  private publishSources(
    feed: TxItem[],
    windows: ReturnType<SnapshotService['refresh']>['windows'],
    now: number,
  ): void {
    // Every tracked source (names producers sent appear here as they are registered).
    for (const source of [...this.snapshots.sourceRegistry.names(), OVERFLOW_SOURCE]) {
      const topic = sourceTopic(source);
      if (this.subscribers(topic) === 0) continue;
      const perWindow: Record<string, { count: number; volumeUsd: number }> = {};
      for (const w of Object.keys(windows) as (keyof typeof windows)[]) {
        const m = this.snapshots.sourcesByWindow[w]?.find((x) => x.source === source);
        perWindow[w] = { count: m?.count ?? 0, volumeUsd: m?.volumeUsd ?? 0 };
      }
      const items = feed.filter((t) => t.source === source);
      this.publish(topic, JSON.stringify({ source, windows: perWindow, items }), now);
    }
  }

  /** Serialises a topic's frame once (taking its seq); partitions are published after. */
  private publish(topic: string, dataJson: string, now: number): void {
    const frame = this.sequencer.frame(topic, dataJson, now);
    this.stats.bytesPublished += frame.length;
    this.frames.push([topic, frame]);
  }

  /** Finished transactions the feed left out since start or reset (snapshot, stats line). */
  feedOmitted(): number {
    return this.feed.omittedTotal;
  }
}
