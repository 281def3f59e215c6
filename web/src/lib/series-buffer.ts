/**
 * The per-second chart data, columnar so uPlot draws straight from it.
 *
 * uPlot takes `[x[], y1[], y2[], …]` and keeps the references, so the columns are plain
 * arrays mutated in place and every chart shares the same `t` column. Old points are cut
 * in chunks (capacity + 10 % slack, then splice back to capacity) so appending is O(1)
 * amortised instead of one O(n) shift per second.
 */
import {
  type HistoryMetric,
  type HistoryResponse,
  HISTORY_METRICS as SERIES_KEYS,
  type SecondPoint,
} from '../types.js';

/** The charts hold exactly the series the history endpoint serves. */
export type SeriesKey = HistoryMetric;

/** One hour of per-second points: the longest window the selector offers. */
export const DEFAULT_CAPACITY = 3600;

type Column = (number | null)[];

export class SeriesBuffer {
  /** Unix seconds (uPlot's default time unit). */
  readonly t: number[] = [];
  readonly cols: Record<SeriesKey, Column>;
  readonly capacity: number;
  /** Bumped by every change other than an append (prepend, clear): caches keyed on it. */
  epoch = 0;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.capacity = capacity;
    this.cols = Object.fromEntries(SERIES_KEYS.map((k) => [k, []])) as unknown as Record<
      SeriesKey,
      Column
    >;
  }

  get length(): number {
    return this.t.length;
  }

  /** Epoch ms of the newest point, or -Infinity. */
  get lastMs(): number {
    const n = this.t.length;
    return n === 0 ? Number.NEGATIVE_INFINITY : this.t[n - 1]! * 1000;
  }

  get firstMs(): number {
    return this.t.length === 0 ? Number.POSITIVE_INFINITY : this.t[0]! * 1000;
  }

  /** Appends one closed second; ignores anything not newer than the last (replays, overlap). */
  append(p: SecondPoint): boolean {
    if (p.t <= this.lastMs) return false;
    this.t.push(p.t / 1000);
    const row = toRow(p);
    for (const k of SERIES_KEYS) this.cols[k].push(row[k]);
    this.trim();
    return true;
  }

  /**
   * Merges a history response: points older than what we hold go in front, points newer
   * go at the end (a gap after a reconnect); overlap is already on screen and skipped.
   */
  merge(h: HistoryResponse): number {
    const older: SecondPoint[] = [];
    let added = 0;
    const first = this.firstMs;
    for (let i = 0; i < h.t.length; i++) {
      const p = historyPoint(h, i);
      if (p.t < first) older.push(p);
      else if (this.append(p)) added++;
    }
    if (older.length > 0) this.prepend(older);
    return added + older.length;
  }

  /** Inserts points (oldest first) that are all older than the first held point. */
  prepend(points: SecondPoint[]): void {
    const room = Math.max(0, this.capacity - this.t.length);
    const take = points.slice(Math.max(0, points.length - room));
    if (take.length === 0) return;
    this.epoch++;
    this.t.unshift(...take.map((p) => p.t / 1000));
    const rows = take.map(toRow);
    for (const k of SERIES_KEYS) this.cols[k].unshift(...rows.map((r) => r[k]));
  }

  clear(): void {
    this.epoch++;
    this.t.length = 0;
    for (const k of SERIES_KEYS) this.cols[k].length = 0;
  }

  private trim(): void {
    const excess = this.t.length - this.capacity;
    if (excess <= this.capacity / 10) return;
    this.t.splice(0, excess);
    for (const k of SERIES_KEYS) this.cols[k].splice(0, excess);
  }
}

function toRow(p: SecondPoint): Record<SeriesKey, number | null> {
  // A second with no completions has no latency: a gap in the line, not a dive to 0 ms.
  const idle = p.count === 0;
  return {
    tps: p.count,
    failed: p.failed,
    flagged: p.flagged,
    volumeUsd: p.volumeUsd / 100,
    avgMs: idle ? null : p.avgMs,
    p50Ms: idle ? null : p.p50Ms,
    p95Ms: idle ? null : p.p95Ms,
    p99Ms: idle ? null : p.p99Ms,
  };
}

function historyPoint(h: HistoryResponse, i: number): SecondPoint {
  const v = (k: keyof HistoryResponse['series']) => h.series[k]?.[i] ?? 0;
  return {
    t: h.t[i]!,
    count: v('tps'),
    failed: v('failed'),
    flagged: v('flagged'),
    volumeUsd: v('volumeUsd'),
    avgMs: v('avgMs'),
    p50Ms: v('p50Ms'),
    p95Ms: v('p95Ms'),
    p99Ms: v('p99Ms'),
  };
}
