import { WINDOW_NAMES, WINDOW_SECONDS, type WindowName } from '../metrics/snapshot-types.js';
import { BUCKET_COUNT, BUCKET_MASK } from '../shared/metric-buckets.js';
import type { SourceRegistry } from '../shared/source-registry.js';
import {
  B_COUNT,
  B_SECOND,
  B_SOURCES,
  clearRow,
  clearRows,
  mergeRow,
  OVERFLOW_SLOT,
  ROW_STRIDE,
  SOURCE_FIELDS,
  subtractRow,
} from '../shared/window-row.js';
import { type Partial, slotOfIndex } from './partial-codec.js';

/**
 * The global view: every node's partials (partial-codec.ts) merged into 1m / 5m / 1h
 * windows, at a cost per tick that depends on the number of nodes, not on the rate.
 *
 *   ring[s]   = Σ over nodes of node n's closed row of second s   (seconds of the last hour)
 *   sums[w]   = Σ ring[s] for s ≥ lo[w] = now − L(w) + 1          (kept incrementally)
 *   window(w) = sums[w] + Σ over live nodes of their open rows (s ≥ lo[w])
 *
 * Exactly once per (second, node): a closed row is final when its node sends it, so node n's
 * rows are taken only for seconds above its high-water mark `closedThrough` (a partial seen
 * twice, or replayed from the stream, adds nothing), while its open rows are replaced by
 * each newer partial. A node silent for longer than `downAfterMs` is down: its open rows
 * leave the view and what it closed stays (DESIGN §8).
 */

export interface NodeState {
  id: number;
  instance: string;
  /** Highest second whose closed row from this node is in the ring. */
  closedThrough: number;
  /** Open rows of the latest partial: seconds and ROW_STRIDE words each. */
  openSeconds: number[];
  openRows: Float64Array;
  /** Epoch ms of the latest partial (the sender's clock, never ahead of ours). */
  lastSeen: number;
  tps: number;
  clients: number;
  inFlight: [number, number];
}

export interface NodeSummary {
  id: number;
  status: 'up' | 'down';
  tps: number;
  clients: number;
  lastSeen: number;
}

/** Nodes down for longer than this leave the list. */
const FORGET_AFTER_MS = 3600_000;
/** Closed seconds announced per snapshot at most (charts append them). */
const MAX_NEW_SECONDS = 60;

export class GlobalWindows {
  /** Σ of the nodes' closed rows, by second & BUCKET_MASK (B_SECOND says which second). */
  readonly ring = new Float64Array(new SharedArrayBuffer(BUCKET_COUNT * ROW_STRIDE * 8));
  private readonly sums = new Map<WindowName, Float64Array>();
  private readonly lo = new Map<WindowName, number>();
  readonly nodes = new Map<number, NodeState>();
  private readonly scratch = new Float64Array(ROW_STRIDE);
  /** Last second announced as globally closed (every live node closed it). */
  announcedThrough: number;
  /** First second this view holds data of (window rates divide by the seconds covered). */
  startSecond: number;
  /** Seconds before the last cluster-wide reset: rows of them are history, not windows. */
  private floor = Number.NEGATIVE_INFINITY;
  private nowSecond: number;

  constructor(
    private readonly registry: SourceRegistry,
    private readonly downAfterMs: number,
    nowSecond: number,
  ) {
    this.nowSecond = nowSecond;
    for (const w of WINDOW_NAMES) {
      this.sums.set(w, new Float64Array(ROW_STRIDE));
      this.lo.set(w, nowSecond - WINDOW_SECONDS[w] + 1);
    }
    this.announcedThrough = nowSecond - 2;
    this.startSecond = nowSecond;
  }

  /** Takes one partial in (from the stream, in order per node). */
  apply(p: Partial, receivedAt: number): void {
    const h = p.header;
    let node = this.nodes.get(h.node);
    if (!node) {
      node = {
        id: h.node,
        instance: h.instance,
        closedThrough: Number.NEGATIVE_INFINITY,
        openSeconds: [],
        openRows: new Float64Array(0),
        lastSeen: 0,
        tps: 0,
        clients: 0,
        inFlight: [0, 0],
      };
      this.nodes.set(h.node, node);
    }
    const open: number[] = [];
    const openRows: Float64Array[] = [];
    for (let r = 0; r < h.seconds.length; r++) {
      const s = h.seconds[r]!;
      const row = this.toLocalSlots(p.rows, r * ROW_STRIDE, h.sources);
      if (s <= h.closedThrough) {
        if (s > node.closedThrough) this.addClosed(s, row);
      } else {
        open.push(s);
        openRows.push(row.slice());
      }
    }
    node.closedThrough = Math.max(node.closedThrough, h.closedThrough);
    if (h.ts >= node.lastSeen) {
      node.instance = h.instance;
      node.openSeconds = open;
      node.openRows = new Float64Array(open.length * ROW_STRIDE);
      for (let i = 0; i < openRows.length; i++) node.openRows.set(openRows[i]!, i * ROW_STRIDE);
      node.lastSeen = Math.min(h.ts, receivedAt);
      node.tps = h.tps;
      node.clients = h.clients;
      node.inFlight = h.inFlight;
    }
  }

  /** A row with the sender's source slots renumbered to this process's registry. */
  private toLocalSlots(rows: Float64Array, off: number, sources: readonly string[]): Float64Array {
    const out = this.scratch;
    out.fill(0);
    for (let i = 1; i < B_SOURCES; i++) out[i] = rows[off + i]!;
    for (let i = B_SOURCES; i < ROW_STRIDE; i += SOURCE_FIELDS) {
      if (rows[off + i] === 0 && rows[off + i + 1] === 0 && rows[off + i + 2] === 0) continue;
      const slot = slotOfIndex(i);
      const name = sources[slot];
      const local =
        slot === OVERFLOW_SLOT || name === undefined ? OVERFLOW_SLOT : this.registry.slotOf(name);
      const at = B_SOURCES + local * SOURCE_FIELDS;
      for (let f = 0; f < SOURCE_FIELDS; f++) out[at + f]! += rows[off + i + f]!;
    }
    return out;
  }

  private addClosed(s: number, row: Float64Array): void {
    // Outside every window, or from before a reset.
    if (s < this.lo.get('1h')! || s < this.floor || s > this.nowSecond + 60) return;
    const off = (s & BUCKET_MASK) * ROW_STRIDE;
    if (this.ring[off + B_SECOND] !== s) {
      clearRow(this.ring, off);
      this.ring[off + B_SECOND] = s;
    }
    mergeRow(this.ring, off, row, 0);
    for (const w of WINDOW_NAMES) if (s >= this.lo.get(w)!) mergeRow(this.sums.get(w)!, 0, row, 0);
    if (row[B_COUNT]! > 0 && s < this.startSecond) this.startSecond = s;
  }

  /** Moves the windows to `nowSecond`: seconds that left a window leave its sum. */
  advance(nowSecond: number): void {
    this.nowSecond = nowSecond;
    for (const w of WINDOW_NAMES) {
      const target = nowSecond - WINDOW_SECONDS[w] + 1;
      let s = this.lo.get(w)!;
      if (target - s > BUCKET_COUNT) s = target - BUCKET_COUNT;
      const sum = this.sums.get(w)!;
      for (; s < target; s++) {
        const off = (s & BUCKET_MASK) * ROW_STRIDE;
        if (this.ring[off + B_SECOND] === s) subtractRow(sum, 0, this.ring, off);
      }
      if (target > this.lo.get(w)!) this.lo.set(w, target);
    }
  }

  up(node: NodeState, nowMs: number): boolean {
    return nowMs - node.lastSeen <= this.downAfterMs;
  }

  /** Window `w` (closed sums + the live nodes' open rows) into `out`. */
  window(w: WindowName, nowMs: number, out: Float64Array): void {
    out.set(this.sums.get(w)!);
    const lo = this.lo.get(w)!;
    for (const node of this.nodes.values()) {
      if (!this.up(node, nowMs)) continue;
      node.openSeconds.forEach((s, i) => {
        if (s >= lo && s >= this.floor && s > node.closedThrough)
          mergeRow(out, 0, node.openRows, i * ROW_STRIDE);
      });
    }
  }

  /**
   * The latest second every live node's newest partial holds in full: the one before the
   * second that partial was built in (as a node's own `tps` reads its last full second).
   * nowSecond − 1 would count a node whose partial is from earlier in that second with
   * only part of it: three nodes asked for 3,000 tx/s read 2,672–2,905 on average over a
   * span and single frames down to 2,264, while their closed seconds held 3,001.
   */
  lastFullSecond(nowSecond: number, nowMs: number): number {
    let s = nowSecond - 1;
    for (const node of this.nodes.values())
      if (this.up(node, nowMs)) s = Math.min(s, Math.floor(node.lastSeen / 1000) - 1);
    return s;
  }

  /** Transactions of second `s` across the cluster (closed rows + live nodes' open rows). */
  count(s: number, nowMs: number): number {
    const off = (s & BUCKET_MASK) * ROW_STRIDE;
    let n = this.ring[off + B_SECOND] === s ? this.ring[off + B_COUNT]! : 0;
    for (const node of this.nodes.values()) {
      if (!this.up(node, nowMs) || s <= node.closedThrough || s < this.floor) continue;
      const i = node.openSeconds.indexOf(s);
      if (i >= 0) n += node.openRows[i * ROW_STRIDE + B_COUNT]!;
    }
    return n;
  }

  /**
   * Seconds every live node has closed since the last call, oldest first: the global
   * frame announces each second once, when no live node can still add to it.
   */
  newlyClosed(nowMs: number): number[] {
    let through = Number.POSITIVE_INFINITY;
    for (const node of this.nodes.values())
      if (this.up(node, nowMs)) through = Math.min(through, node.closedThrough);
    if (!Number.isFinite(through) || through <= this.announcedThrough) return [];
    const from = Math.max(this.announcedThrough + 1, through - MAX_NEW_SECONDS + 1);
    this.announcedThrough = through;
    const out: number[] = [];
    for (let s = from; s <= through; s++) out.push(s);
    return out;
  }

  /** Row offset of second `s` in the ring, or −1 when the ring holds nothing for it. */
  rowOf(s: number): number {
    const off = (s & BUCKET_MASK) * ROW_STRIDE;
    return this.ring[off + B_SECOND] === s ? off : -1;
  }

  summaries(nowMs: number): NodeSummary[] {
    const out: NodeSummary[] = [];
    for (const node of [...this.nodes.values()].sort((a, b) => a.id - b.id)) {
      if (nowMs - node.lastSeen > FORGET_AFTER_MS) {
        this.nodes.delete(node.id);
        continue;
      }
      const up = this.up(node, nowMs);
      out.push({
        id: node.id,
        status: up ? 'up' : 'down',
        tps: up ? node.tps : 0,
        clients: up ? node.clients : 0,
        lastSeen: node.lastSeen,
      });
    }
    return out;
  }

  /** Forgets everything before second `fromSecond` (a cluster-wide reset). */
  clear(fromSecond: number): void {
    this.floor = fromSecond;
    clearRows(this.ring);
    for (const s of this.sums.values()) s.fill(0);
    for (const node of this.nodes.values()) {
      node.openSeconds = [];
      node.openRows = new Float64Array(0);
    }
    this.startSecond = fromSecond;
  }
}
