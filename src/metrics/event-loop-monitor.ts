import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Event-loop delay of the primary thread (the bar: p99 < 5 ms at full load). The histogram
 * is rolled every `windowMs`; readers see the last complete window, so the figure is
 * stable between rolls instead of dropping to zero after each reset.
 *
 * Node 20's histogram records the whole timer interval, resolution included (at idle,
 * resolution 10 reads ~10.1 ms); we subtract the resolution to report the delay itself.
 */
const RESOLUTION_MS = 10;
const toDelayMs = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({
    resolution: RESOLUTION_MS,
  });
  private timer: NodeJS.Timeout;
  private lastP99Ms = 0;
  private lastMaxMs = 0;
  private lastMeanMs = 0;
  private rolled = false;

  constructor(windowMs = 10_000) {
    this.histogram.enable();
    this.timer = setInterval(() => this.roll(), windowMs);
    this.timer.unref();
  }

  get p99Ms(): number {
    // Before the first roll, report the live window.
    return this.rolled ? this.lastP99Ms : toDelayMs(this.histogram.percentile(99));
  }

  get maxMs(): number {
    return this.rolled ? this.lastMaxMs : toDelayMs(this.histogram.max);
  }

  get meanMs(): number {
    return this.rolled ? this.lastMeanMs : toDelayMs(this.histogram.mean);
  }

  private roll(): void {
    this.lastP99Ms = toDelayMs(this.histogram.percentile(99));
    this.lastMaxMs = toDelayMs(this.histogram.max);
    this.lastMeanMs = toDelayMs(this.histogram.mean);
    this.rolled = true;
    this.histogram.reset();
  }

  close(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
