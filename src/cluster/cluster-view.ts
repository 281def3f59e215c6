import type { Options } from '../config/option-specs.js';
import {
  busiestSources,
  secondPoint,
  sourceMetrics,
  windowMetrics,
} from '../metrics/bucket-row.js';
import type { HistoryRing } from '../metrics/snapshot-service.js';
import {
  type MetricsSnapshot,
  type SecondPoint,
  type SourceMetrics,
  TOP_SOURCES,
  WINDOW_NAMES,
  WINDOW_SECONDS,
  type WindowMetrics,
  type WindowName,
} from '../metrics/snapshot-types.js';
import type { WindowAccumulator } from '../metrics/window-accumulator.js';
import { BUCKET_COUNT, BUCKET_MASK } from '../shared/metric-buckets.js';
import type { SourceRegistry } from '../shared/source-registry.js';
import { B_COUNT, B_SECOND, ROW_STRIDE } from '../shared/window-row.js';
import type { ClusterNode } from './cluster-node.js';
import { GlobalWindows } from './global-windows.js';
import { encodePartial } from './partial-codec.js';

/**
 * Every tick, on every node: publish this node's partial, fold in everyone's, and turn the
 * local snapshot into the cluster's (scope "cluster", the nodes list), or leave it local
 * (scope "local") while this node's own partials do not come back from NATS, that is while
 * it is cut off and the global view would be stale.
 *
 * The partial: the closed seconds the stream has not acknowledged yet (read again from
 * the node's own ring, so a partial lost to a NATS outage is rebuilt, not buffered) and the
 * open seconds as they stand. Its size depends on the seconds in it and their non-zero
 * words (partial-codec.ts), which the rate fills in up to the fields its traffic touches.
 */

/** Closed rows per partial at most: after an outage the backlog goes out over a few ticks. */
const MAX_CLOSED_PER_PARTIAL = 32;
const SMOOTHING_SECONDS = 10;

export interface ViewResult {
  snapshot: MetricsSnapshot;
  sourcesByWindow: Record<WindowName, SourceMetrics[]>;
}

export interface BackplaneFigures {
  /** Bytes of the latest partial this node published, and their mean since start. */
  partialBytes: number;
  meanPartialBytes: number;
  partialsSent: number;
  partialsReceived: number;
  /**
   * Partials this node could not read (partial-codec.ts), e.g. from a node of a version with
   * another wire format: that node shows as down here, and this count says why.
   */
  partialsRefused: number;
}

export class ClusterView {
  readonly global: GlobalWindows;
  private ackedThrough: number;
  private publishing = false;
  private lastPublishAt = 0;
  private readonly row = new Float64Array(ROW_STRIDE);
  readonly backplane: BackplaneFigures = {
    partialBytes: 0,
    meanPartialBytes: 0,
    partialsSent: 0,
    partialsReceived: 0,
    partialsRefused: 0,
  };

  /** Called with the number of live nodes (this one included) whenever it changes. */
  onLiveNodes: (n: number) => void = () => {};
  private liveNodes = 0;
  private scope: 'cluster' | 'local' = 'local';

  constructor(
    private readonly node: ClusterNode,
    private readonly registry: SourceRegistry,
    private readonly options: Options,
    acc: WindowAccumulator,
  ) {
    const nowSecond = Math.floor(Date.now() / 1000);
    this.global = new GlobalWindows(registry, this.downAfterMs, nowSecond);
    // Seconds before this process started are not ours to announce (DESIGN §8: a restarted
    // node's earlier seconds are in the stream already, from its previous instance).
    this.ackedThrough = acc.startSecond - 1;
    node.follow((p, at) => this.global.apply(p, at));
  }

  /** The global ring while this node serves the cluster's view (GET /api/history). */
  historyRing(): HistoryRing | null {
    return this.scope === 'cluster'
      ? { closed: this.global.ring, closedThrough: this.global.announcedThrough }
      : null;
  }

  get downAfterMs(): number {
    return this.options.clusterDownTicks * this.options.tickMs;
  }

  refresh(
    local: MetricsSnapshot,
    acc: WindowAccumulator,
    localSources: Record<WindowName, SourceMetrics[]>,
  ): ViewResult {
    const now = local.ts;
    const nowSecond = Math.floor(now / 1000);
    this.publish(local, acc, now);
    this.node.checkConsumer(this.downAfterMs * 2);
    this.backplane.partialsReceived = this.node.received;
    this.backplane.partialsRefused = this.node.malformed;
    const g = this.global;
    g.advance(nowSecond);
    const nodes = g.summaries(now);
    const closed = g.newlyClosed(now);
    const cluster = {
      node: this.node.nodeId,
      nodes,
      backplane: { ...this.backplane },
    };
    this.scope = now - this.node.ownSeenAt > this.downAfterMs ? 'local' : 'cluster';
    if (this.scope === 'local') {
      return {
        snapshot: { ...local, scope: 'local', ...cluster },
        sourcesByWindow: localSources,
      };
    }
    const live = nodes.filter((n) => n.status === 'up').length;
    if (live !== this.liveNodes && live > 0) {
      this.liveNodes = live;
      this.onLiveNodes(live);
    }
    const windows = {} as Record<WindowName, WindowMetrics>;
    const topSources = {} as Record<WindowName, SourceMetrics[]>;
    const everySource = {} as Record<WindowName, SourceMetrics[]>;
    for (const w of WINDOW_NAMES) {
      g.window(w, now, this.row);
      const covered = Math.max(1, Math.min(WINDOW_SECONDS[w], nowSecond - g.startSecond + 1));
      windows[w] = windowMetrics(this.row, 0, covered);
      everySource[w] = sourceMetrics(this.row, 0, this.registry.names());
      topSources[w] = busiestSources(everySource[w], TOP_SOURCES);
    }
    let recent = 0;
    for (let s = nowSecond - SMOOTHING_SECONDS; s <= nowSecond - 1; s++) recent += g.count(s, now);
    const smoothing = Math.max(1, Math.min(SMOOTHING_SECONDS, nowSecond - g.startSecond));
    let pending = 0;
    let processing = 0;
    let clients = 0;
    for (const n of g.nodes.values()) {
      if (!g.up(n, now)) continue;
      pending += n.inFlight[0];
      processing += n.inFlight[1];
      clients += n.clients;
    }
    const seconds: SecondPoint[] = closed.map((s) => {
      const off = g.rowOf(s);
      if (off >= 0) return secondPoint(g.ring, off, s);
      this.row.fill(0);
      return secondPoint(this.row, 0, s);
    });
    return {
      snapshot: {
        ...local,
        tps: g.count(g.lastFullSecond(nowSecond, now), now),
        tpsSmoothed: Math.round((recent / smoothing) * 10) / 10,
        windows,
        inFlight: { pending, processing },
        topSources,
        clients,
        seconds,
        scope: 'cluster',
        ...cluster,
      },
      sourcesByWindow: everySource,
    };
  }

  /** Builds and sends this tick's partial (one in flight at a time). */
  private publish(local: MetricsSnapshot, acc: WindowAccumulator, now: number): void {
    if (this.publishing || now - this.lastPublishAt < this.options.tickMs * 0.8) return;
    const closedThrough = acc.closedThrough;
    const seconds: number[] = [];
    let upTo = closedThrough;
    for (
      let s = Math.max(this.ackedThrough + 1, closedThrough - BUCKET_COUNT + 1);
      s <= closedThrough;
      s++
    ) {
      const off = (s & BUCKET_MASK) * ROW_STRIDE;
      if (acc.closed[off + B_SECOND] !== s || acc.closed[off + B_COUNT] === 0) continue;
      if (seconds.length === MAX_CLOSED_PER_PARTIAL) {
        upTo = s - 1;
        break;
      }
      seconds.push(s);
    }
    const open = acc.lastOpen;
    const openSeconds =
      upTo === closedThrough
        ? [open.nowSecond - 1, open.nowSecond].filter((s) => s > closedThrough)
        : [];
    const rows = new Float64Array((seconds.length + openSeconds.length) * ROW_STRIDE);
    const rowAt = (b: Float64Array, off: number) => b.subarray(off, off + ROW_STRIDE);
    for (let i = 0; i < seconds.length; i++)
      rows.set(rowAt(acc.closed, (seconds[i]! & BUCKET_MASK) * ROW_STRIDE), i * ROW_STRIDE);
    for (let i = 0; i < openSeconds.length; i++) {
      const k = openSeconds[i]! - (open.nowSecond - 1);
      rows.set(rowAt(open.rows, k * ROW_STRIDE), (seconds.length + i) * ROW_STRIDE);
    }
    const data = encodePartial(
      {
        node: this.node.nodeId,
        instance: this.node.instance,
        ts: now,
        closedThrough: upTo,
        seconds: [...seconds, ...openSeconds],
        tps: local.tps,
        clients: local.clients,
        inFlight: [local.inFlight.pending, local.inFlight.processing],
      },
      rows,
      this.registry.names(),
    );
    this.lastPublishAt = now;
    this.publishing = true;
    void this.node.publish(data, this.options.tickMs * 2).then((acked) => {
      this.publishing = false;
      if (!acked) return;
      this.ackedThrough = Math.max(this.ackedThrough, upTo);
      const b = this.backplane;
      b.partialsSent++;
      b.partialBytes = data.length;
      b.meanPartialBytes = Math.round(
        b.meanPartialBytes + (data.length - b.meanPartialBytes) / b.partialsSent,
      );
    });
  }
}
