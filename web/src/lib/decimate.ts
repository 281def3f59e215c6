/**
 * Min/max decimation for wide windows: an hour of per-second points on an 850 px chart is
 * four points per pixel, and canvas path work (Path2D building, lineTo, fill) grows with
 * points, not pixels. Each bucket of `bs` seconds keeps its minimum and maximum, in the
 * order they occurred, so spikes survive exactly (the M4 idea: Jugel et al., "M4: A
 * Visualization-Oriented Time Series Data Aggregation", VLDB 2014).
 *
 *   seconds  |·:·.:|:·.·:|·:·:.|     buckets aligned to epoch multiples of bs, so a new
 *   output   | v ^ | ^ v | v ^ |     second changes only the last bucket
 *
 * Incremental: while the bucket size and the source's epoch stay the same, a refresh
 * recomputes only the last (open) bucket and whatever closed after it. Output arrays are
 * reused (uPlot keeps references; no garbage per tick).
 */
type Column = (number | null)[];

export class Decimator {
  private readonly t: number[] = [];
  private cols: Column[] = [];
  private bs = 0;
  private epoch = -1;

  /**
   * Returns `[x, ...ys]` covering [min, max] (unix seconds) with about `maxPoints` points
   * at most, or the inputs themselves when they are already that sparse. `epoch` must
   * change whenever the source changes other than by appending (prepend, clear).
   */
  run(
    t: number[],
    cols: Column[],
    min: number,
    max: number,
    maxPoints: number,
    epoch: number,
  ): [number[], ...Column[]] {
    const from = lowerBound(t, min);
    if (t.length - from <= maxPoints || maxPoints < 4) {
      this.bs = 0;
      return [t, ...cols];
    }
    // Two output points per bucket.
    const bs = Math.ceil((max - min) / (maxPoints / 2));
    const outT = this.t;
    if (bs !== this.bs || epoch !== this.epoch || this.cols.length !== cols.length) {
      this.bs = bs;
      this.epoch = epoch;
      this.cols = cols.map(() => []);
      outT.length = 0;
    }
    const outCols = this.cols;
    // Reopen the last bucket (it may have gained points) and drop buckets left of the window.
    let start = from;
    if (outT.length >= 2) {
      const lastBucket = outT[outT.length - 2]!;
      truncate(outT, outCols, outT.length - 2);
      start = Math.max(from, lowerBound(t, lastBucket));
      const keepFrom = lowerBound(outT, Math.floor(min / bs) * bs);
      if (keepFrom > 0) {
        outT.splice(0, keepFrom);
        for (const c of outCols) c.splice(0, keepFrom);
      }
    }
    let i = start;
    while (i < t.length) {
      const bucket = Math.floor(t[i]! / bs) * bs;
      let end = i;
      while (end < t.length && t[end]! < bucket + bs) end++;
      outT.push(bucket, bucket + bs / 2);
      for (let s = 0; s < cols.length; s++) pushMinMax(cols[s]!, i, end, outCols[s]!);
      i = end;
    }
    return [outT, ...outCols];
  }
}

function truncate(t: number[], cols: Column[], length: number): void {
  t.length = length;
  for (const c of cols) c.length = length;
}

/** Pushes a bucket's min and max, earlier one first; two nulls when it has no values. */
function pushMinMax(col: Column, from: number, to: number, out: Column): void {
  let lo: number | null = null;
  let hi: number | null = null;
  let loAt = 0;
  let hiAt = 0;
  for (let i = from; i < to; i++) {
    const v = col[i];
    if (v == null) continue;
    if (lo === null || v < lo) {
      lo = v;
      loAt = i;
    }
    if (hi === null || v > hi) {
      hi = v;
      hiAt = i;
    }
  }
  if (loAt <= hiAt) out.push(lo, hi);
  else out.push(hi, lo);
}

/** First index with t[i] >= x (t ascending). */
function lowerBound(t: number[], x: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
