/**
 * Per-update render cost samples, measured with performance.now() by the page (pb-app.ts):
 * from the start of the update's animation frame callback to the end of its script, and to
 * the first task after the frame has rendered (after-frame.ts). Keeps the last `capacity`
 * samples; percentiles are computed only when someone reads them.
 */
export interface RenderStatsSummary {
  /** Updates measured since the last reset (percentiles cover the last `capacity` of them). */
  count: number;
  p50: number;
  p95: number;
  max: number;
  last: number;
}

export class RenderStats {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;
  private count = 0;
  private last = 0;

  constructor(capacity = 240) {
    this.samples = new Float64Array(capacity);
  }

  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    this.filled = Math.min(this.samples.length, this.filled + 1);
    this.count++;
    this.last = ms;
  }

  reset(): void {
    this.next = 0;
    this.filled = 0;
    this.count = 0;
    this.last = 0;
  }

  summary(): RenderStatsSummary {
    if (this.filled === 0) return { count: 0, p50: 0, p95: 0, max: 0, last: 0 };
    const sorted = this.samples.slice(0, this.filled).sort();
    // Nearest-rank percentile: the value at or below which p of the samples fall.
    const rank = (p: number) => sorted[Math.min(this.filled - 1, Math.ceil(p * this.filled) - 1)]!;
    return {
      count: this.count,
      p50: round(rank(0.5)),
      p95: round(rank(0.95)),
      max: round(sorted[this.filled - 1]!),
      last: round(this.last),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
