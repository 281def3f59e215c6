import mysql from 'mysql2/promise';
import { batchConnectionOptions, type DbConfig } from '../../src/db/db-config.js';
import {
  classifyDbError,
  dbErrorCode,
  STRICT_SESSION_SQL,
  shouldRetry,
} from '../../src/db/db-errors.js';
import { backoffMs, sleep } from '../common/backoff.js';
import type { CommitStatus } from './commit-status.js';
import { commitGroup, type PendingItem } from './group-commit.js';

/**
 * Commits the requests of one group so that one poison request cannot stop the others.
 *
 *   commit(A B C D) ── ok ─────────────────────────────► all answered 200
 *        │ transient error (connection, deadlock, lock wait): retry the same group with
 *        │ backoff, for as long as it takes (/readyz reports it after READY_MAX_LAG_MS)
 *        │ permanent error (db-errors.ts): the group never commits as a whole; bisect it
 *        ▼
 *   commit(A B) ok          commit(C D) ✗ permanent
 *                           commit(C) ok   commit(D) ✗ → D refused (422), alone
 *
 * A failed attempt is rolled back (its connection is destroyed), so a part that commits
 * later is the only write of its rows; every attempt after the first runs commitGroup's
 * retry path (our ids already in `transactions` are skipped), so a lost reply that did
 * commit is never written twice. One poison request among n costs about 2·log2(n) commits.
 */

export interface GroupRequest {
  pending: PendingItem[];
}

export interface GroupOutcome<R extends GroupRequest> {
  /** Items new to the store, of the requests that committed. */
  fresh: PendingItem[];
  /** Requests the database refused for good, with the error (nothing of them is stored). */
  refused: { request: R; err: unknown }[];
}

export class GroupCommitter {
  private conn: mysql.Connection | undefined;
  /** Rejects when `conn` is lost (the server closed it): see withRetry. */
  private lost: Promise<never> = new Promise(() => {});

  constructor(
    private readonly db: DbConfig,
    /** The `writer` column of the rollup rows (src/db/rollup-writers.ts). */
    private readonly rollupWriter: number,
    /** The status block's commit slots (shared with the primary), and this committer's slot. */
    private readonly status: CommitStatus,
    private readonly slot: number,
    private readonly warn: (code: string, message: string, attempt: number) => void,
  ) {}

  async commit<R extends GroupRequest>(requests: R[]): Promise<GroupOutcome<R>> {
    const out: GroupOutcome<R> = { fresh: [], refused: [] };
    this.status.begin(this.slot, Date.now());
    try {
      await this.part(requests, false, out);
    } finally {
      this.status.end(this.slot);
    }
    return out;
  }

  async close(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    await c?.end().catch(() => c.destroy());
  }

  private async part<R extends GroupRequest>(
    requests: R[],
    failedBefore: boolean,
    out: GroupOutcome<R>,
  ): Promise<void> {
    const items = requests.length === 1 ? requests[0]!.pending : requests.flatMap((r) => r.pending);
    try {
      out.fresh.push(...(await this.withRetry(items, failedBefore)));
    } catch (err) {
      if (requests.length === 1) {
        out.refused.push({ request: requests[0]!, err });
        return;
      }
      const mid = requests.length >> 1;
      await this.part(requests.slice(0, mid), true, out);
      await this.part(requests.slice(mid), true, out);
    }
  }

  /**
   * Commits `items` as one transaction, retrying while the error is worth retrying;
   * throws the error that says it never will commit.
   */
  private async withRetry(items: PendingItem[], failedBefore: boolean): Promise<PendingItem[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        const conn = await this.connection();
        // Raced against the connection's end: a connection the server closes mid-query (a
        // KILL, a restart) must fail the attempt even if the driver never settles the
        // query's promise, as mysql2 has been seen not to (sidorares/node-mysql2#731); the
        // group would otherwise wait forever instead of retrying on a fresh connection.
        return await Promise.race([
          commitGroup(conn, items, failedBefore || attempt > 0 ? 1 : 0, this.rollupWriter),
          this.lost,
        ]);
      } catch (err) {
        // After a failed multi-statement batch the server-side transaction state is unknown;
        // a fresh connection (the server rolls the old one back) is the only clean state.
        this.conn?.destroy();
        this.conn = undefined;
        this.status.attemptFailed(this.slot, dbErrorCode(err) === 'ER_LOCK_DEADLOCK');
        if (!shouldRetry(err, attempt)) throw err;
        if (attempt === 0 || attempt % 10 === 0) {
          const kind = classifyDbError(err);
          this.warn(dbErrorCode(err), `${kind}: ${(err as Error).message}`, attempt);
        }
        await sleep(backoffMs(attempt));
      }
    }
  }

  private async connection(): Promise<mysql.Connection> {
    if (this.conn) return this.conn;
    // Without CLIENT_FOUND_ROWS, an upsert that finds its key counts 0 affected rows
    // (group-commit.ts reads that to skip the read-back).
    const c = await mysql.createConnection({
      ...batchConnectionOptions(this.db),
      flags: ['-FOUND_ROWS'],
      // The SQL is complete text (group-commit.ts): no placeholders. mysql2 would otherwise
      // scan every statement, ~200 bytes per item, for a '?' (sql-escaper's
      // findNextPlaceholder, ~4 % of the ingest thread's busy time at 256 connections).
      queryFormat: (sql: string) => sql,
    });
    // The connection's end (an idle drop, a KILL, a restart: 'error' or 'end'): the next
    // group reconnects, and a group running on it fails its attempt (withRetry).
    this.lost = new Promise<never>((_, reject) => {
      const lost = (err?: unknown) => {
        if (this.conn === c) this.conn = undefined;
        reject(
          err ??
            Object.assign(new Error('the database closed the connection'), {
              code: 'PROTOCOL_CONNECTION_LOST',
              fatal: true,
            }),
        );
      };
      c.once('end', () => lost());
      // `on`, not `once`: a later 'error' without a listener would end the thread.
      c.on('error', lost);
    });
    // Nothing may wait on it (between groups): that is no unhandled rejection.
    this.lost.catch(() => {});
    try {
      await c.query(STRICT_SESSION_SQL);
    } catch (err) {
      c.destroy();
      throw err;
    }
    this.conn = c;
    return c;
  }
}
