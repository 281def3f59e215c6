/**
 * Summaries the reports print: a figure measured over repeats is given as its median with
 * the min–max spread (never a single run), and a trend over samples as the slope of a
 * least-squares line.
 */

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Every value, in run order. */
  values: number[];
}

export function round(v: number, digits = 2): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

/** Median (the mean of the middle two for an even count), min and max; null when empty. */
export function spread(values: readonly number[], digits = 3): Spread | null {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return null;
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return {
    median: round(median, digits),
    min: round(s[0]!, digits),
    max: round(s.at(-1)!, digits),
    values: v.map((x) => round(x, digits)),
  };
}

/** The q-th percentile (0–100) of `values` by the nearest-rank method; NaN when empty. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((q / 100) * s.length) - 1))]!;
}

/** Slope of the least-squares line through (x, y), in y units per x unit; null below 2 points. */
export function slope(xs: readonly number[], ys: readonly number[]): number | null {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return null;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}
