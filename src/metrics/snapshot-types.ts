import type { StreamFigures } from '../ingest/stream/stream-status.js';

/**
 * The shape of the metrics snapshot: the body of `GET /api/metrics` and the `data` of
 * every `metrics` WebSocket message. Field names are part of the public contract
 * (DESIGN §5); add fields, never rename them.
 */

export const WINDOW_NAMES = ['1m', '5m', '1h'] as const;
export type WindowName = (typeof WINDOW_NAMES)[number];
export const WINDOW_SECONDS: Record<WindowName, number> = { '1m': 60, '5m': 300, '1h': 3600 };

export interface WindowMetrics {
  /** Completed + failed transactions that finished inside the window. */
  count: number;
  failed: number;
  flagged: number;
  /** failed / count (0 when count is 0). */
  failureRate: number;
  successRate: number;
  /**
   * Integer minor units per ISO 4217 currency code. A JSON number is exact up to 2^53 − 1
   * (≈ 9.0·10^15); a currency above that is also in `volumeExact`.
   */
  volume: Record<string, number>;
  /** Only when a currency's volume passes 2^53 − 1: its exact value, as decimal digits. */
  volumeExact?: Record<string, string>;
  /** Every currency converted to USD minor units at the fixed demo rates (for ranking). */
  volumeUsd: number;
  avgMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** count / seconds covered (the window, or less right after start or reset). */
  avgTps: number;
}

export interface SourceMetrics {
  source: string;
  count: number;
  /** Failed transactions of this source in the window. */
  failed: number;
  volumeUsd: number;
}

/** One closed second, for charts: appended once, in order. */
export interface SecondPoint {
  /** Epoch ms at the start of the second. */
  t: number;
  count: number;
  failed: number;
  flagged: number;
  volumeUsd: number;
  avgMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export interface PipelineHealth {
  shards: number;
  /** Configured total simulator rate; null while running "as fast as possible". */
  targetTps: number | null;
  generated: number;
  completed: number;
  failed: number;
  flagged: number;
  /** Completions that were not sampled into the live `tx` feed (by design, capped per tick). */
  feedOmitted: number;
  /** Flagged transactions whose live alert did not fit the alert ring (persisted regardless). */
  alertsDropped: number;
  /** Shard loop iterations that could not generate because a ring or the in-flight pool was full. */
  throttled: number;
  /**
   * Ingested transactions whose second had already closed when they arrived (late
   * arrivals): stored, with their rollup at their own second (history), but not in the
   * live windows or the feed. Counted in `completed` too.
   */
  ingestLate: number;
  /**
   * Reads of a thread's open seconds that found no consistent copy and left it out (see
   * `partial`), plus closes that had to leave out a thread stuck mid-update for 10 s.
   */
  partialReads: number;
  /**
   * Completions counted one or more seconds after their own: the thread that finished them
   * stalled past their second's close (windows stay exact; only the second differs).
   */
  shiftedCompletions: number;
  /** Fill level 0..1 of the fullest transaction ring (0 when it has no consumer). */
  ringFill: number;
  /** Rows written to the database per second (0 while persistence is off). */
  dbRowsPerSec: number;
  /** Records completed but not yet durable in the database. */
  writerLag: number;
  /** Simulator rows the database refused for good, moved to the quarantine, since start. */
  dbRowsQuarantined: number;
  /** Ingested items the database refused for good (their requests answered 422), since start. */
  ingestItemsRefused: number;
  /** Ingest group commits retried after the database chose them as a deadlock victim, since start. */
  ingestDeadlockRetries: number;
  /** Busy share 0..1 of each shard thread. */
  shardUtilisation: number[];
  eventLoopDelayP99Ms: number;
  /** Mean wall time of one tick's encode + publish, ms. */
  publishCostMs: number;
  /** WebSocket clients dropped since start for passing WS_MAX_BACKPRESSURE (slow consumers). */
  wsSlowConsumersDropped: number;
  /** Refused since start, by reason (src/http/auth.ts). */
  rejected: RejectedFigures;
}

export interface RejectedFigures {
  /** Missing or wrong token, HTTP and /ws (401/403). */
  auth: number;
  /** Refused unchecked after AUTH_FAILURE_LIMIT wrong tokens from one address (429). */
  authThrottled: number;
  /** Host header not allowed (ALLOWED_HOSTS; DNS rebinding), HTTP and /ws. */
  host: number;
  /** WebSocket upgrades from a foreign Origin. */
  origin: number;
  /** State-changing HTTP requests from a foreign Origin (CSRF). */
  httpOrigin: number;
  /** Ingest requests over INGEST_RATE_LIMIT (429). */
  rateLimited: number;
  /** WebSocket upgrades over WS_MAX_CONNECTIONS (503). */
  wsConnections: number;
  /** WebSocket upgrades over WS_MAX_CONNECTIONS_PER_ADDRESS (429). */
  wsPerAddress: number;
}

export interface MetricsSnapshot {
  /** Epoch ms when the snapshot was taken. */
  ts: number;
  /** Completions in the last full second. */
  tps: number;
  /** Mean completions per second over the last 10 full seconds. */
  tpsSmoothed: number;
  windows: Record<WindowName, WindowMetrics>;
  inFlight: { pending: number; processing: number };
  /**
   * Per window, the TOP_SOURCES sources with the most transactions and the TOP_SOURCES with
   * the most USD volume (by count, highest first; `other` is the sources past SOURCES_MAX).
   * Every source's figures: `source/<name>`.
   */
  topSources: Record<WindowName, SourceMetrics[]>;
  persistence: 'on' | 'off';
  clients: number;
  /**
   * null when the windows are exact. Otherwise the threads (indexes: simulator shards
   * 0…shards-1, then the ingest thread) whose open seconds (the current and previous one)
   * could not be copied consistently at this instant and are left out of the windows, `tps`
   * and `topSources`; their `pipeline` counters are from their last consistent copy.
   */
  partial: { shards: number[] } | null;
  pipeline: PipelineHealth;
  /**
   * The JetStream door (INGEST_STREAM; src/ingest/stream/): state, lag (messages not yet
   * acknowledged: pending + ackPending), dead letters. null when off.
   */
  stream: StreamFigures | null;
  /** Seconds that closed since the previous snapshot (usually 0 or 1), oldest first. */
  seconds: SecondPoint[];
  /**
   * Cluster mode only (NATS_URL set; absent otherwise). "cluster": windows, tps, topSources,
   * inFlight, clients and seconds are the whole cluster's (merged from every live node's
   * partials); `pipeline` stays this node's. "local": this node is cut off from NATS, and
   * every figure is its own.
   */
  scope?: 'cluster' | 'local';
  /** Cluster mode: the id (NODE_ID) of the node that built this snapshot. */
  node?: number;
  /** Cluster mode: every node heard of in the last hour, by id. */
  nodes?: ClusterNodeSummary[];
  /** Cluster mode: what this node sends on NATS (bytes of its per-tick partial). */
  backplane?: {
    partialBytes: number;
    meanPartialBytes: number;
    partialsSent: number;
    partialsReceived: number;
    /** Partials it could not read (another version's wire format, or corrupt). */
    partialsRefused: number;
  };
}

export interface ClusterNodeSummary {
  id: number;
  /** "down": silent for more than CLUSTER_DOWN_TICKS ticks. */
  status: 'up' | 'down';
  /** Completions in its last full second (0 when down). */
  tps: number;
  /** Its WebSocket clients (0 when down). */
  clients: number;
  /** Epoch ms of its latest partial. */
  lastSeen: number;
}

/** The series `GET /api/history?metric=…` serves (per closed second; `tps` is the count). */
/**
 * Sources listed per window in the snapshot. The snapshot goes to every client every tick:
 * 256 tracked sources would add ~50 KB to each frame, for a panel that shows the first few.
 */
export const TOP_SOURCES = 20;

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

/** `GET /api/history`: columnar, so it drops straight into a chart's data arrays. */
export interface HistoryResponse {
  from: number;
  to: number;
  /** Epoch ms of each point. */
  t: number[];
  series: Partial<Record<HistoryMetric, (number | null)[]>>;
  downsampled: boolean;
  /** Seconds per point before downsampling. */
  stepS?: number;
}
