import { workerData } from 'node:worker_threads';
import { createLTTB } from 'downsample';
import mysql from 'mysql2/promise';
import { connectionOptions, type DbConfig } from '../../src/db/db-config.js';
import {
  isReadTimeout,
  type ReadLimit,
  type SqlFlavor,
  sqlFlavor,
  timedQuery,
} from '../../src/db/read-timeout.js';
import { readRollupBins } from '../../src/db/rollup-read.js';
import { encodeCursor, pageSql, txJson } from '../../src/db/transactions-query.js';
import type {
  HistoryTask,
  ReadLimits,
  ReadResult,
  ReadTask,
  TransactionsTask,
} from '../../src/history/read-tasks.js';
import { MAX_ROLLUP_BINS } from '../../src/history/read-tasks.js';
import { secondPoint, sourcePoint } from '../../src/metrics/bucket-row.js';
import type { SecondPoint } from '../../src/metrics/snapshot-types.js';
import { type FaultSpec, FaultTrigger } from '../../src/shared/fault-switch.js';
import { BUCKET_MASK } from '../../src/shared/metric-buckets.js';
import { B_SECOND, ROW_STRIDE } from '../../src/shared/window-row.js';

/**
 * A piscina read thread: GET /api/transactions pages and GET /api/history series, computed
 * here so the primary loop only parses the query string and writes the answer. History
 * reads the primary's closed seconds straight from shared memory (no copy) and older ranges
 * from the rollup table; LTTB (the `downsample` package, after Steinarsson 2013,
 * "Downsampling Time Series for Visual Representation") picks the points.
 */

/** Test-only: the thread dies after N reads (src/shared/fault-switch.ts). */
const fault = new FaultTrigger((workerData as { fault?: FaultSpec } | null)?.fault);
interface ReadDb {
  pool: mysql.Pool;
  /** Resolved once per pool: which statement-timeout syntax the server speaks. */
  flavor: Promise<SqlFlavor> | undefined;
}
const pools = new Map<string, ReadDb>();

/**
 * This thread's connections: at most its share of READ_DB_CONNECTIONS (the primary's
 * ReadGate bounds the reads running across all threads), one statement per query.
 */
async function readDb(
  db: DbConfig,
  limits: ReadLimits,
): Promise<{ pool: mysql.Pool; limit: ReadLimit }> {
  const key = `${db.user}@${db.host}:${db.port}/${db.database}`;
  let r = pools.get(key);
  if (!r) {
    r = {
      pool: mysql.createPool({
        ...connectionOptions(db),
        connectionLimit: limits.connectionsPerThread,
        maxIdle: 1,
      }),
      flavor: undefined,
    };
    pools.set(key, r);
  }
  const entry = r;
  // A failed detection (database down) is tried again by the next read.
  entry.flavor ??= sqlFlavor(entry.pool).catch((err: unknown) => {
    entry.flavor = undefined;
    throw err;
  });
  return { pool: entry.pool, limit: { timeoutMs: limits.timeoutMs, flavor: await entry.flavor } };
}

async function transactions(task: TransactionsTask & { limits: ReadLimits }): Promise<string> {
  const { pool, limit } = await readDb(task.db, task.limits);
  const q = task.query;
  const { page, scanEnd } = pageSql(q);
  const list = await timedQuery(pool, page.sql, page.values, limit);
  const items = list.slice(0, q.limit).map(txJson);
  let next: string | null = null;
  let scanLimited = false;
  if (list.length > q.limit) next = encodeCursor(q, String(list[q.limit - 1]![0]));
  else if (scanEnd !== null) {
    // Short page: did the scan run out of rows, or stop at SCAN_LIMIT?
    const end = await timedQuery(pool, scanEnd.sql, scanEnd.values, limit);
    const last = end[0];
    if (last !== undefined) {
      next = encodeCursor(q, String(last[0]));
      scanLimited = true;
    }
  }
  return JSON.stringify({ items, next, scanLimited });
}

const FIELD: Record<string, keyof SecondPoint> = {
  tps: 'count',
  failed: 'failed',
  flagged: 'flagged',
  volumeUsd: 'volumeUsd',
  avgMs: 'avgMs',
  p50Ms: 'p50Ms',
  p95Ms: 'p95Ms',
  p99Ms: 'p99Ms',
};
/** Sums become per-second rates in a bin of `step` seconds; averages stay as they are. */
const PER_SECOND: (keyof SecondPoint)[] = ['count', 'failed', 'flagged', 'volumeUsd'];

async function history(task: HistoryTask & { limits: ReadLimits }): Promise<string> {
  const slot = task.sourceSlot;
  const point = (row: Float64Array, off: number, second: number) =>
    slot === null ? secondPoint(row, off, second) : sourcePoint(row, off, second, slot);
  const fromS = Math.ceil(task.fromMs / 1000);
  const toS = Math.floor(task.toMs / 1000);
  let points: SecondPoint[] = [];
  let stepS = 1;
  if (task.db !== null && fromS < task.memFirst) {
    const dbTo = Math.min(toS, task.memFirst - 1);
    stepS = Math.max(1, Math.ceil((dbTo - fromS + 1) / MAX_ROLLUP_BINS));
    const { pool, limit } = await readDb(task.db, task.limits);
    const bins = await readRollupBins(pool, fromS, dbTo, stepS, task.sourceNames, limit);
    for (let i = 0; i < bins.seconds.length; i++) {
      const p = point(bins.rows, i * ROW_STRIDE, bins.seconds[i]!);
      if (stepS > 1) for (const k of PER_SECOND) (p[k] as number) = (p[k] as number) / stepS;
      points.push(p);
    }
  }
  const closed = new Float64Array(task.closed);
  const first = Math.max(
    fromS,
    task.db === null ? task.closedThrough - BUCKET_MASK : task.memFirst,
  );
  for (let s = first; s <= Math.min(toS, task.closedThrough); s++) {
    const off = (s & BUCKET_MASK) * ROW_STRIDE;
    if (closed[off + B_SECOND] === s) points.push(point(closed, off, s));
  }
  let downsampled = false;
  if (task.points !== null && points.length > task.points) {
    const y = FIELD[task.metrics[0]!]!;
    points = createLTTB<SecondPoint>({ x: 't', y: (p) => p[y] as number })(
      points,
      task.points,
    ) as SecondPoint[];
    downsampled = true;
  }
  const series: Record<string, number[]> = {};
  for (const m of task.metrics) series[m] = points.map((p) => p[FIELD[m]!] as number);
  return JSON.stringify({
    from: task.fromMs,
    to: task.toMs,
    t: points.map((p) => p.t),
    series,
    downsampled,
    stepS,
  });
}

export default async function run(task: ReadTask): Promise<ReadResult> {
  try {
    fault.count(1);
  } catch (err) {
    // Die the way a bug would: an uncaught throw outside the task, with the task unanswered.
    process.nextTick(() => {
      throw err;
    });
    return new Promise<never>(() => {});
  }
  try {
    const json = task.kind === 'transactions' ? await transactions(task) : await history(task);
    return { ok: true, json };
  } catch (err) {
    // The driver's message names hosts, ports, databases and SQL: the log gets it (detail),
    // the client gets the cause in our words.
    const e = err as Error & { code?: string; errno?: number };
    const detail = `${e.code ?? e.errno ?? ''} ${e.message}`.trim();
    if (isReadTimeout(e)) {
      return {
        ok: false,
        code: 'PB_ERR_DB_TIMEOUT',
        message: `the read ran longer than READ_TIMEOUT_MS (${task.limits.timeoutMs} ms) and was stopped; narrow it or retry later`,
        detail,
      };
    }
    return {
      ok: false,
      code: 'PB_ERR_DB_UNAVAILABLE',
      message: 'the database could not serve the read; retry later',
      detail,
    };
  }
}
