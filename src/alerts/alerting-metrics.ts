import { Counter, Gauge, type Registry } from 'prom-client';
import { ALERT_STATES } from './alert-state.js';
import type { Alerting } from './alerting.js';

/**
 * Alerting in GET /metrics: rules and alerts by state, the evaluation cost, the event log,
 * and the Alertmanager push (so an unreachable Alertmanager shows up where people already
 * look: `pulseboard_alertmanager_up 0`, growing errors and queue). Read at scrape time.
 */
export function registerAlertingMetrics(registry: Registry, alerting: Alerting): void {
  const gauge = (
    name: string,
    help: string,
    collect: (g: Gauge) => void,
    labelNames: string[] = [],
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        collect(this);
      },
    });
  const seen = new Map<Counter, number>();
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read();
        const last = seen.get(this) ?? 0;
        if (v > last) this.inc(v - last);
        seen.set(this, v);
      },
    });

  gauge('pulseboard_alert_rules', 'Alert rules loaded.', (g) => g.set(alerting.evaluator.size));
  gauge(
    'pulseboard_alerts',
    'Alerts (rules, or sources of per-source rules) by state.',
    (g) => {
      const by = new Map<string, number>(ALERT_STATES.map((s) => [s, 0]));
      for (const r of alerting.evaluator.status())
        for (const s of r.series) by.set(s.state, (by.get(s.state) ?? 0) + 1);
      for (const [state, n] of by) g.set({ state }, n);
    },
    ['state'],
  );
  gauge(
    'pulseboard_alert_rules_evaluation_seconds',
    'Mean wall time of one evaluation of every rule (per tick, on the primary thread).',
    (g) => g.set(alerting.stats.meanEvalMs / 1000),
  );
  counter(
    'pulseboard_alert_events_total',
    'Alert state changes (published on the alerts topic and logged).',
    () => alerting.stats.events,
  );
  counter(
    'pulseboard_alert_events_dropped_total',
    'Alert state changes not stored: the event queue overflowed while the database was away.',
    () => alerting.events.status.dropped,
  );
  const am = alerting.alertmanager;
  if (!am) return;
  const st = am.status;
  gauge('pulseboard_alertmanager_up', '1 if the last push to Alertmanager succeeded.', (g) =>
    g.set(st.up ? 1 : 0),
  );
  gauge(
    'pulseboard_alertmanager_queue_length',
    'Alerts waiting to be pushed to Alertmanager.',
    (g) => g.set(st.queued),
  );
  counter(
    'pulseboard_alertmanager_alerts_sent_total',
    'Alerts Alertmanager accepted.',
    () => st.sent,
  );
  counter(
    'pulseboard_alertmanager_errors_total',
    'Failed pushes to Alertmanager (retried with backoff unless refused with a 4xx).',
    () => st.errors,
  );
  counter(
    'pulseboard_alertmanager_alerts_dropped_total',
    'Alerts given up: queue overflow, or refused by Alertmanager.',
    () => st.dropped,
  );
  gauge(
    'pulseboard_alertmanager_last_success_timestamp_seconds',
    'When Alertmanager last accepted a push (0: never).',
    (g) => g.set((st.lastSuccessAt ?? 0) / 1000),
  );
}
