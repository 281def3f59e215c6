/**
 * What an alert rule can read: every metric, whether it is per window and whether it is
 * held per source. One table, used by the validator (which refuses what is not held), the
 * metric reader (which fills the values), the docs and the dashboard's rule form. No
 * Node.js imports: the dashboard bundles this file.
 */

export const RULE_WINDOWS = ['1m', '5m', '1h'] as const;
export type RuleWindow = (typeof RULE_WINDOWS)[number];

export interface RuleMetricInfo {
  /** Read over a window (1m, 5m, 1h); false: an instantaneous value, no window. */
  readonly windowed: boolean;
  /** Held per source (the per-second rows keep it per source slot). */
  readonly perSource: boolean;
  readonly unit: string;
  readonly doc: string;
}

export const RULE_METRICS = {
  count: {
    windowed: true,
    perSource: true,
    unit: 'tx',
    doc: 'transactions finished (completed + failed) in the window',
  },
  failed: { windowed: true, perSource: true, unit: 'tx', doc: 'failed transactions in the window' },
  tps: {
    windowed: true,
    perSource: true,
    unit: 'tx/s',
    doc: 'mean transactions per second over the window (count / seconds covered)',
  },
  failureRate: {
    windowed: true,
    perSource: true,
    unit: 'ratio',
    doc: 'failed / count, 0..1 (0 while count is 0)',
  },
  volumeUsd: {
    windowed: true,
    perSource: true,
    unit: 'USD minor units',
    doc: 'money moved (completed transactions) in USD cents at the fixed demo rates',
  },
  avgMs: { windowed: true, perSource: false, unit: 'ms', doc: 'mean processing time' },
  p50Ms: { windowed: true, perSource: false, unit: 'ms', doc: 'median processing time' },
  p95Ms: { windowed: true, perSource: false, unit: 'ms', doc: '95th percentile processing time' },
  p99Ms: { windowed: true, perSource: false, unit: 'ms', doc: '99th percentile processing time' },
  flagged: {
    windowed: true,
    perSource: false,
    unit: 'tx',
    doc: 'transactions flagged by a fraud rule in the window',
  },
  inFlight: {
    windowed: false,
    perSource: false,
    unit: 'tx',
    doc: 'transactions pending or processing now',
  },
  writerLag: {
    windowed: false,
    perSource: false,
    unit: 'tx',
    doc: 'finished transactions not yet committed to the database (0 without persistence)',
  },
  ingestStreamLag: {
    windowed: false,
    perSource: false,
    unit: 'messages',
    doc: 'messages waiting in the JetStream ingest stream (reads 0 until that ingest exists)',
  },
} as const satisfies Record<string, RuleMetricInfo>;

export type RuleMetric = keyof typeof RULE_METRICS;
export const RULE_METRIC_NAMES = Object.keys(RULE_METRICS) as RuleMetric[];
export const PER_SOURCE_METRICS = RULE_METRIC_NAMES.filter((m) => RULE_METRICS[m].perSource);

export function isRuleMetric(name: unknown): name is RuleMetric {
  return typeof name === 'string' && Object.hasOwn(RULE_METRICS, name);
}
