import type { Connection, Pool } from 'mysql2/promise';

/**
 * Every read runs with a statement timeout that the *database* enforces, so a read that
 * runs too long stops using the server's CPU and locks, not just the client's patience
 * (a client-side timeout alone leaves the statement running on the server):
 *
 *   MariaDB   SET STATEMENT max_statement_time=<s> FOR SELECT …    (error 1969)
 *   MySQL 8   SELECT /*+ MAX_EXECUTION_TIME(<ms>) *\/ …             (error 3024)
 *
 * mysql2's own `timeout` stays as a backstop (DRIVER_GRACE_MS later) for a server that does
 * not answer at all; it destroys the connection.
 */

export type SqlFlavor = 'mariadb' | 'mysql';

export interface ReadLimit {
  timeoutMs: number;
  flavor: SqlFlavor;
}

/** How much longer than the statement timeout the driver waits before giving up itself. */
export const DRIVER_GRACE_MS = 2000;

const ER_STATEMENT_TIMEOUT = 1969; // MariaDB: max_statement_time exceeded
const ER_QUERY_TIMEOUT = 3024; // MySQL: maximum statement execution time exceeded

/** MariaDB or MySQL, from the server's version string. */
export async function sqlFlavor(conn: Connection | Pool): Promise<SqlFlavor> {
  const [rows] = await conn.query({ sql: 'SELECT VERSION() AS v', timeout: 5000 });
  return /mariadb/i.test(String((rows as { v: string }[])[0]?.v)) ? 'mariadb' : 'mysql';
}

/** `sql` (one SELECT) with the database-side timeout of `limit`. */
export function timedSelect(sql: string, limit: ReadLimit): string {
  if (!/^\s*SELECT\b/i.test(sql)) throw new Error('timedSelect takes one SELECT statement');
  if (limit.flavor === 'mariadb') {
    return `SET STATEMENT max_statement_time=${(limit.timeoutMs / 1000).toFixed(3)} FOR ${sql}`;
  }
  // The hint applies to the statement's outermost SELECT, right after its keyword.
  return sql.replace(/^\s*SELECT\b/i, `SELECT /*+ MAX_EXECUTION_TIME(${limit.timeoutMs}) */`);
}

/** One read query with the timeout of `limit` on both sides (database, then driver). */
export async function timedQuery(
  conn: Connection | Pool,
  sql: string,
  values: unknown[],
  limit: ReadLimit,
): Promise<unknown[][]> {
  const [rows] = await conn.query({
    sql: timedSelect(sql, limit),
    values,
    rowsAsArray: true,
    timeout: limit.timeoutMs + DRIVER_GRACE_MS,
  });
  return rows as unknown[][];
}

/** Whether `err` says a read ran past its timeout (database or driver side). */
export function isReadTimeout(err: unknown): boolean {
  const e = err as { errno?: number; code?: string };
  return (
    e?.errno === ER_STATEMENT_TIMEOUT ||
    e?.errno === ER_QUERY_TIMEOUT ||
    e?.code === 'PROTOCOL_SEQUENCE_TIMEOUT'
  );
}
