import { AlertSeries, type AlertStateName, compare, OPS } from './alert-state.js';
import { ALL, type MetricReader } from './metric-reader.js';
import {
  type AlertRule,
  describeRule,
  durationMs,
  EVERY_SOURCE,
  ruleThreshold,
  type Severity,
} from './rule-schema.js';

/**
 * Evaluates every rule against the MetricReader's values, once per tick, and returns the
 * state changes. Rules are compiled when set: each series (the rule, or one source of a
 * per-source rule) holds the slot index it reads, so the per-tick loop is array reads, a
 * comparison and AlertSeries.step — no allocation unless a state changes.
 *
 * Changing or deleting a rule ends its alerts (firing → resolved, pending → inactive); the
 * events are returned by the next evaluate(), so they go out with that tick's.
 */

export interface RuleEvent {
  rule: string;
  /** The source of a per-source series; null for a rule over all sources. */
  source: string | null;
  state: AlertStateName;
  previous: AlertStateName;
  /** Epoch ms of the evaluation that changed the state. */
  ts: number;
  /** The evaluated value (a change rule: current / baseline; absence: seconds); null if none. */
  value: number | null;
  threshold: number;
  /** When this episode began (pending), epoch ms; null once inactive. */
  activeAt: number | null;
  severity: Severity;
  /** The alert's labels: alertname, severity, source (per source) and the rule's labels. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The rule in one line ("failureRate[1m] of ach > 0.05 for 30s"). */
  expr: string;
}

export interface SeriesStatus {
  source: string | null;
  state: AlertStateName;
  value: number | null;
  activeAt: number | null;
  firedAt: number | null;
  resolvedAt: number | null;
}

/** A rule and the state of each of its series: GET /api/rules. */
export interface RuleStatus {
  rule: AlertRule;
  expr: string;
  threshold: number;
  series: SeriesStatus[];
}

export interface CompiledRule {
  readonly rule: AlertRule;
  readonly expr: string;
  readonly op: number;
  readonly threshold: number;
  /** `for` and `keepFiringFor` as the evaluations compare them (see dueMs). */
  readonly forMs: number;
  readonly keepMs: number;
  /** Slot of each series' value (and, for a change rule, of its baseline). */
  readonly slots: Int32Array;
  readonly base: Int32Array | null;
  /** With minCount: slot of each series' window count (the condition needs ≥ minCount). */
  readonly counts: Int32Array | null;
  readonly minCount: number;
  /** Some annotation has a `{{ … }}` to expand per event. */
  readonly templated: boolean;
  readonly series: AlertSeries[];
}

const num = (v: number): number | null => (Number.isFinite(v) ? v : null);

export class RuleEvaluator {
  private readonly byName = new Map<string, CompiledRule>();
  private compiled: CompiledRule[] = [];
  private readonly queued: RuleEvent[] = [];

  /**
   * `evaluationMs`: the interval the evaluations run at (the tick), or 0 when the caller's
   * timestamps are exact. Ticks come from a timer, and their timestamps are a few ms early or
   * late: four 500 ms ticks can add up to 1,999 ms, and a `for: 2s` compared as is would fire
   * a whole tick late (measured by bench:alert-latency, fire lag 500 ms in 1 round of 10).
   */
  constructor(
    private readonly reader: MetricReader,
    private readonly evaluationMs = 0,
  ) {}

  /**
   * A duration as the evaluations compare it: as on Prometheus's exact evaluation grid, it
   * has elapsed at the first evaluation ⌈d / interval⌉ intervals after it began; half an
   * interval less absorbs the timer's jitter without ever counting one evaluation too few.
   */
  private dueMs(d: number): number {
    const e = this.evaluationMs;
    return e === 0 || d === 0 ? d : Math.ceil(d / e) * e - e / 2;
  }

  get size(): number {
    return this.compiled.length;
  }

  /** Every rule, in the order they were added. */
  rules(): AlertRule[] {
    return this.compiled.map((c) => c.rule);
  }

  get(name: string): CompiledRule | undefined {
    return this.byName.get(name);
  }

  /** Sources the `source: "*"` rules were compiled for (they are recompiled as it grows). */
  private everySourceCount = 0;

  /** Adds or replaces a rule (a replaced rule's alerts end; its state starts afresh). */
  set(rule: AlertRule, ts = Date.now()): void {
    const old = this.byName.get(rule.alert);
    if (old) this.end(old, ts);
    const c = this.compile(rule);
    this.byName.set(rule.alert, c);
    this.compiled = old ? this.compiled.map((x) => (x === old ? c : x)) : [...this.compiled, c];
  }

  /** Removes a rule; its alerts end. False if there was none by that name. */
  remove(name: string, ts = Date.now()): boolean {
    const old = this.byName.get(name);
    if (!old) return false;
    this.end(old, ts);
    this.byName.delete(name);
    this.compiled = this.compiled.filter((x) => x !== old);
    return true;
  }

  private end(c: CompiledRule, ts: number): void {
    for (const s of c.series) {
      const prev = s.end(ts);
      if (prev !== null) this.queued.push(this.event(c, s, prev, ts));
    }
  }

  /**
   * Sources appeared since the `source: "*"` rules were compiled: recompiles them with a
   * series for each new source; the series of the sources they had keep their state.
   */
  private followNewSources(): void {
    const n = this.reader.sources.length;
    if (n === this.everySourceCount) return;
    this.everySourceCount = n;
    this.compiled = this.compiled.map((old) => {
      if (old.rule.source !== EVERY_SOURCE) return old;
      const c = this.compile(old.rule, old.series);
      this.byName.set(old.rule.alert, c);
      return c;
    });
  }

  private compile(rule: AlertRule, keep: readonly AlertSeries[] = []): CompiledRule {
    const r = this.reader;
    const sources: (string | null)[] =
      rule.source === EVERY_SOURCE ? [...r.sources] : [rule.source];
    // Slots of the registry (a named source not seen yet is tracked from now on).
    const index = (s: string | null) => (s === null ? ALL : r.slotOf(s));
    const kept = new Map(keep.map((s) => [s.source, s]));
    const slots = new Int32Array(sources.length);
    let base: Int32Array | null = null;
    let counts: Int32Array | null = null;
    let minCount = 0;
    let op: number;
    if (rule.kind === 'absence') {
      // Seconds since the last transaction ≥ absentFor.
      op = OPS.indexOf('>=');
      sources.forEach((s, k) => {
        slots[k] = r.slot('secondsSinceLast', null, index(s));
      });
    } else {
      op = OPS.indexOf(rule.op);
      sources.forEach((s, k) => {
        slots[k] = r.slot(rule.metric, rule.window, index(s));
      });
      if (rule.kind === 'change') {
        const b = new Int32Array(sources.length);
        sources.forEach((s, k) => {
          b[k] = r.slot(rule.metric, rule.baseline, index(s));
        });
        base = b;
      }
      if (rule.minCount > 0 && rule.window !== null) {
        // A change needs enough in its baseline to compare against; a threshold in its window.
        const w = rule.kind === 'change' ? rule.baseline : rule.window;
        const n = new Int32Array(sources.length);
        sources.forEach((s, k) => {
          n[k] = r.slot('count', w, index(s));
        });
        counts = n;
        minCount = rule.minCount;
      }
    }
    return {
      rule,
      expr: describeRule(rule),
      op,
      threshold: ruleThreshold(rule),
      forMs: this.dueMs(durationMs(rule.for)),
      keepMs: this.dueMs(durationMs(rule.keepFiringFor)),
      slots,
      base,
      counts,
      minCount,
      templated: Object.values(rule.annotations).some((a) => a.includes('{{')),
      series: sources.map((s) => kept.get(s) ?? new AlertSeries(s)),
    };
  }

  /** One evaluation of every rule at `ts` (the snapshot's time): the state changes. */
  evaluate(ts: number): RuleEvent[] {
    this.followNewSources();
    const out = this.queued.splice(0);
    const v = this.reader.values;
    const list = this.compiled;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      const { slots, base, counts, series } = c;
      for (let k = 0; k < series.length; k++) {
        let x = v[slots[k]!]!;
        if (base !== null) {
          // Relative change: the ratio to the baseline window (none while both are empty).
          const b = v[base[k]!]!;
          x = b > 0 ? x / b : x > 0 ? Number.POSITIVE_INFINITY : Number.NaN;
        }
        const s = series[k]!;
        s.value = x;
        const enough = counts === null || v[counts[k]!]! >= c.minCount;
        const prev = s.step(enough && compare(c.op, x, c.threshold), ts, c.forMs, c.keepMs);
        if (prev !== null) out.push(this.event(c, s, prev, ts));
      }
    }
    return out;
  }

  /** The alert's labels, as Alertmanager receives them (fixed by the rule: built once). */
  labels(c: CompiledRule, s: AlertSeries): Record<string, string> {
    if (s.labels) return s.labels;
    const l: Record<string, string> = {
      ...c.rule.labels,
      alertname: c.rule.alert,
      severity: c.rule.severity,
    };
    if (s.source !== null) l.source = s.source;
    s.labels = l;
    return l;
  }

  /** Annotations with `{{ $value }}` and `{{ $labels.name }}` expanded. */
  annotations(
    c: CompiledRule,
    s: AlertSeries,
    labels: Record<string, string>,
  ): Record<string, string> {
    if (!c.templated) return c.rule.annotations; // nothing to expand: share the rule's
    const out: Record<string, string> = {};
    const value = Number.isFinite(s.value) ? String(Math.round(s.value * 1000) / 1000) : 'none';
    for (const [k, text] of Object.entries(c.rule.annotations)) {
      out[k] = text.replace(
        /\{\{\s*\$(value|labels\.([A-Za-z_][A-Za-z0-9_]*))\s*\}\}/g,
        (_m, what: string, name?: string) => (what === 'value' ? value : (labels[name!] ?? '')),
      );
    }
    return out;
  }

  event(c: CompiledRule, s: AlertSeries, previous: AlertStateName, ts: number): RuleEvent {
    const labels = this.labels(c, s);
    return {
      rule: c.rule.alert,
      source: s.source,
      state: s.state,
      previous,
      ts,
      value: num(s.value),
      threshold: c.threshold,
      activeAt: s.state === 'inactive' ? null : s.activeAt,
      severity: c.rule.severity,
      labels,
      annotations: this.annotations(c, s, labels),
      expr: c.expr,
    };
  }

  /** Each rule with the state of each of its series (GET /api/rules, the dashboard). */
  status(): RuleStatus[] {
    return this.compiled.map((c) => ({
      rule: c.rule,
      expr: c.expr,
      threshold: c.threshold,
      series: c.series.map((s) => ({
        source: s.source,
        state: s.state,
        value: num(s.value),
        activeAt: s.activeAt || null,
        firedAt: s.firedAt || null,
        resolvedAt: s.resolvedAt || null,
      })),
    }));
  }

  /** Calls `fn` for every series that is firing or was resolved (Alertmanager re-sends). */
  forEachNotifiable(fn: (c: CompiledRule, s: AlertSeries) => void): void {
    for (const c of this.compiled)
      for (const s of c.series) if (s.state === 'firing' || s.state === 'resolved') fn(c, s);
  }
}
