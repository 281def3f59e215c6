import { resolve } from 'node:path';
import mysql from 'mysql2/promise';
import type { Options } from '../config/option-specs.js';
import { connectionOptions, type DbConfig, dbConfigFrom, describeDb } from '../db/db-config.js';
import { migrate } from '../db/migrate.js';
import { sqlFlavor } from '../db/read-timeout.js';
import { recentSourceNames } from '../db/recent-sources.js';
import { runRetention } from '../db/retention.js';
import { type RollupBins, readRollupBins } from '../db/rollup-read.js';
import { PulseboardError } from '../errors.js';
import type { IngestCommitStatus } from '../ingest/ingest-service.js';
import type { Logger } from '../log/logger.js';
import type { Shard } from '../pipeline/shard-pool.js';
import { ShardMetrics } from '../shared/metric-buckets.js';
import { SOURCE_NAME } from '../shared/source-name.js';
import type { SourceRegistry } from '../shared/source-registry.js';
import { copyRows, ROW_STRIDE } from '../shared/window-row.js';
import type { Supervision } from '../supervise/supervisor.js';
import { WriterPool } from './writer-pool.js';

/**
 * The primary's persistence state: decides at start whether persistence is on
 * (PERSISTENCE=auto|required|off), runs migrations, owns the writer threads, watches the
 * database (ping) for readiness, runs retention on a schedule, and reports the
 * persistence figures of the snapshot.
 */

const PING_EVERY_MS = 2000;
const RETENTION_EVERY_MS = 3_600_000;
/** Seconds of rollups loaded back into the windows at start: the 1 h window and its edge. */
const RELOAD_SECONDS = 3600 + 2;

export interface PersistenceFigures {
  on: boolean;
  dbRowsPerSec: number;
  writerLag: number;
  ringFill: number;
  /** Simulator rows the database refused for good, now in the quarantine (since start). */
  dbRowsQuarantined: number;
  /** Ingested items the database refused for good, answered 422 (since start). */
  ingestItemsRefused: number;
  /** Ingest group commits retried as a deadlock victim, since start. */
  ingestDeadlockRetries: number;
}

export class Persistence {
  readonly writers: WriterPool | undefined;
  private reachable = true;
  /**
   * The ping's one connection. Pings never overlap (the next is scheduled when one ends, and
   * a ping waits up to the connect timeout plus PING_EVERY_MS), so there is never a second
   * monitor connection, nor one opened after close().
   */
  private monitor: mysql.Connection | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private timers: NodeJS.Timeout[] = [];
  private lastRows = 0;
  private lastRowsAt = performance.now();
  private rowsPerSec = 0;
  /** Rollups of the last hour, read at start, written into shard 0's buckets before it runs. */
  private reload: RollupBins | undefined;
  /** The ingest thread's commit state, once it runs (attachIngest). */
  private ingest: (() => IngestCommitStatus) | undefined;

  private constructor(
    readonly on: boolean,
    readonly db: DbConfig | undefined,
    private readonly options: Options,
    private readonly log: Logger,
    readonly rowFormat: 'load' | 'insert' = 'insert',
    supervision?: Supervision,
  ) {
    if (on && db) {
      this.writers = new WriterPool(
        {
          db,
          writers: options.dbWriters,
          connections: options.dbConnections,
          batchSize: options.dbBatchSize,
          flushMs: options.dbFlushMs,
          sourceNames: options.sources,
          rowFormat,
          quarantineFile: resolve(options.dbQuarantineFile),
          node: options.nodeId ?? 0,
        },
        log,
        supervision,
      );
    }
  }

  /** Checks the database and migrates it; decides on/off from PERSISTENCE. */
  static async open(
    options: Options,
    log: Logger,
    sources: SourceRegistry,
    supervision?: Supervision,
  ): Promise<Persistence> {
    if (options.persistence === 'off') {
      log.warn('persistence is OFF (PERSISTENCE=off): transactions are not stored');
      return new Persistence(false, undefined, options, log);
    }
    const db = dbConfigFrom(options);
    try {
      const m = await migrate(db);
      const rowFormat = await chooseRowFormat(db, options.dbWriteMethod);
      log.info(
        { db: describeDb(db), schemaVersion: m.version, applied: m.applied, rowFormat },
        'database ready',
      );
      const p = new Persistence(true, db, options, log, rowFormat, supervision);
      await p.readRecentRollups(sources);
      return p;
    } catch (err) {
      const e = err as Error & { code?: string };
      const why = `${describeDb(db)}: ${e.code ? `${e.code} ` : ''}${e.message}`;
      if (options.persistence === 'required') {
        throw new PulseboardError(
          'PB_ERR_DB_UNREACHABLE',
          `PERSISTENCE=required but the database is not usable (${why}); start MySQL/MariaDB or set MYSQL_URL`,
        );
      }
      log.warn(
        { db: describeDb(db), err: e.message, code: e.code },
        '!!! PERSISTENCE IS OFF: the database is unreachable at start; transactions will NOT be stored (set PERSISTENCE=required to refuse to start instead) !!!',
      );
      return new Persistence(false, undefined, options, log);
    }
  }

  /**
   * ShardPool start hook, before the shard's thread runs: claims the writers' consumer slot
   * on its ring, and gives shard 0 the reloaded hour of rollups (history across restarts).
   */
  readonly beforeShard = (shard: Shard): void => {
    this.writers?.claimRing(shard);
    if (shard.index === 0 && this.reload) {
      writeBins(shard.metrics, this.reload);
      this.reload = undefined;
    }
  };

  /**
   * Reads the last hour of per-second rollups (RELOAD_SECONDS up to the second before now),
   * so 1 h charts and windows are continuous across a restart. The writers upsert a second's
   * rollup with every batch, so what is read is everything committed before the restart.
   */
  private async readRecentRollups(sources: SourceRegistry): Promise<void> {
    const nowSecond = Math.floor(Date.now() / 1000);
    let conn: mysql.Connection | undefined;
    try {
      conn = await mysql.createConnection(connectionOptions(this.db!));
      const started = performance.now();
      const limit = { timeoutMs: this.options.readTimeoutMs, flavor: await sqlFlavor(conn) };
      // The sources of the last hour are known again, first seen first, before the windows
      // are read (their rows then land in their own slots, not in `other`).
      const recent = await recentSourceNames(
        conn,
        nowSecond - RELOAD_SECONDS,
        sources.capacity,
        limit,
      );
      for (const name of recent) if (SOURCE_NAME.test(name)) sources.slotOf(name);
      // A cluster node's windows are its own contribution, and the rollups hold every
      // node's: the cluster's last hour comes from the partials' stream (src/cluster/).
      if (this.options.natsUrl !== '') return;
      this.reload = await readRollupBins(
        conn,
        nowSecond - RELOAD_SECONDS,
        nowSecond - 1,
        1,
        sources.names(),
        limit,
      );
      this.log.info(
        {
          seconds: this.reload.seconds.length,
          sources: sources.count,
          ms: Math.round(performance.now() - started),
        },
        'reloaded the last hour of per-second rollups into the windows',
      );
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'could not reload the last hour of rollups; 1 h windows start empty',
      );
    } finally {
      await conn?.end().catch(() => conn?.destroy());
    }
  }

  /** Starts writers, the reachability ping and the retention schedule. */
  start(): void {
    if (!this.on || !this.writers || !this.db) return;
    this.writers.start();
    this.schedulePing();
    void this.retention();
    this.timers.push(setInterval(() => void this.retention(), RETENTION_EVERY_MS));
  }

  /** Lets /readyz and the snapshot see the ingest thread's group commit. */
  attachIngest(status: () => IngestCommitStatus): void {
    this.ingest = status;
  }

  figures(): PersistenceFigures {
    if (!this.writers)
      return {
        on: false,
        dbRowsPerSec: 0,
        writerLag: 0,
        ringFill: 0,
        dbRowsQuarantined: 0,
        ingestItemsRefused: 0,
        ingestDeadlockRetries: 0,
      };
    const st = this.writers.status();
    const now = performance.now();
    if (now - this.lastRowsAt >= 1000) {
      this.rowsPerSec = Math.round(
        ((st.rowsTotal - this.lastRows) * 1000) / (now - this.lastRowsAt),
      );
      this.lastRows = st.rowsTotal;
      this.lastRowsAt = now;
    }
    return {
      on: true,
      dbRowsPerSec: this.rowsPerSec,
      writerLag: st.backlog,
      ringFill: Math.round(st.ringFill * 1000) / 1000,
      dbRowsQuarantined: st.quarantined,
      ingestItemsRefused: this.ingest?.().refusedItems ?? 0,
      ingestDeadlockRetries: this.ingest?.().deadlockRetries ?? 0,
    };
  }

  /**
   * For GET /readyz: null when ready, else the reason. A writer or the ingest thread on one
   * batch for longer than READY_MAX_LAG_MS is stuck (retrying a transient error, or waiting
   * on a lock): named, with the cause.
   */
  notReadyReason(): string | null {
    if (!this.writers) return 'persistence is off (no database)';
    if (!this.reachable) return 'database unreachable';
    const st = this.writers.status();
    const bound = this.options.readyMaxLagMs;
    const r = st.longestRetry;
    if (r && r.retryingMs > bound) {
      return `database writer ${r.writer} stuck: retrying one batch for ${r.retryingMs} ms (last error ${r.lastErrorCode ?? 'unknown'}; READY_MAX_LAG_MS=${bound})`;
    }
    const ingest = this.ingest?.();
    if (ingest && ingest.commitAgeMs > bound) {
      const failed =
        ingest.failedAttempts > 0
          ? `attempts failed: ${ingest.failedAttempts}, last error ${ingest.lastErrorCode ?? 'unknown'}`
          : 'no error yet: waiting on the database';
      return `ingest stuck: one group commit running for ${ingest.commitAgeMs} ms (${failed}; READY_MAX_LAG_MS=${bound})`;
    }
    if (st.lagMs > this.options.readyMaxLagMs) {
      return `writers behind: oldest uncommitted record is ${st.lagMs} ms old (READY_MAX_LAG_MS=${this.options.readyMaxLagMs})`;
    }
    return null;
  }

  private schedulePing(): void {
    if (this.closed) return;
    this.pingTimer = setTimeout(() => {
      void this.ping().finally(() => this.schedulePing());
    }, PING_EVERY_MS);
  }

  private async ping(retry = true): Promise<void> {
    try {
      if (!this.monitor) {
        const conn = await mysql.createConnection(connectionOptions(this.db!));
        if (this.closed) {
          conn.destroy();
          return;
        }
        // A monitor the server drops while idle emits 'error': forget it, the next ping
        // opens another.
        conn.on('error', () => {
          conn.destroy();
          if (this.monitor === conn) this.monitor = undefined;
        });
        this.monitor = conn;
      }
      await this.monitor.query({ sql: 'SELECT 1', timeout: PING_EVERY_MS });
      if (!this.reachable) this.log.info('database reachable again');
      this.reachable = true;
    } catch (err) {
      this.monitor?.destroy();
      this.monitor = undefined;
      // A dropped monitor connection is not an outage: try once more on a fresh one.
      if (retry) return this.ping(false);
      if (this.reachable) this.log.warn({ err: (err as Error).message }, 'database unreachable');
      this.reachable = false;
    }
  }

  private async retention(): Promise<void> {
    let conn: mysql.Connection | undefined;
    try {
      conn = await mysql.createConnection(connectionOptions(this.db!));
      const r = await runRetention(
        conn,
        Date.now(),
        this.options.retentionDays,
        this.options.rollupRetentionDays,
      );
      this.log.info(r, 'retention: partitions maintained, expired data dropped');
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'retention run failed; will retry at the next schedule',
      );
    } finally {
      await conn?.end().catch(() => conn?.destroy());
    }
  }

  /** After the producers stopped: commit what is in the rings, bounded by `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    clearTimeout(this.pingTimer);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.monitor?.destroy();
    this.monitor = undefined;
    if (!this.writers) return;
    const started = Date.now();
    const r = await this.writers.drain(timeoutMs);
    const ms = Date.now() - started;
    if (r.complete)
      this.log.info({ rows: r.rows, ms }, 'drained: every completed transaction is committed');
    else {
      this.log.error(
        { code: 'PB_ERR_DB_DRAIN_TIMEOUT', backlog: r.backlog, rows: r.rows, ms },
        `drain timed out after ${timeoutMs} ms: ${r.backlog} completed transactions were not committed`,
      );
    }
  }
}

/** Copies reloaded rollup rows into a shard's per-second buckets (before its thread runs). */
function writeBins(metrics: ShardMetrics, bins: RollupBins): void {
  for (let i = 0; i < bins.seconds.length; i++) {
    const off = ShardMetrics.rowOf(bins.seconds[i]!);
    copyRows(metrics.buckets, off, bins.rows, i * ROW_STRIDE);
  }
}

/**
 * DB_WRITE_METHOD=auto: LOAD DATA LOCAL INFILE when the server allows it (MariaDB does by
 * default; MySQL 8 ships with local_infile=OFF), else multi-row INSERT.
 */
async function chooseRowFormat(
  db: DbConfig,
  method: 'auto' | 'load' | 'insert',
): Promise<'load' | 'insert'> {
  if (method !== 'auto') return method;
  const conn = await mysql.createConnection(connectionOptions(db));
  try {
    const [rows] = await conn.query('SELECT @@GLOBAL.local_infile AS on_');
    return Number((rows as { on_: number | string }[])[0]?.on_) === 1 ? 'load' : 'insert';
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}
