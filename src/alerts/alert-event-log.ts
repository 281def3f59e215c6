import mysql from 'mysql2/promise';
import { connectionOptions, type DbConfig } from '../db/db-config.js';
import type { Logger } from '../log/logger.js';
import type { AlertStateName } from './alert-state.js';
import type { RuleEvent } from './rule-evaluator.js';

/**
 * Every state change of every alert, for GET /api/alerts and the dashboard's history.
 * Without persistence the last MEMORY_EVENTS stay in memory. With it they go to MySQL
 * (`alert_events`), written off the tick: record() appends to a bounded queue that one
 * writer drains in multi-row INSERTs, retrying with backoff while the database is away
 * (beyond MAX_QUEUED the oldest are dropped and counted, never blocking the tick). Rows
 * older than ROLLUP_RETENTION_DAYS are deleted hourly, in small steps.
 */

const MEMORY_EVENTS = 5000;
const MAX_QUEUED = 50_000;
const INSERT_ROWS = 500;
const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_ROWS = 10_000;

export interface AlertEventQuery {
  states: AlertStateName[] | null;
  rule: string | null;
  from: number;
  to: number;
  limit: number;
}

export interface AlertEventLogStatus {
  written: number;
  queued: number;
  dropped: number;
  lastError: string | null;
}

const COLUMNS =
  'ts_ms, rule, source, state, previous, value, threshold, active_at_ms, severity, labels, annotations, expr';

export class AlertEventLog {
  readonly status: AlertEventLogStatus = { written: 0, queued: 0, dropped: 0, lastError: null };
  private readonly memory: RuleEvent[] = [];
  private queue: RuleEvent[] = [];
  private readonly pool: mysql.Pool | null;
  private writing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private backoffMs = 0;

  constructor(
    db: DbConfig | null,
    private readonly log: Logger,
    private readonly retentionDays: number,
  ) {
    this.pool = db ? mysql.createPool({ ...connectionOptions(db), connectionLimit: 2 }) : null;
    if (this.pool) {
      this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
      this.pruneTimer.unref();
    }
  }

  get persistent(): boolean {
    return this.pool !== null;
  }

  record(events: readonly RuleEvent[]): void {
    if (events.length === 0) return;
    if (!this.pool) {
      this.memory.push(...events);
      if (this.memory.length > MEMORY_EVENTS)
        this.memory.splice(0, this.memory.length - MEMORY_EVENTS);
      return;
    }
    this.queue.push(...events);
    if (this.queue.length > MAX_QUEUED) {
      this.status.dropped += this.queue.length - MAX_QUEUED;
      this.queue.splice(0, this.queue.length - MAX_QUEUED);
    }
    this.status.queued = this.queue.length;
    if (!this.writing && this.retryTimer === undefined) void this.write();
  }

  private async write(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, INSERT_ROWS);
        try {
          await this.pool!.query(`INSERT INTO alert_events (${COLUMNS}) VALUES ?`, [
            batch.map((e) => [
              e.ts,
              e.rule,
              e.source,
              e.state,
              e.previous,
              e.value,
              e.threshold,
              e.activeAt,
              e.severity,
              JSON.stringify(e.labels),
              JSON.stringify(e.annotations),
              e.expr.slice(0, 255),
            ]),
          ]);
        } catch (err) {
          if (this.status.lastError === null)
            this.log.warn({ err: (err as Error).message }, 'cannot store alert events; retrying');
          this.status.lastError = (err as Error).message;
          this.backoffMs = Math.min(30_000, Math.max(500, this.backoffMs * 2));
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            void this.write();
          }, this.backoffMs);
          this.retryTimer.unref();
          return;
        }
        this.queue.splice(0, batch.length);
        this.status.written += batch.length;
        this.status.queued = this.queue.length;
        this.status.lastError = null;
        this.backoffMs = 0;
      }
    } finally {
      this.writing = false;
    }
  }

  /** Newest first. */
  async query(q: AlertEventQuery): Promise<RuleEvent[]> {
    if (!this.pool) {
      const out: RuleEvent[] = [];
      for (let i = this.memory.length - 1; i >= 0 && out.length < q.limit; i--) {
        const e = this.memory[i]!;
        if (e.ts < q.from || e.ts > q.to) continue;
        if (q.states && !q.states.includes(e.state)) continue;
        if (q.rule !== null && e.rule !== q.rule) continue;
        out.push(e);
      }
      return out;
    }
    const where = ['ts_ms BETWEEN ? AND ?'];
    const values: unknown[] = [q.from, q.to];
    if (q.states) {
      where.push('state IN (?)');
      values.push(q.states);
    }
    if (q.rule !== null) {
      where.push('rule = ?');
      values.push(q.rule);
    }
    values.push(q.limit);
    const [rows] = await this.pool.query({
      sql: `SELECT ${COLUMNS} FROM alert_events WHERE ${where.join(' AND ')}
             ORDER BY ts_ms DESC, id DESC LIMIT ?`,
      values,
    });
    return (rows as Record<string, unknown>[]).map((r) => ({
      ts: Number(r.ts_ms),
      rule: String(r.rule),
      source: r.source === null ? null : String(r.source),
      state: r.state as AlertStateName,
      previous: r.previous as AlertStateName,
      value: r.value === null ? null : Number(r.value),
      threshold: Number(r.threshold),
      activeAt: r.active_at_ms === null ? null : Number(r.active_at_ms),
      severity: r.severity as RuleEvent['severity'],
      labels: JSON.parse(String(r.labels)) as Record<string, string>,
      annotations: JSON.parse(String(r.annotations)) as Record<string, string>,
      expr: String(r.expr),
    }));
  }

  private async prune(): Promise<void> {
    const before = Date.now() - this.retentionDays * 86_400_000;
    try {
      for (;;) {
        const [r] = await this.pool!.query('DELETE FROM alert_events WHERE ts_ms < ? LIMIT ?', [
          before,
          PRUNE_ROWS,
        ]);
        if ((r as { affectedRows: number }).affectedRows < PRUNE_ROWS) break;
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'alert event retention failed; will retry');
    }
  }

  /** Writes what is queued (bounded by `timeoutMs`), then closes the pool. */
  async close(timeoutMs: number): Promise<void> {
    clearInterval(this.pruneTimer);
    if (!this.pool) return;
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.writing) && Date.now() < deadline) {
      if (!this.writing && this.retryTimer === undefined) void this.write();
      await new Promise((r) => setTimeout(r, 20));
    }
    clearTimeout(this.retryTimer);
    if (this.queue.length > 0)
      this.log.warn({ lost: this.queue.length }, 'alert events not stored before shutdown');
    await this.pool.end().catch(() => undefined);
  }
}
