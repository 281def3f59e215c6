/**
 * Wire types the dashboard reads. The metrics snapshot is the server's own declaration
 * (types, plus two small constants, are all that come from src/); the rest mirrors the
 * WebSocket and HTTP contract in DESIGN §5.
 */

export type {
  MetricsSnapshot,
  SecondPoint,
  SourceMetrics,
  WindowMetrics,
  WindowName,
} from '../../src/metrics/snapshot-types.js';
export { WINDOW_NAMES, WINDOW_SECONDS } from '../../src/metrics/snapshot-types.js';

/** Every server frame on `/ws`. `seq` counts up by one per topic; a jump means loss. */
export interface Frame<T = unknown> {
  topic: string;
  seq: number;
  /** Server epoch ms at send. */
  ts: number;
  data: T;
}

export type FlagRule = 'amount_over_threshold' | 'velocity' | 'unusual_pairing';

export interface TxItem {
  id: string;
  ref: string | null;
  source: string;
  account: string;
  type: string;
  /** Integer minor units of `currency`. */
  amount: number;
  currency: string;
  status: 'completed' | 'failed';
  failureReason: string | null;
  createdAt: number;
  completedAt: number;
  processingMs: number;
  flagged: boolean;
  flagRule: FlagRule | null;
  riskScore: number;
}

export interface TxFeedData {
  items: TxItem[];
  /** Completions this tick that were not sampled into the feed. */
  omitted: number;
}

export interface AlertsData {
  items: TxItem[];
  /** Flagged transactions whose live alert did not fit (they are still persisted). */
  dropped: number;
}

export interface ControlReply {
  ok: boolean;
  op?: string;
  topics?: string[];
  error?: { code: string; message: string };
}

export const HISTORY_METRICS = [
  'tps',
  'failed',
  'flagged',
  'volumeUsd',
  'avgMs',
  'p50Ms',
  'p95Ms',
  'p99Ms',
] as const;
export type HistoryMetric = (typeof HISTORY_METRICS)[number];

/** `GET /api/history`: columnar, so it drops straight into uPlot's data arrays. */
export interface HistoryResponse {
  from: number;
  to: number;
  t: number[];
  series: Partial<Record<HistoryMetric, (number | null)[]>>;
  downsampled: boolean;
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
