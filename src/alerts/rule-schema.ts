/**
 * The alert rule format and its validation: one function for the rules file, the API and
 * the dashboard's form, so all three accept and refuse exactly the same rules with the
 * same messages. Each problem names the rule and the field. No Node.js imports and no
 * validation library: the dashboard bundles this file as it is.
 *
 * Conventions follow Prometheus alerting rules: `alert` is the name (and the `alertname`
 * label), `for` is the pending period, `keepFiringFor` the hysteresis, `labels` are added
 * to the alert's labels, `annotations` carry the text (`{{ $value }}` and
 * `{{ $labels.source }}` are expanded). Severity is Prometheus' customary `severity` label.
 *
 *   kind       fires while                                     fields
 *   threshold  metric[window] <op> threshold                   metric, window, op, threshold
 *   change     metric[window] <op> ratio × metric[baseline]    metric, window, baseline, op, ratio
 *   absence    no transaction (from `source`) for absentFor    absentFor
 *
 * `minCount` (threshold and change on a windowed metric): the condition is false while the
 * window (for a change, the baseline window) holds fewer transactions, so a rate over three
 * transactions does not page anyone.
 *
 * `source`: omitted = all sources together; a name = that source (any valid name: it is
 * tracked from then on); "*" = every tracked source, those that appear later included, each
 * evaluated (and alerting) separately, with a `source` label.
 */

import { SOURCE_NAME, SOURCE_NAME_RULE } from '../shared/source-name.js';
import {
  isRuleMetric,
  PER_SOURCE_METRICS,
  RULE_METRIC_NAMES,
  RULE_METRICS,
  RULE_WINDOWS,
  type RuleMetric,
  type RuleWindow,
} from './rule-metrics.js';

export const RULE_KINDS = ['threshold', 'change', 'absence'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
/** `source: "*"`: every configured source, each its own alert. */
export const EVERY_SOURCE = '*';

export interface RuleCommon {
  alert: string;
  source: string | null;
  /** Canonical durations ("30s", "1m30s"); durationMs() reads them. */
  for: string;
  keepFiringFor: string;
  severity: Severity;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface ThresholdRule extends RuleCommon {
  kind: 'threshold';
  metric: RuleMetric;
  window: RuleWindow | null;
  op: Comparison;
  threshold: number;
  /** The condition is false while the window (same source) holds fewer transactions. */
  minCount: number;
}
export interface ChangeRule extends RuleCommon {
  kind: 'change';
  metric: RuleMetric;
  window: RuleWindow;
  baseline: RuleWindow;
  op: Comparison;
  ratio: number;
  /** The condition is false while the baseline window (same source) holds fewer. */
  minCount: number;
}
export interface AbsenceRule extends RuleCommon {
  kind: 'absence';
  absentFor: string;
}
export type AlertRule = ThresholdRule | ChangeRule | AbsenceRule;

export interface RuleProblem {
  /** The rule's `alert` name, when it has a usable one. */
  rule: string | null;
  field: string;
  message: string;
}

export type RuleValidation = { ok: true; rule: AlertRule } | { ok: false; problems: RuleProblem[] };

export interface RuleContext {
  /** The sources tracked now (named in the message for a bad `source`). */
  sources: readonly string[];
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Set by the rule itself, so not allowed in `labels`. */
const RESERVED_LABELS = new Set(['alertname', 'severity', 'source']);
const MAX_LABELS = 20;
const MAX_LABEL_VALUE = 256;
const MAX_ANNOTATION_VALUE = 4096;
const MAX_DURATION_MS = 24 * 3600 * 1000;

const COMMON_FIELDS = [
  'alert',
  'kind',
  'source',
  'for',
  'keepFiringFor',
  'severity',
  'labels',
  'annotations',
];
const KIND_FIELDS: Record<RuleKind, string[]> = {
  threshold: ['metric', 'window', 'op', 'threshold', 'minCount'],
  change: ['metric', 'window', 'baseline', 'op', 'ratio', 'minCount'],
  absence: ['absentFor'],
};

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [86_400_000, 3_600_000, 60_000, 1000, 1];

/** Prometheus-style duration ("90s", "1m30s", "500ms", "2h") or a number of seconds → ms. */
export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : null;
  if (typeof v !== 'string' || v === '') return null;
  const m = DURATION.exec(v.trim());
  if (!m) return null;
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) ms += Number(m[i + 1] ?? 0) * UNIT_MS[i]!;
  return ms;
}

/** ms → canonical duration string ("0s", "1m30s", "250ms"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let left = ms;
  let out = '';
  for (const [i, unit] of ['d', 'h', 'm', 's', 'ms'].entries()) {
    const n = Math.floor(left / UNIT_MS[i]!);
    if (n > 0) out += `${n}${unit}`;
    left -= n * UNIT_MS[i]!;
  }
  return out;
}

export function durationMs(canonical: string): number {
  return parseDuration(canonical) ?? 0;
}

/** One line per problem, the same for the file, the API and the dashboard. */
export function describeProblem(p: RuleProblem): string {
  return `rule ${p.rule === null ? '(unnamed)' : JSON.stringify(p.rule)}: field "${p.field}" ${p.message}`;
}

const list = (a: readonly string[]) => a.join(', ');

export function validateRule(raw: unknown, ctx: RuleContext): RuleValidation {
  const problems: RuleProblem[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      problems: [{ rule: null, field: '(rule)', message: 'must be an object' }],
    };
  }
  // null is "not given" (the API returns normalized rules with null for what is unset, and
  // a rule read back must validate as it was written).
  const r = Object.fromEntries(
    Object.entries(raw as Record<string, unknown>).filter(([, v]) => v !== null),
  );
  const name = typeof r.alert === 'string' && NAME.test(r.alert) ? r.alert : null;
  const bad = (field: string, message: string) => problems.push({ rule: name, field, message });

  if (r.alert === undefined || r.alert === '') bad('alert', 'is required (the rule name)');
  else if (name === null)
    bad('alert', 'must start with a letter: letters, digits, _ . - (at most 64)');

  const kind = (r.kind ?? 'threshold') as RuleKind;
  if (!RULE_KINDS.includes(kind)) {
    bad('kind', `must be one of ${list(RULE_KINDS)}`);
    return { ok: false, problems };
  }
  const allowed = new Set([...COMMON_FIELDS, ...KIND_FIELDS[kind]]);
  for (const key of Object.keys(r)) {
    if (!allowed.has(key))
      bad(key, `is not a field of a ${kind} rule (fields: ${list([...allowed])})`);
  }

  const duration = (field: string, min: number, dflt: number): string => {
    const v = r[field];
    if (v === undefined) return formatDuration(dflt);
    const ms = parseDuration(v);
    if (ms === null || ms < min || ms > MAX_DURATION_MS) {
      bad(
        field,
        `must be a duration from ${formatDuration(min)} to 24h, like "30s", "5m" or "1h30m" (or seconds as a number)`,
      );
      return formatDuration(dflt);
    }
    return formatDuration(ms);
  };

  const window = (field: string, required: boolean): RuleWindow | null => {
    const v = r[field];
    if (v === undefined) {
      if (required) bad(field, `is required: one of ${list(RULE_WINDOWS)}`);
      return null;
    }
    if (!(RULE_WINDOWS as readonly unknown[]).includes(v)) {
      bad(field, `must be one of ${list(RULE_WINDOWS)}`);
      return null;
    }
    return v as RuleWindow;
  };

  // Which sources the rule reads: none (all together), one, or each of them.
  let source: string | null = null;
  if (r.source !== undefined) {
    if (r.source === EVERY_SOURCE) source = EVERY_SOURCE;
    // Any valid name: a source producers have not sent yet is tracked once they do (or
    // when the rule is set, source-registry.ts), and reads 0 until then.
    else if (typeof r.source === 'string' && SOURCE_NAME.test(r.source)) source = r.source;
    else
      bad(
        'source',
        `must be "*" (every source) or a source name, ${SOURCE_NAME_RULE} (tracked now: ${list(ctx.sources)})`,
      );
  }

  let metric: RuleMetric | null = null;
  let win: RuleWindow | null = null;
  if (kind !== 'absence') {
    if (r.metric === undefined) bad('metric', `is required: one of ${list(RULE_METRIC_NAMES)}`);
    else if (!isRuleMetric(r.metric)) bad('metric', `must be one of ${list(RULE_METRIC_NAMES)}`);
    else metric = r.metric;
    const info = metric ? RULE_METRICS[metric] : null;
    if (info && !info.windowed) {
      if (kind === 'change')
        bad('metric', `${metric} has no window to compare: a change rule needs a windowed metric`);
      else if (r.window !== undefined)
        bad('window', `must be omitted: ${metric} is an instantaneous value, not a window`);
    } else win = window('window', metric !== null);
    if (info && source !== null && !info.perSource) {
      bad(
        'source',
        `${metric} is not held per source; per-source metrics: ${list(PER_SOURCE_METRICS)}`,
      );
    }
    if (!(COMPARISONS as readonly unknown[]).includes(r.op))
      bad('op', `must be one of ${list(COMPARISONS)}`);
  }

  const finite = (field: string, positive: boolean): number => {
    const v = r[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) {
      bad(field, positive ? 'must be a number above 0' : 'must be a finite number');
      return 0;
    }
    return v;
  };

  let minCount = 0;
  if (r.minCount !== undefined) {
    const v = r.minCount;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      bad('minCount', 'must be a whole number ≥ 0');
    else if (v > 0 && metric !== null && !RULE_METRICS[metric].windowed)
      bad('minCount', `must be omitted: ${metric} has no window to count in`);
    else minCount = v;
  }

  const common = {
    alert: name ?? '',
    source,
    for: duration('for', 0, 0),
    keepFiringFor: duration('keepFiringFor', 0, 0),
    severity: 'warning' as Severity,
    labels: stringMap(r.labels, 'labels', MAX_LABEL_VALUE, bad, true),
    annotations: stringMap(r.annotations, 'annotations', MAX_ANNOTATION_VALUE, bad, false),
  };
  if (r.severity !== undefined) {
    if ((SEVERITIES as readonly unknown[]).includes(r.severity))
      common.severity = r.severity as Severity;
    else bad('severity', `must be one of ${list(SEVERITIES)}`);
  }

  let rule: AlertRule;
  if (kind === 'threshold') {
    rule = {
      ...common,
      kind,
      metric: metric!,
      window: win,
      op: r.op as Comparison,
      threshold: finite('threshold', false),
      minCount,
    };
  } else if (kind === 'change') {
    const baseline = window('baseline', true);
    if (baseline !== null && baseline === win)
      bad('baseline', 'must be another window than `window` (compare 1m against 5m, say)');
    rule = {
      ...common,
      kind,
      metric: metric!,
      window: win!,
      baseline: baseline!,
      op: r.op as Comparison,
      ratio: finite('ratio', true),
      minCount,
    };
  } else {
    if (r.absentFor === undefined) bad('absentFor', 'is required: a duration like "60s"');
    rule = { ...common, kind, absentFor: duration('absentFor', 1000, 60_000) };
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, rule };
}

function stringMap(
  v: unknown,
  field: string,
  maxValue: number,
  bad: (field: string, message: string) => void,
  isLabels: boolean,
): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    bad(field, 'must be a map of names to strings');
    return {};
  }
  const out: Record<string, string> = {};
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_LABELS) bad(field, `has more than ${MAX_LABELS} entries`);
  for (const [k, value] of entries) {
    const at = `${field}.${k}`;
    if (!LABEL_NAME.test(k) || k.startsWith('__'))
      bad(at, 'is not a valid name: letters, digits and _, not starting with a digit or __');
    else if (isLabels && RESERVED_LABELS.has(k))
      bad(at, 'is set by the rule itself (alertname, severity, source): use the rule field');
    else if (typeof value !== 'string') bad(at, 'must be a string');
    else if (value.length > maxValue) bad(at, `is longer than ${maxValue} characters`);
    else out[k] = value;
  }
  return out;
}

/** What the rule compares against, for display: threshold, ratio, or seconds of absence. */
export function ruleThreshold(rule: AlertRule): number {
  if (rule.kind === 'threshold') return rule.threshold;
  if (rule.kind === 'change') return rule.ratio;
  return durationMs(rule.absentFor) / 1000;
}

/** One line a person reads: "failureRate[1m] of card-pos > 0.05 for 30s". */
export function describeRule(rule: AlertRule): string {
  const of =
    rule.source === null
      ? ''
      : rule.source === EVERY_SOURCE
        ? ' of each source'
        : ` of ${rule.source}`;
  const hold = rule.for === '0s' ? '' : ` for ${rule.for}`;
  if (rule.kind === 'threshold') {
    const w = rule.window ? `[${rule.window}]` : '';
    return `${rule.metric}${w}${of} ${rule.op} ${rule.threshold}${hold}`;
  }
  if (rule.kind === 'change')
    return `${rule.metric}[${rule.window}]${of} ${rule.op} ${rule.ratio} × ${rule.metric}[${rule.baseline}]${hold}`;
  return `no transaction${of.replace(' of', ' from')} for ${rule.absentFor}${hold}`;
}
