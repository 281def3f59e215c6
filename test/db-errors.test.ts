import { createServer } from 'node:net';
import mysql from 'mysql2/promise';
import t from 'tap';
import {
  classifyDbError,
  dbErrorCode,
  describeDbError,
  STRICT_SESSION_SQL,
  shouldRetry,
  UNKNOWN_MAX_ATTEMPTS,
} from '../src/db/db-errors.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

/**
 * The classification every writer uses (src/db/db-errors.ts), on errors the real database
 * produces: what the rows cause is permanent, what the environment causes is transient,
 * anything else is retried a few times and then handled as permanent.
 */

let db: TestDatabase;
t.before(async () => {
  db = await createTestDatabase();
  await db.conn.query(`CREATE TABLE e (
    k INT PRIMARY KEY,
    big BIGINT NOT NULL,
    short VARCHAR(4) NOT NULL,
    CONSTRAINT small_k CHECK (k < 1000000)
  ) ENGINE=InnoDB`);
  await db.conn.query("INSERT INTO e VALUES (1, 9223372036854775807, 'a'), (2, 0, 'b')");
  await db.conn.query(
    "CREATE TRIGGER refuse_13 BEFORE INSERT ON e FOR EACH ROW BEGIN IF NEW.k = 13 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no 13'; END IF; END",
  );
});
t.teardown(() => db?.drop());

async function errorOf(conn: mysql.Connection, sql: string): Promise<unknown> {
  try {
    await conn.query(sql);
  } catch (err) {
    return err;
  }
  throw new Error(`expected an error from: ${sql}`);
}

const connect = (extra: mysql.ConnectionOptions = {}) =>
  mysql.createConnection({ uri: db.url, ...extra });

t.test('errors caused by the rows are permanent, named by us', async (t) => {
  const cases: [string, string][] = [
    ['INSERT INTO e VALUES (3, 99999999999999999999, "x")', 'ER_WARN_DATA_OUT_OF_RANGE'],
    ['UPDATE e SET big = big + 1 WHERE k = 1', 'ER_DATA_OUT_OF_RANGE'],
    ['INSERT INTO e VALUES (4, 1, "toolong")', 'ER_DATA_TOO_LONG'],
    ['INSERT INTO e VALUES (5, NULL, "x")', 'ER_BAD_NULL_ERROR'],
    ['INSERT INTO e VALUES (1, 1, "x")', 'ER_DUP_ENTRY'],
    ['INSERT INTO e VALUES (2000000, 1, "x")', 'ER_CONSTRAINT_FAILED'],
    ['INSERT INTO e VALUES (13, 1, "x")', 'ER_SIGNAL_EXCEPTION'],
    ['INSERT INTO e VALUES (6, 1, "x"', 'ER_PARSE_ERROR'],
    ['INSERT INTO e VALUES (7, "seven", "x")', 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD'],
  ];
  for (const [sql, code] of cases) {
    const err = await errorOf(db.conn, sql);
    t.equal(classifyDbError(err), 'permanent', `${code}: permanent`);
    t.equal(dbErrorCode(err), code, `named ${code}`);
    t.notOk(shouldRetry(err, 0), `${code}: not retried`);
    t.notMatch(describeDbError(err), /127\.0\.0\.1|pb_test|`e`|seven/, 'described in our words');
  }
});

t.test('errors caused by the environment are transient', async (t) => {
  // Lock wait timeout: another session holds the row.
  const holder = await connect();
  const waiter = await connect();
  t.teardown(async () => {
    await holder.end();
    await waiter.end().catch(() => waiter.destroy());
  });
  await holder.query('START TRANSACTION');
  await holder.query('SELECT * FROM e WHERE k = 2 FOR UPDATE');
  await waiter.query('SET SESSION innodb_lock_wait_timeout = 1');
  const wait = await errorOf(waiter, 'UPDATE e SET big = 1 WHERE k = 2');
  t.equal(dbErrorCode(wait), 'ER_LOCK_WAIT_TIMEOUT');
  t.equal(classifyDbError(wait), 'transient');
  await holder.query('ROLLBACK');

  // Deadlock: two sessions take two rows in opposite orders.
  const a = await connect();
  const b = await connect();
  t.teardown(async () => {
    await a.end().catch(() => a.destroy());
    await b.end().catch(() => b.destroy());
  });
  await a.query('START TRANSACTION');
  await b.query('START TRANSACTION');
  await a.query('SELECT * FROM e WHERE k = 1 FOR UPDATE');
  await b.query('SELECT * FROM e WHERE k = 2 FOR UPDATE');
  const first = a.query('SELECT * FROM e WHERE k = 2 FOR UPDATE').catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 200));
  const second = b.query('SELECT * FROM e WHERE k = 1 FOR UPDATE').catch((e: unknown) => e);
  const outcomes = await Promise.all([first, second]);
  const deadlock = outcomes.find((o) => o instanceof Error);
  t.equal(dbErrorCode(deadlock), 'ER_LOCK_DEADLOCK');
  t.equal(classifyDbError(deadlock), 'transient');
  await a.query('ROLLBACK').catch(() => {});
  await b.query('ROLLBACK').catch(() => {});

  // A connection killed from another session.
  const victim = await connect();
  const killed = victim.query('SELECT SLEEP(5)').catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 200));
  await db.conn.query(`KILL ${victim.threadId}`);
  const kill = await killed;
  t.equal(classifyDbError(kill), 'transient', `KILL (${dbErrorCode(kill)}): transient`);
  victim.destroy();

  // Nothing listens on the port.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const refused = await mysql
    .createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 2000 })
    .then(
      () => new Error('connected?'),
      (e: unknown) => e,
    );
  t.equal(dbErrorCode(refused), 'ECONNREFUSED');
  t.equal(classifyDbError(refused), 'transient');

  // A table that is not there (yet): the schema, not the rows.
  const missing = await errorOf(db.conn, 'INSERT INTO not_there VALUES (1)');
  t.equal(dbErrorCode(missing), 'ER_NO_SUCH_TABLE');
  t.ok(shouldRetry(missing, 1000), 'retried without limit');
});

t.test('an unknown error is retried a bounded number of times', async (t) => {
  const err = new TypeError('a bug in our own encoding');
  t.equal(classifyDbError(err), 'unknown');
  for (let attempt = 0; attempt < UNKNOWN_MAX_ATTEMPTS - 1; attempt++)
    t.ok(shouldRetry(err, attempt), `attempt ${attempt}: retried`);
  t.notOk(shouldRetry(err, UNKNOWN_MAX_ATTEMPTS - 1), 'then handled as permanent');
  t.equal(dbErrorCode(err), 'TypeError');
});

t.test('a strict writer session refuses what a lax server would clamp', async (t) => {
  const conn = await connect();
  t.teardown(() => conn.end());
  await conn.query("SET SESSION sql_mode = ''");
  await conn.query('INSERT INTO e VALUES (8, 99999999999999999999, "x")');
  const [clamped] = await conn.query('SELECT CAST(big AS CHAR) AS v FROM e WHERE k = 8');
  t.equal((clamped as { v: string }[])[0]!.v, '9223372036854775807', 'a lax session clamps');
  await conn.query(STRICT_SESSION_SQL);
  const err = await errorOf(conn, 'INSERT INTO e VALUES (9, 99999999999999999999, "x")');
  t.equal(dbErrorCode(err), 'ER_WARN_DATA_OUT_OF_RANGE', 'the strict one refuses');
});
