/**
 * What a database error means for the writer that got it: retry the same work, or stop
 * retrying it. One table for every writer (the ingest group commit, the simulator writers,
 * the rollups they write in the same transactions), keyed on the server's error number,
 * the driver's code for client-side errors, the SQLSTATE class, and mysql2's `fatal` flag
 * (set when the connection itself is gone).
 *
 * The line is drawn by cause, not by how bad the error sounds:
 *
 *   transient  the environment failed (connection lost/refused/reset, server shutting down
 *              or read-only while failing over, deadlock, lock wait, too many connections,
 *              a query interrupted or timed out, disk or table full, no such table while
 *              someone migrates). The same rows will succeed once it recovers: retry with
 *              backoff, without limit; /readyz reports a writer that keeps retrying.
 *   permanent  the rows themselves are refused (out of range, too long, wrong value, NULL,
 *              a constraint, a trigger's SIGNAL, a syntax error in SQL built from them).
 *              Retrying the same rows can never succeed: isolate them, refuse or
 *              quarantine them, go on with the rest.
 *   unknown    anything else (an error code this table does not know, or no code at all —
 *              a bug in our own encoding). Retried like a transient error, but only
 *              UNKNOWN_MAX_ATTEMPTS times; then handled as permanent, so an unforeseen error
 *              can delay a writer by seconds, never stop it.
 */

export type DbErrorKind = 'transient' | 'permanent' | 'unknown';

/** Attempts of the same work an unknown error gets before it is handled as permanent. */
export const UNKNOWN_MAX_ATTEMPTS = 5;

/**
 * Server errors by number, with our name for each. By number, because the server sends the
 * number and the driver names it from MySQL's table: MariaDB's own numbers come back
 * unnamed (1927) or misnamed (4025, MariaDB's CHECK failure, is an InnoDB DDL option error
 * in MySQL's table). Where MySQL uses one of MariaDB's numbers for another error, that
 * error never answers a writer's INSERT (4025 is about CREATE TABLE options), so the class
 * holds on both servers.
 */
const SERVER_ERRORS = new Map<number, [DbErrorKind, string]>([
  // transient: the environment
  [1021, ['transient', 'ER_DISK_FULL']],
  [1037, ['transient', 'ER_OUTOFMEMORY']],
  [1040, ['transient', 'ER_CON_COUNT_ERROR']], // too many connections
  [1041, ['transient', 'ER_OUT_OF_RESOURCES']],
  [1044, ['transient', 'ER_DBACCESS_DENIED_ERROR']], // grants changed: the operator fixes them
  [1045, ['transient', 'ER_ACCESS_DENIED_ERROR']],
  [1053, ['transient', 'ER_SERVER_SHUTDOWN']],
  [1114, ['transient', 'ER_RECORD_FILE_FULL']], // table full: the operator frees space
  [1142, ['transient', 'ER_TABLEACCESS_DENIED_ERROR']],
  [1146, ['transient', 'ER_NO_SUCH_TABLE']], // schema being (re)created: not the rows' fault
  [1158, ['transient', 'ER_NET_READ_ERROR']],
  [1159, ['transient', 'ER_NET_READ_INTERRUPTED']],
  [1160, ['transient', 'ER_NET_ERROR_ON_WRITE']],
  [1161, ['transient', 'ER_NET_WRITE_INTERRUPTED']],
  [1203, ['transient', 'ER_TOO_MANY_USER_CONNECTIONS']],
  [1205, ['transient', 'ER_LOCK_WAIT_TIMEOUT']],
  [1206, ['transient', 'ER_LOCK_TABLE_FULL']],
  [1213, ['transient', 'ER_LOCK_DEADLOCK']],
  [1290, ['transient', 'ER_OPTION_PREVENTS_STATEMENT']], // read_only during a failover
  [1317, ['transient', 'ER_QUERY_INTERRUPTED']], // KILL QUERY
  [1792, ['transient', 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION']],
  [1836, ['transient', 'ER_READ_ONLY_MODE']],
  [1927, ['transient', 'ER_CONNECTION_KILLED']], // MariaDB: KILL
  [1969, ['transient', 'ER_STATEMENT_TIMEOUT']], // MariaDB: max_statement_time
  [3024, ['transient', 'ER_QUERY_TIMEOUT']], // MySQL: max_execution_time
  [3572, ['transient', 'ER_LOCK_NOWAIT']], // MySQL
  // permanent: the rows
  [1022, ['permanent', 'ER_DUP_KEY']],
  [1048, ['permanent', 'ER_BAD_NULL_ERROR']],
  [1062, ['permanent', 'ER_DUP_ENTRY']],
  [1064, ['permanent', 'ER_PARSE_ERROR']], // SQL built from the rows does not parse
  [1136, ['permanent', 'ER_WRONG_VALUE_COUNT_ON_ROW']],
  [1216, ['permanent', 'ER_NO_REFERENCED_ROW']],
  [1217, ['permanent', 'ER_ROW_IS_REFERENCED']],
  [1261, ['permanent', 'ER_WARN_TOO_FEW_RECORDS']], // LOAD DATA: a line short of fields
  [1262, ['permanent', 'ER_WARN_TOO_MANY_RECORDS']], // LOAD DATA: a line with extra fields
  [1263, ['permanent', 'ER_WARN_NULL_TO_NOTNULL']], // LOAD DATA: NULL into NOT NULL
  [1264, ['permanent', 'ER_WARN_DATA_OUT_OF_RANGE']], // a value out of its column's range
  [1265, ['permanent', 'WARN_DATA_TRUNCATED']],
  [1292, ['permanent', 'ER_TRUNCATED_WRONG_VALUE']],
  [1300, ['permanent', 'ER_INVALID_CHARACTER_STRING']],
  [1364, ['permanent', 'ER_NO_DEFAULT_FOR_FIELD']],
  [1365, ['permanent', 'ER_DIVISION_BY_ZERO']],
  [1366, ['permanent', 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD']],
  [1406, ['permanent', 'ER_DATA_TOO_LONG']],
  [1411, ['permanent', 'ER_WRONG_VALUE_FOR_TYPE']],
  [1451, ['permanent', 'ER_ROW_IS_REFERENCED_2']],
  [1452, ['permanent', 'ER_NO_REFERENCED_ROW_2']],
  [1526, ['permanent', 'ER_NO_PARTITION_FOR_GIVEN_VALUE']], // a row outside every partition
  [1644, ['permanent', 'ER_SIGNAL_EXCEPTION']], // a trigger refused the row
  [1690, ['permanent', 'ER_DATA_OUT_OF_RANGE']], // arithmetic overflow (an upsert's sum)
  [3819, ['permanent', 'ER_CHECK_CONSTRAINT_VIOLATED']], // MySQL: CHECK
  [4025, ['permanent', 'ER_CONSTRAINT_FAILED']], // MariaDB: CHECK
]);

/** Client-side codes (no server errno): the connection, never the rows. */
const TRANSIENT_CLIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
]);

/** What mysql2 puts on an error (`fatal`: the connection is unusable). */
export interface DriverError {
  code?: unknown;
  errno?: unknown;
  sqlState?: unknown;
  fatal?: unknown;
}

function fields(err: unknown): { code: string; errno: number; state: string; fatal: boolean } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as DriverError;
  return {
    code: typeof e.code === 'string' ? e.code : '',
    errno: typeof e.errno === 'number' ? e.errno : -1,
    state: typeof e.sqlState === 'string' ? e.sqlState : '',
    fatal: e.fatal === true,
  };
}

export function classifyDbError(err: unknown): DbErrorKind {
  const { code, errno, state, fatal } = fields(err);
  const known = SERVER_ERRORS.get(errno);
  if (known && known[0] === 'permanent' && !fatal) return 'permanent';
  // A lost connection says nothing about the rows, whatever error it arrived with.
  if (fatal || known || TRANSIENT_CLIENT_CODES.has(code)) return 'transient';
  // SQLSTATE class 22 is "data exception", 23 "integrity constraint violation".
  if (state.startsWith('22') || state.startsWith('23')) return 'permanent';
  if (state.startsWith('08') || state === '40001') return 'transient'; // connection, serialization
  return 'unknown';
}

/**
 * Whether to retry work that failed with `err` on attempt `attempt` (0-based) — the
 * decision every writer takes; false means "handle as permanent".
 */
export function shouldRetry(err: unknown, attempt: number): boolean {
  const kind = classifyDbError(err);
  if (kind === 'transient') return true;
  if (kind === 'permanent') return false;
  return attempt + 1 < UNKNOWN_MAX_ATTEMPTS;
}

/**
 * Whether the server itself answered with this error (a number and an SQLSTATE, the
 * connection still up), as opposed to the connection failing. The quarantine turns to its
 * file on an answer, and waits out a connection failure.
 */
export function isServerAnswer(err: unknown): boolean {
  const { errno, state, fatal } = fields(err);
  return errno > 0 && state !== '' && !fatal;
}

/** A stable, printable name for the cause: our name for a server error, else the driver's code. */
export function dbErrorCode(err: unknown): string {
  const { code, errno } = fields(err);
  const known = SERVER_ERRORS.get(errno);
  if (known) return known[1];
  if (/^[A-Z0-9_]{1,64}$/.test(code)) return code;
  if (errno >= 0) return `ERRNO_${errno}`;
  return err instanceof Error ? err.name.slice(0, 64) : 'UNKNOWN';
}

const PHRASES: Record<string, string> = {
  ER_WARN_DATA_OUT_OF_RANGE: 'a value is out of the range its column can store',
  ER_DATA_OUT_OF_RANGE: 'a sum is out of the range its column can store',
  ER_DATA_TOO_LONG: 'a value is longer than its column allows',
  ER_CONSTRAINT_FAILED: 'a row violates a constraint of the table',
  ER_CHECK_CONSTRAINT_VIOLATED: 'a row violates a constraint of the table',
  ER_SIGNAL_EXCEPTION: 'a trigger of the database refused a row',
  ER_DUP_ENTRY: 'a row duplicates a unique key',
  ER_PARSE_ERROR: 'the statement built from the rows did not parse',
};

/**
 * What went wrong in our own words, for a client: a fixed phrase and the cause's code,
 * never the driver's message (it can carry host:port, SQL text, or the client's own input).
 */
export function describeDbError(err: unknown): string {
  const code = dbErrorCode(err);
  return `${PHRASES[code] ?? 'the database refused the rows'} (${code})`;
}

/**
 * Run once on every writer connection: strict mode, so a value a column cannot hold is an
 * error (classified above), never a silently clamped value and a warning — whatever the
 * server's default sql_mode says (MariaDB's and MySQL 8's defaults are strict; an operator's
 * may not be). LOAD DATA LOCAL still only warns; commit-batch.ts checks its warnings.
 */
export const STRICT_SESSION_SQL =
  "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')";
