import { CURRENCIES } from '../shared/catalog.js';
import { histogramQuantile } from '../shared/latency-histogram.js';
import { OVERFLOW_SOURCE } from '../shared/source-name.js';
import {
  B_COUNT,
  B_FAILED,
  B_FLAGGED,
  B_HISTOGRAM,
  B_PROC_SUM,
  B_VOLUME,
  B_VOLUME_HI,
  B_VOLUME_USD,
  OVERFLOW_SLOT,
  S_COUNT,
  S_FAILED,
  S_USD,
  sourceField,
  VOLUME_LIMB,
  volumeOf,
} from '../shared/window-row.js';
import type { SecondPoint, SourceMetrics, WindowMetrics } from './snapshot-types.js';

/**
 * Window rows (window-row.ts) as JSON: a second, a window and a whole node
 * are all the same vector, and merging is element-wise addition. These turn a row into
 * the JSON the API and the WebSocket send.
 */

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function windowMetrics(row: Float64Array, off: number, seconds: number): WindowMetrics {
  const count = row[off + B_COUNT]!;
  const failed = row[off + B_FAILED]!;
  const volume: Record<string, number> = {};
  const volumeExact: Record<string, string> = {};
  let exactDigits = false;
  for (let c = 0; c < CURRENCIES.length; c++) {
    // Exact as a float64 while it is at most 2^53 − 1; past that, the exact digits too.
    const v = row[off + B_VOLUME_HI + c]! * VOLUME_LIMB + row[off + B_VOLUME + c]!;
    if (v <= 0) continue;
    const code = CURRENCIES[c]!.code;
    volume[code] = v;
    if (v > Number.MAX_SAFE_INTEGER) {
      volumeExact[code] = volumeOf(row, off, c).toString();
      exactDigits = true;
    }
  }
  return {
    count,
    failed,
    flagged: row[off + B_FLAGGED]!,
    failureRate: count > 0 ? round3(failed / count) : 0,
    successRate: count > 0 ? round3(1 - failed / count) : 0,
    volume,
    ...(exactDigits ? { volumeExact } : {}),
    volumeUsd: Math.round(row[off + B_VOLUME_USD]!),
    avgMs: count > 0 ? round3(row[off + B_PROC_SUM]! / count) : 0,
    p50Ms: round3(histogramQuantile(row, off + B_HISTOGRAM, count, 0.5)),
    p95Ms: round3(histogramQuantile(row, off + B_HISTOGRAM, count, 0.95)),
    p99Ms: round3(histogramQuantile(row, off + B_HISTOGRAM, count, 0.99)),
    avgTps: seconds > 0 ? round3(count / seconds) : 0,
  };
}

/**
 * Per-source figures of a row, busiest first: the named slots (`names[i]` is slot i) and
 * the overflow slot as `other` (names past SOURCES_MAX, source-registry.ts).
 */
export function sourceMetrics(
  row: Float64Array,
  off: number,
  names: readonly string[],
): SourceMetrics[] {
  const out: SourceMetrics[] = [];
  const add = (slot: number, source: string) => {
    const count = row[off + sourceField(slot, S_COUNT)]!;
    if (count > 0) {
      out.push({
        source,
        count,
        failed: row[off + sourceField(slot, S_FAILED)]!,
        volumeUsd: Math.round(row[off + sourceField(slot, S_USD)]!),
      });
    }
  };
  for (let s = 0; s < names.length; s++) add(s, names[s]!);
  add(OVERFLOW_SLOT, OVERFLOW_SOURCE);
  return out.sort((a, b) => b.count - a.count || b.volumeUsd - a.volumeUsd);
}

/**
 * The `n` first of `all` (sourceMetrics' order: by count) and those of the `n` first by USD
 * volume not among them (the dashboard ranks by either), in count order.
 */
export function busiestSources(all: SourceMetrics[], n: number): SourceMetrics[] {
  if (all.length <= n) return all;
  const byVolume = new Set([...all].sort((a, b) => b.volumeUsd - a.volumeUsd).slice(0, n));
  return all.filter((s, i) => i < n || byVolume.has(s));
}

export function secondPoint(row: Float64Array, off: number, second: number): SecondPoint {
  const w = windowMetrics(row, off, 1);
  return {
    t: second * 1000,
    count: w.count,
    failed: w.failed,
    flagged: w.flagged,
    volumeUsd: w.volumeUsd,
    avgMs: w.avgMs,
    p50Ms: w.p50Ms,
    p95Ms: w.p95Ms,
    p99Ms: w.p99Ms,
  };
}

/**
 * One source's second (or bin) of a row: what a row holds per source (count, failed,
 * volumeUsd); the rest, not held per source, is 0.
 */
export function sourcePoint(
  row: Float64Array,
  off: number,
  second: number,
  slot: number,
): SecondPoint {
  return {
    t: second * 1000,
    count: row[off + sourceField(slot, S_COUNT)]!,
    failed: row[off + sourceField(slot, S_FAILED)]!,
    flagged: 0,
    volumeUsd: Math.round(row[off + sourceField(slot, S_USD)]!),
    avgMs: 0,
    p50Ms: 0,
    p95Ms: 0,
    p99Ms: 0,
  };
}
