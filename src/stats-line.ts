import type { Options } from './config/option-specs.js';
import type { Logger } from './log/logger.js';
import type { EventLoopMonitor } from './metrics/event-loop-monitor.js';
import type { SnapshotService } from './metrics/snapshot-service.js';
import type { TickPublisher } from './ws/tick-publisher.js';

/**
 * Every STATS_INTERVAL_S, one log line that says whether the server is healthy: rate,
 * clients, how many batched broadcasts went out and what they cost, event-loop delay.
 */
export class StatsLine {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly options: Options,
    private readonly snapshots: SnapshotService,
    private readonly publisher: TickPublisher,
    private readonly loop: EventLoopMonitor,
  ) {}

  start(): void {
    if (this.options.statsIntervalS === 0) return;
    this.timer = setInterval(() => this.write(), this.options.statsIntervalS * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private write(): void {
    const s = this.snapshots.latest;
    const t = this.publisher.stats;
    const round = (x: number) => Math.round(x * 100) / 100;
    this.log.info(
      {
        tps: s.tps,
        tpsSmoothed: s.tpsSmoothed,
        targetTps: s.pipeline.targetTps ?? 'max',
        clients: s.clients,
        broadcasts: t.costCount,
        tickMs: this.options.tickMs,
        publishMsAvg: t.costCount > 0 ? round(t.costSumMs / t.costCount) : 0,
        publishMsMax: round(t.costMaxMs),
        eventLoopDelayP99Ms: round(this.loop.p99Ms),
        inFlight: s.inFlight.pending + s.inFlight.processing,
        persistence: s.persistence,
      },
      `stats: ${s.tps} tx/s (target ${s.pipeline.targetTps ?? 'max'}), ${s.clients} clients, ${t.costCount} broadcasts every ${this.options.tickMs} ms`,
    );
    t.costSumMs = 0;
    t.costMaxMs = 0;
    t.costCount = 0;
  }
}
