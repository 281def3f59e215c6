/**
 * Wire types the dashboard reads. The snapshot, history and transaction shapes are the
 * server's own declarations (types and a few constants are all that come from src/); the
 * rest mirrors the WebSocket and HTTP contract in DESIGN §5.
 */

export type {
  ClusterNodeSummary,
  HistoryMetric,
  HistoryResponse,
  MetricsSnapshot,
  SecondPoint,
  SourceMetrics,
  WindowMetrics,
  WindowName,
} from '../../src/metrics/snapshot-types.js';

import type { TxItem } from '../../src/pipeline/tx-item.js';

export {
  HISTORY_METRICS,
  WINDOW_NAMES,
  WINDOW_SECONDS,
} from '../../src/metrics/snapshot-types.js';
export type { TxItem };

/** Every server frame on `/ws`. `seq` counts up by one per topic; a jump means loss. */
export interface Frame<T = unknown> {
  topic: string;
  seq: number;
  /** Server epoch ms at send. */
  ts: number;
  data: T;
}

export interface TxFeedData {
  items: TxItem[];
  /** Completions this tick that were not sampled into the feed. */
  omitted: number;
}

export type {
  RuleEvent,
  RuleStatus,
  SeriesStatus,
} from '../../src/alerts/rule-evaluator.js';
export type { AlertRule } from '../../src/alerts/rule-schema.js';

import type { RuleEvent, RuleStatus } from '../../src/alerts/rule-evaluator.js';

/**
 * The `alerts` topic carries two kinds of frame: flagged transactions (`kind: "fraud"`,
 * older servers send no kind) and alert rule state changes (`kind: "rule"`, `events`).
 */
export interface AlertsData {
  kind?: 'fraud' | 'rule';
  items: TxItem[];
  /** Flagged transactions whose live alert did not fit (they are still persisted). */
  dropped: number;
  events?: RuleEvent[];
}

export interface RulesResponse {
  rules: RuleStatus[];
  /** Configured source names (what a rule's `source` may name). */
  sources: string[];
}

export interface AlertEventsResponse {
  from: number;
  to: number;
  items: RuleEvent[];
}

export interface ControlReply {
  ok: boolean;
  op?: string;
  topics?: string[];
  error?: { code: string; message: string };
}

export interface LoadTestStage {
  tps: number | 'max';
  seconds: number | null;
}

export interface LoadTestStatus {
  state: 'idle' | 'running' | 'completed' | 'stopped';
  scenario: string | null;
  stageIndex: number;
  stages: LoadTestStage[];
  stageElapsedS: number;
  progress: number | null;
  currentTps: number | null;
}

export type LoadTestRequest =
  | { tps: number }
  | { stages: { tps: number; seconds: number }[]; rampUpSeconds?: number }
  | { scenario: 'steady' | 'ramp' | 'demo' | 'max' };
