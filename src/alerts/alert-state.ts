/**
 * The state of one alert (a rule, or one source of a per-source rule), as Prometheus
 * defines it (rules/alerting.go, AlertingRule.Eval), evaluated once per tick:
 *
 *            condition true                 held for `for`
 *   inactive ───────────────► pending ──────────────────────► firing
 *      ▲  ▲                     │                               │ condition false
 *      │  └─────────────────────┘ condition false               │ (and for keepFiringFor
 *      │                          (never fired: no resolve)     │  more, if set)
 *      │                                                        ▼
 *      └──── (shown as) ◄──────────────────────────────────  resolved
 *                          condition true again → pending
 *
 * - `for: 0` goes from inactive to firing in the same evaluation, as in Prometheus.
 * - `resolved` is Prometheus' inactive state of an alert that had fired (it keeps it to
 *   send the resolution); for the condition it is the same as inactive.
 * - A value that is not a number (NaN: e.g. a change against an empty baseline) is a
 *   false condition, like an empty PromQL result.
 */

export const ALERT_STATES = ['inactive', 'pending', 'firing', 'resolved'] as const;
export type AlertStateName = (typeof ALERT_STATES)[number];

export class AlertSeries {
  state: AlertStateName = 'inactive';
  /** When the condition was first seen true in this episode (pending began), epoch ms. */
  activeAt = 0;
  firedAt = 0;
  resolvedAt = 0;
  /** When the condition turned false while firing (keepFiringFor counts from here). */
  keepFiringSince = 0;
  /** The last evaluated value (NaN: no value). */
  value = Number.NaN;
  /** Alertmanager bookkeeping: when this alert was last handed to the sender. */
  lastSentAt = 0;
  /** The alert's labels: fixed by its rule, built once by the evaluator. */
  labels: Record<string, string> | undefined;

  constructor(
    /** The source this series reads, or null for all sources together. */
    readonly source: string | null,
  ) {}

  /**
   * One evaluation at `ts`. Returns the previous state when the state changed, else null.
   * Cheap when nothing changes: that is the common case, every tick, for every rule.
   */
  step(active: boolean, ts: number, forMs: number, keepFiringForMs: number): AlertStateName | null {
    const before = this.state;
    if (active) {
      this.keepFiringSince = 0;
      if (before === 'inactive' || before === 'resolved') {
        this.state = 'pending';
        this.activeAt = ts;
        this.firedAt = 0;
        this.resolvedAt = 0;
      }
      if (this.state === 'pending' && ts - this.activeAt >= forMs) {
        this.state = 'firing';
        this.firedAt = ts;
      }
      return this.state === before ? null : before;
    }
    if (before === 'pending') {
      this.state = 'inactive';
      this.activeAt = 0;
      return before;
    }
    if (before === 'firing') {
      if (keepFiringForMs > 0) {
        if (this.keepFiringSince === 0) this.keepFiringSince = ts;
        if (ts - this.keepFiringSince < keepFiringForMs) return null;
      }
      this.state = 'resolved';
      this.resolvedAt = ts;
      this.keepFiringSince = 0;
      return before;
    }
    return null;
  }

  /** Ends the alert from outside (its rule was changed or deleted): firing → resolved. */
  end(ts: number): AlertStateName | null {
    const before = this.state;
    if (before === 'firing') {
      this.state = 'resolved';
      this.resolvedAt = ts;
      return before;
    }
    if (before === 'pending') {
      this.state = 'inactive';
      return before;
    }
    return null;
  }
}

/** Comparison operators as small integers, so the hot loop switches on a number. */
export const OPS = ['>', '>=', '<', '<=', '==', '!='] as const;

export function compare(op: number, v: number, threshold: number): boolean {
  if (Number.isNaN(v)) return false;
  switch (op) {
    case 0:
      return v > threshold;
    case 1:
      return v >= threshold;
    case 2:
      return v < threshold;
    case 3:
      return v <= threshold;
    case 4:
      return v === threshold;
    default:
      return v !== threshold;
  }
}
