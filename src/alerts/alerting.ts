import type { Options } from '../config/option-specs.js';
import type { DbConfig } from '../db/db-config.js';
import type { Logger } from '../log/logger.js';
import type { SnapshotService } from '../metrics/snapshot-service.js';
import { AlertEventLog } from './alert-event-log.js';
import type { AlertSeries } from './alert-state.js';
import { AlertmanagerClient, type PostableAlert } from './alertmanager-client.js';
import type { CompiledRule, RuleEvent } from './rule-evaluator.js';
import { RuleEvaluator } from './rule-evaluator.js';
import type { AlertRule } from './rule-schema.js';
import type { RulesFile } from './rules-file.js';
import { RulesStore } from './rules-store.js';
import { SnapshotMetricReader } from './snapshot-metric-reader.js';

/**
 * Alert rules on the primary thread, once per tick, right after the snapshot
 * (TickPublisher calls tick()): refresh the metric values, evaluate every rule, and hand
 * the state changes on — to the `alerts` topic in the same tick (the frame returned here),
 * to the event log (MySQL or memory), and to Alertmanager. Nothing here waits on I/O.
 *
 * Why the primary and not a worker: evaluation reads the snapshot the primary has just
 * built and costs well under a microsecond per rule (bench/micro/alert-rules.ts; the bar
 * is 1,000 rules in < 1 ms per tick), while a worker would need that snapshot copied to
 * it and the events copied back — a round trip that costs more than the evaluation and
 * would put the WebSocket event a tick later.
 */

/** Prometheus keeps a resolved alert this long, re-sending the resolution meanwhile. */
const RESOLVED_RETENTION_MS = 15 * 60_000;

export interface AlertingStats {
  rules: number;
  series: number;
  evaluations: number;
  /** Wall time of the last evaluation (refresh + every rule), ms. */
  lastEvalMs: number;
  /** Exponential moving average of the evaluation time, ms. */
  meanEvalMs: number;
  maxEvalMs: number;
  events: number;
}

export class Alerting {
  readonly evaluator: RuleEvaluator;
  readonly reader: SnapshotMetricReader;
  readonly events: AlertEventLog;
  readonly store: RulesStore;
  readonly alertmanager: AlertmanagerClient | null;
  readonly stats: AlertingStats = {
    rules: 0,
    series: 0,
    evaluations: 0,
    lastEvalMs: 0,
    meanEvalMs: 0,
    maxEvalMs: 0,
    events: 0,
  };
  private baseUrl = '';
  private lastResendScan = 0;
  private readonly resendMs: number;
  private readonly validMs: number;

  constructor(
    private readonly snapshots: SnapshotService,
    options: Options,
    db: DbConfig | null,
    private readonly log: Logger,
  ) {
    this.reader = new SnapshotMetricReader(snapshots);
    this.evaluator = new RuleEvaluator(this.reader, options.tickMs);
    this.events = new AlertEventLog(db, log, options.rollupRetentionDays);
    this.store = new RulesStore(db, log);
    this.alertmanager =
      options.alertmanagerUrl === '' ? null : new AlertmanagerClient(options.alertmanagerUrl, log);
    this.resendMs = options.alertmanagerResendS * 1000;
    // Prometheus: endsAt = now + 4 × max(resend delay, evaluation interval).
    this.validMs = 4 * Math.max(this.resendMs, options.tickMs);
    if (options.publicUrl !== '') this.baseUrl = options.publicUrl.replace(/\/+$/, '');
  }

  /** Loads the rules (database and/or file, rules-store.ts) into the evaluator. */
  async load(file: RulesFile | null): Promise<void> {
    const rules = await this.store.load(file, { sources: this.reader.sources });
    for (const r of rules) this.evaluator.set(r);
    this.log.info(
      { rules: rules.length, file: file?.path ?? null, persistent: this.store.persistent },
      'alert rules loaded',
    );
  }

  /** The dashboard's address for generatorURL (PUBLIC_URL, else the listen address). */
  setBaseUrl(url: string): void {
    if (this.baseUrl === '') this.baseUrl = url.replace(/\/+$/, '');
  }

  /** Stores and applies a rule (API). Throws PB_ERR_DB_UNAVAILABLE when it cannot store. */
  async put(rule: AlertRule): Promise<void> {
    await this.store.save(rule, 'api');
    this.evaluator.set(rule);
  }

  async remove(name: string): Promise<boolean> {
    if (!this.evaluator.get(name)) return false;
    await this.store.remove(name);
    return this.evaluator.remove(name);
  }

  /**
   * One evaluation, after the tick's snapshot. Returns the `alerts` frame data for the
   * state changes, or null when nothing changed.
   */
  tick(): string | null {
    try {
      return this.evaluateTick();
    } catch (err) {
      // A defect here must not stop the tick (metrics, feed and fraud alerts go on).
      if (!this.failedOnce) {
        this.failedOnce = true;
        this.log.error({ err: (err as Error).message }, 'alert rule evaluation failed');
      }
      return null;
    }
  }

  private failedOnce = false;

  private evaluateTick(): string | null {
    const t0 = performance.now();
    this.reader.refresh();
    const ts = this.snapshots.latest.ts;
    const events = this.evaluator.evaluate(ts);
    const ms = performance.now() - t0;
    const s = this.stats;
    s.evaluations++;
    s.lastEvalMs = ms;
    s.meanEvalMs = s.evaluations === 1 ? ms : s.meanEvalMs * 0.95 + ms * 0.05;
    if (ms > s.maxEvalMs) s.maxEvalMs = ms;
    s.rules = this.evaluator.size;
    if (this.alertmanager) this.notify(events, ts);
    if (events.length === 0) return null;
    s.events += events.length;
    this.events.record(events);
    // `items` and `dropped` keep clients written for fraud frames ({items, dropped}) working:
    // to them a rule frame is a tick without flagged transactions.
    return JSON.stringify({ kind: 'rule', events, items: [], dropped: 0 });
  }

  /** Alertmanager: state changes now, and re-sends as Prometheus does (needsSending). */
  private notify(events: RuleEvent[], ts: number): void {
    const out: PostableAlert[] = [];
    for (const e of events) {
      if (e.state !== 'firing' && e.state !== 'resolved') continue;
      const c = this.evaluator.get(e.rule);
      const series = c?.series.find((x) => x.source === e.source);
      if (series) series.lastSentAt = ts;
      out.push(this.postable(e.labels, e.annotations, e, ts));
    }
    if (ts - this.lastResendScan >= 1000) {
      this.lastResendScan = ts;
      this.evaluator.forEachNotifiable((c, series) => {
        if (!this.needsSending(series, ts)) return;
        series.lastSentAt = ts;
        const labels = this.evaluator.labels(c, series);
        out.push(this.postableOf(c, series, labels, ts));
      });
    }
    if (out.length > 0) this.alertmanager!.enqueue(out);
  }

  private needsSending(s: AlertSeries, ts: number): boolean {
    if (s.state === 'resolved') {
      if (ts - s.resolvedAt > RESOLVED_RETENTION_MS) return false;
      if (s.resolvedAt > s.lastSentAt) return true;
    }
    return ts - s.lastSentAt >= this.resendMs;
  }

  private postableOf(
    c: CompiledRule,
    s: AlertSeries,
    labels: Record<string, string>,
    ts: number,
  ): PostableAlert {
    const resolved = s.state === 'resolved';
    return {
      labels,
      annotations: this.evaluator.annotations(c, s, labels),
      startsAt: new Date(s.firedAt || s.activeAt || ts).toISOString(),
      endsAt: new Date(resolved ? s.resolvedAt : ts + this.validMs).toISOString(),
      generatorURL: this.generatorUrl(c.rule.alert),
    };
  }

  private postable(
    labels: Record<string, string>,
    annotations: Record<string, string>,
    e: RuleEvent,
    ts: number,
  ): PostableAlert {
    const c = this.evaluator.get(e.rule);
    const series = c?.series.find((x) => x.source === e.source);
    const firedAt = series?.firedAt || e.activeAt || ts;
    return {
      labels,
      annotations,
      startsAt: new Date(firedAt).toISOString(),
      endsAt: new Date(e.state === 'resolved' ? e.ts : ts + this.validMs).toISOString(),
      generatorURL: this.generatorUrl(e.rule),
    };
  }

  private generatorUrl(rule: string): string {
    return `${this.baseUrl}/?rule=${encodeURIComponent(rule)}`;
  }

  /** For /readyz detail: null when healthy (or off), else what is wrong. */
  alertmanagerProblem(): string | null {
    const s = this.alertmanager?.status;
    if (!s || s.up) return null;
    return `Alertmanager at ${s.url} failing for ${s.failingFor} attempt(s): ${s.lastError ?? 'unknown'}; ${s.queued} alert(s) queued`;
  }

  async close(timeoutMs: number): Promise<void> {
    this.alertmanager?.close();
    await this.events.close(timeoutMs);
    await this.store.close();
  }
}
