import mysql from 'mysql2/promise';
import { batchConnectionOptions, type DbConfig } from '../../src/db/db-config.js';
import { STRICT_SESSION_SQL } from '../../src/db/db-errors.js';
import { LoadRowsEncoder } from '../../src/db/load-rows-encoder.js';

/**
 * One connection a writer keeps in flight. Any error destroys it: after a failed
 * multi-statement batch the server-side transaction state is unknown, and a fresh
 * connection (whose old transaction the server rolls back) is the only clean state.
 */
export class Lane {
  private conn: mysql.Connection | undefined;
  /** The LOAD DATA text of this lane's batch: one batch in flight per lane, so one buffer. */
  readonly rows = new LoadRowsEncoder();

  constructor(
    private readonly cfg: DbConfig,
    private readonly onCount: (delta: number) => void,
  ) {}

  async get(): Promise<mysql.Connection> {
    if (this.conn) return this.conn;
    const conn = await mysql.createConnection({
      ...batchConnectionOptions(this.cfg),
      // Batches carry no placeholders: skip mysql2's scan of the whole SQL text for `?`
      // (a measurable share of this thread's CPU with batches of thousands of rows).
      queryFormat: (sql: string, values: unknown) =>
        Array.isArray(values) && values.length > 0 ? mysql.format(sql, values) : sql,
    });
    // An idle connection the server closes emits 'error'; drop it, the next batch reconnects.
    conn.on('error', () => this.drop());
    try {
      await conn.query(STRICT_SESSION_SQL);
    } catch (err) {
      conn.destroy();
      throw err;
    }
    this.conn = conn;
    this.onCount(1);
    return conn;
  }

  drop(): void {
    if (!this.conn) return;
    this.conn.destroy();
    this.conn = undefined;
    this.onCount(-1);
  }

  async close(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    this.conn = undefined;
    this.onCount(-1);
    // end() waits for the server's goodbye; a half-dead connection may never send it.
    const ended = conn.end().then(
      () => true,
      () => false,
    );
    const ok = await Promise.race([
      ended,
      new Promise<boolean>((r) => setTimeout(() => r(false), 1000)),
    ]);
    if (!ok) conn.destroy();
  }
}
