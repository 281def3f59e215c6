import { RULE_METRICS, RULE_WINDOWS } from '../../src/alerts/rule-metrics.js';
import { type AlertRule, validateRule } from '../../src/alerts/rule-schema.js';

/**
 * A deterministic mix of `n` alert rules for the benchmarks, shaped like a real rule set:
 * mostly thresholds over all sources, some per source (one source, or every source: "*"),
 * relative changes and absences. Every rule goes through the real validator.
 */
export function benchRules(n: number, sources: readonly string[]): AlertRule[] {
  const windowed = (Object.keys(RULE_METRICS) as (keyof typeof RULE_METRICS)[]).filter(
    (m) => RULE_METRICS[m].windowed,
  );
  const perSource = windowed.filter((m) => RULE_METRICS[m].perSource);
  const rules: AlertRule[] = [];
  for (let i = 0; i < n; i++) {
    const w = RULE_WINDOWS[i % RULE_WINDOWS.length]!;
    const k = i % 20;
    let raw: Record<string, unknown>;
    if (k < 13) {
      raw = { metric: windowed[i % windowed.length], window: w, op: '>', threshold: 1e12 };
    } else if (k < 15) {
      raw = {
        metric: perSource[i % perSource.length],
        window: w,
        source: sources[i % sources.length],
        op: '>',
        threshold: 1e12,
        minCount: 10,
      };
    } else if (k === 15) {
      raw = {
        metric: perSource[i % perSource.length],
        window: w,
        source: '*',
        op: '>',
        threshold: 1e12,
      };
    } else if (k < 18) {
      raw = { kind: 'change', metric: 'tps', window: '1m', baseline: '5m', op: '<', ratio: 1e-9 };
    } else {
      raw = { kind: 'absence', source: sources[i % sources.length], absentFor: '24h' };
    }
    const v = validateRule({ alert: `Rule${i}`, for: '30s', ...raw }, { sources });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    rules.push(v.rule);
  }
  return rules;
}
