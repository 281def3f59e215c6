import { rejectedFigures, type SecurityCounters } from '../http/auth.js';
import type { StreamFigures } from '../ingest/stream/stream-status.js';
import type { ShardPool } from '../pipeline/shard-pool.js';
import {
  BUCKET_MASK,
  G_ALERTS_DROPPED,
  G_COMPLETED,
  G_FAILED,
  G_FLAGGED,
  G_GENERATED,
  G_INGEST_LATE,
  G_LOOP_NS,
  G_PENDING,
  G_PROCESSING,
  G_SHIFTED,
  G_THROTTLED,
  GAUGE_COUNT,
} from '../shared/metric-buckets.js';
import type { SourceRegistry } from '../shared/source-registry.js';
import { B_COUNT, ROW_STRIDE } from '../shared/window-row.js';
import { busiestSources, secondPoint, sourceMetrics, windowMetrics } from './bucket-row.js';
import {
  type MetricsSnapshot,
  type SecondPoint,
  type SourceMetrics,
  TOP_SOURCES,
  WINDOW_NAMES,
  type WindowMetrics,
  type WindowName,
} from './snapshot-types.js';
import { WindowAccumulator } from './window-accumulator.js';

/**
 * Builds the metrics snapshot from shared memory: once per tick for the `metrics` topic,
 * and on demand (cached for the tick) for GET /api/metrics. Its cost is O(shards ×
 * bucket width), whatever the transaction rate.
 */

/** What the rest of the process reports into the snapshot (persistence, clients, loop). */
export interface SnapshotSources {
  clients(): number;
  persistence(): {
    on: boolean;
    dbRowsPerSec: number;
    writerLag: number;
    ringFill: number;
    dbRowsQuarantined?: number;
    ingestItemsRefused?: number;
    ingestDeadlockRetries?: number;
  };
  eventLoopDelayP99Ms(): number;
  publishCostMs(): number;
  /** Rejection and slow-consumer counters (src/http/auth.ts); zeros when absent. */
  security?(): SecurityCounters;
  /** Finished transactions the live feed left out since start or reset (src/pipeline/live-feed.ts). */
  feedOmitted?(): number;
  /** The JetStream door's figures (src/ingest/stream/), null or absent when off. */
  stream?(): StreamFigures | null;
}

const SMOOTHING_SECONDS = 10;

/**
 * Turns the node's snapshot into another view of it after every refresh: the cluster's
 * (src/cluster/cluster-view.ts). Absent: the snapshot is this process's.
 */
export interface SnapshotView {
  refresh(
    local: MetricsSnapshot,
    acc: WindowAccumulator,
    sourcesByWindow: Record<WindowName, SourceMetrics[]>,
  ): { snapshot: MetricsSnapshot; sourcesByWindow: Record<WindowName, SourceMetrics[]> };
  /** The closed seconds this view serves as history, or null for the node's own. */
  historyRing(): HistoryRing | null;
}

/** Closed seconds by second & BUCKET_MASK (window-row.ts rows, B_SECOND labels them). */
export interface HistoryRing {
  closed: Float64Array;
  closedThrough: number;
}

export class SnapshotService {
  readonly accumulator: WindowAccumulator;
  private readonly windowRow = new Float64Array(ROW_STRIDE);
  private lastBusyNs: number[] = [];
  private lastBusyAt = performance.now();
  private utilisation: number[] = [];
  /** Latest snapshot (and its JSON), rebuilt by refresh(). */
  latest!: MetricsSnapshot;
  latestJson = '';
  /**
   * Every source with transactions in each window of the latest snapshot, busiest first
   * (the snapshot's `topSources` is the first TOP_SOURCES of it): alert rules and the
   * `source/<name>` topics read this.
   */
  sourcesByWindow = {} as Record<WindowName, SourceMetrics[]>;
  /** True while a reset is being applied: snapshots then repeat the last one from before. */
  resetting = false;
  /** Cluster mode: the view that merges every node's windows (set once, before the tick). */
  view: SnapshotView | undefined;

  constructor(
    private readonly pool: ShardPool,
    /** Source name → row slot, shared with the ingest thread (source-registry.ts). */
    readonly sourceRegistry: SourceRegistry,
    private readonly sources: SnapshotSources,
  ) {
    const now = Date.now();
    this.accumulator = new WindowAccumulator(
      pool.shards.map((s) => s.metrics),
      Math.floor(now / 1000),
    );
    this.lastBusyNs = pool.shards.map(() => 0);
    this.utilisation = pool.shards.map(() => 0);
    this.refresh();
  }

  /** The closed seconds GET /api/history serves from memory: the view's, or this node's. */
  historyRing(): HistoryRing {
    return this.view?.historyRing() ?? this.accumulator;
  }

  /**
   * Resets the pipeline's windows and counters: asks every thread to clear its buckets,
   * waits until all have, then clears the merged windows. Threads apply it one by one, so
   * in between a snapshot would mix before and after: until it is done, refresh() repeats
   * the last snapshot from before the reset (with no new `seconds`).
   */
  async reset(): Promise<void> {
    this.resetting = true;
    // Every thread adds what it finishes after its reset to this second or a later one.
    const resetSecond = Math.floor(Date.now() / 1000);
    try {
      await this.pool.reset();
    } finally {
      this.resetting = false;
    }
    this.accumulator.reset(resetSecond);
    this.refresh();
  }

  /** Reads shared memory and rebuilds `latest`. Returns the seconds that closed since. */
  refresh(): MetricsSnapshot {
    if (this.resetting) {
      if (this.latest.seconds.length > 0) {
        this.latest = { ...this.latest, seconds: [] };
        this.latestJson = JSON.stringify(this.latest);
      }
      return this.latest;
    }
    const ts = Date.now();
    const nowSecond = Math.floor(ts / 1000);
    const acc = this.accumulator;
    const closedSeconds = acc.advance(nowSecond);
    const open = acc.readOpen(nowSecond);

    const windows = {} as Record<WindowName, WindowMetrics>;
    const topSources = {} as Record<WindowName, SourceMetrics[]>;
    const everySource = {} as Record<WindowName, SourceMetrics[]>;
    for (const w of WINDOW_NAMES) {
      acc.window(w, open, this.windowRow);
      windows[w] = windowMetrics(this.windowRow, 0, acc.coveredSeconds(w, nowSecond));
      everySource[w] = sourceMetrics(this.windowRow, 0, this.sourceRegistry.names());
      // The snapshot goes to every client each tick: the busiest only (see TOP_SOURCES).
      topSources[w] = busiestSources(everySource[w], TOP_SOURCES);
    }
    this.sourcesByWindow = everySource;

    // Last full second = open row 0 (second now-1).
    const tps = open.rows[B_COUNT]!;
    let recent = tps;
    for (let s = nowSecond - SMOOTHING_SECONDS; s <= nowSecond - 2; s++)
      recent += acc.closedCount(s);
    const covered = Math.max(1, Math.min(SMOOTHING_SECONDS, nowSecond - acc.startSecond));
    const seconds: SecondPoint[] = closedSeconds.map((s) =>
      secondPoint(acc.closed, (s & BUCKET_MASK) * ROW_STRIDE, s),
    );

    const g = open.gauges;
    const persistence = this.sources.persistence();
    this.updateUtilisation(open.shardGauges);
    const target = this.pool.simulatorParams.tps;
    const security = this.sources.security?.();
    this.latest = {
      ts,
      tps,
      tpsSmoothed: Math.round((recent / covered) * 10) / 10,
      windows,
      inFlight: { pending: g[G_PENDING]!, processing: g[G_PROCESSING]! },
      topSources,
      persistence: persistence.on ? 'on' : 'off',
      clients: this.sources.clients(),
      partial: open.partial.length > 0 ? { shards: [...open.partial] } : null,
      pipeline: {
        shards: this.pool.simulatorShards,
        targetTps: Number.isFinite(target) ? target : null,
        generated: g[G_GENERATED]!,
        completed: g[G_COMPLETED]!,
        failed: g[G_FAILED]!,
        flagged: g[G_FLAGGED]!,
        feedOmitted: this.sources.feedOmitted?.() ?? 0,
        alertsDropped: g[G_ALERTS_DROPPED]!,
        throttled: g[G_THROTTLED]!,
        ingestLate: g[G_INGEST_LATE]!,
        partialReads: acc.partialReads,
        shiftedCompletions: g[G_SHIFTED]!,
        ringFill: persistence.ringFill,
        dbRowsPerSec: persistence.dbRowsPerSec,
        writerLag: persistence.writerLag,
        dbRowsQuarantined: persistence.dbRowsQuarantined ?? 0,
        ingestItemsRefused: persistence.ingestItemsRefused ?? 0,
        ingestDeadlockRetries: persistence.ingestDeadlockRetries ?? 0,
        shardUtilisation: this.utilisation,
        eventLoopDelayP99Ms: this.sources.eventLoopDelayP99Ms(),
        publishCostMs: this.sources.publishCostMs(),
        wsSlowConsumersDropped: security?.slowConsumersDropped ?? 0,
        rejected: rejectedFigures(security),
      },
      stream: this.sources.stream?.() ?? null,
      seconds,
    };
    if (this.view) {
      const v = this.view.refresh(this.latest, acc, this.sourcesByWindow);
      this.latest = v.snapshot;
      this.sourcesByWindow = v.sourcesByWindow;
    }
    this.latestJson = JSON.stringify(this.latest);
    return this.latest;
  }

  private updateUtilisation(shardGauges: Float64Array): void {
    const now = performance.now();
    const elapsedMs = now - this.lastBusyAt;
    if (elapsedMs < 900) return; // too short a span to mean anything
    this.lastBusyAt = now;
    this.utilisation = this.lastBusyNs.map((prev, i) => {
      const busy = shardGauges[i * GAUGE_COUNT + G_LOOP_NS]!;
      this.lastBusyNs[i] = busy;
      return Math.min(1, Math.round(((busy - prev) / 1e6 / elapsedMs) * 1000) / 1000);
    });
  }
}
