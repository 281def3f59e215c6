/**
 * Synthetic per-second points, for measuring the dashboard at full load (an hour of points
 * in every chart) without waiting an hour. Only the test hook `seedSynthetic` uses it;
 * real data always wins because the buffer only prepends points older than what it holds.
 */
import type { SecondPoint } from '../types.js';

/** `n` points ending one second before `endMs`, oldest first. */
export function syntheticPoints(n: number, endMs: number): SecondPoint[] {
  const out: SecondPoint[] = [];
  const start = Math.floor(endMs / 1000) * 1000 - n * 1000;
  let tps = 400;
  for (let i = 0; i < n; i++) {
    // A random walk with a slow wave: enough shape that every path segment is drawn.
    tps = Math.max(20, tps + (Math.random() - 0.5) * 40 + Math.sin(i / 300) * 4);
    const count = Math.round(tps);
    const p50 = 40 + Math.random() * 10;
    out.push({
      t: start + i * 1000,
      count,
      failed: Math.round(count * (0.02 + Math.random() * 0.02)),
      flagged: Math.round(count * Math.random() * 0.01),
      volumeUsd: count * (5000 + Math.random() * 3000),
      avgMs: p50 * 1.1,
      p50Ms: p50,
      p95Ms: p50 * 2 + Math.random() * 20,
      p99Ms: p50 * 3 + Math.random() * 60,
    });
  }
  return out;
}
