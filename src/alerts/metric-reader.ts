import {
  RULE_METRIC_NAMES,
  RULE_WINDOWS,
  type RuleMetric,
  type RuleWindow,
} from './rule-metrics.js';

/**
 * What rule evaluation reads: one value per (metric, window, source), refreshed once per
 * tick into a flat Float64Array. A rule is compiled to the slot indexes it reads, so
 * evaluating it is a few array reads and a comparison, whatever the transaction rate and
 * however the values were obtained. Only the implementation (snapshot-metric-reader.ts)
 * knows where values come from: a cluster-wide view or dynamic sources change that file,
 * not the rules.
 *
 *   values: [ metric ][ window: none | 1m | 5m | 1h ][ source: all | slot 0 … S-1 ]
 *
 * A source is its window-row slot (source-registry.ts): slots never change meaning, so a
 * compiled rule stays valid while sources are added.
 *
 * `secondsSinceLast` (per source or all) backs absence rules: seconds since the last
 * finished transaction.
 */

export type ReaderMetric = RuleMetric | 'secondsSinceLast';
export const READER_METRICS: readonly ReaderMetric[] = [...RULE_METRIC_NAMES, 'secondsSinceLast'];

/** Source index for "all sources together". */
export const ALL = -1;

export interface MetricReader {
  /** Tracked source names by slot (may grow between ticks). */
  readonly sources: readonly string[];
  /** The slot of source `name`, tracking it from now on if it is new. */
  slotOf(name: string): number;
  /** Values of the last refresh; NaN where there is none. */
  readonly values: Float64Array;
  /** The slot of (metric, window or null, source index or ALL); stable for the reader's life. */
  slot(metric: ReaderMetric, window: RuleWindow | null, source: number): number;
}

/** The slot arithmetic every MetricReader shares. */
export class MetricSlots {
  readonly values: Float64Array;
  private readonly metricIndex = new Map<ReaderMetric, number>(
    READER_METRICS.map((m, i) => [m, i]),
  );
  private readonly perWindow: number;

  /** `sourceSlots` source slots (default: one per name; SOURCE_SLOTS for a growing registry). */
  constructor(
    readonly sources: readonly string[],
    readonly sourceSlots = sources.length,
  ) {
    this.perWindow = sourceSlots + 1;
    this.values = new Float64Array(
      READER_METRICS.length * (RULE_WINDOWS.length + 1) * this.perWindow,
    );
    this.values.fill(Number.NaN);
  }

  slot(metric: ReaderMetric, window: RuleWindow | null, source: number): number {
    const m = this.metricIndex.get(metric);
    if (m === undefined) throw new Error(`unknown metric ${metric}`);
    const w = window === null ? 0 : RULE_WINDOWS.indexOf(window) + 1;
    if (source < ALL || source >= this.sourceSlots) throw new Error(`bad source ${source}`);
    return (m * (RULE_WINDOWS.length + 1) + w) * this.perWindow + source + 1;
  }

  set(metric: ReaderMetric, window: RuleWindow | null, source: number, v: number): void {
    this.values[this.slot(metric, window, source)] = v;
  }
}
