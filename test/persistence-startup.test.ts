import mysql from 'mysql2/promise';
import t from 'tap';
import { parseMysqlUrl } from '../src/db/db-config.js';
import { migrate } from '../src/db/migrate.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/db/schema.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer } from './helpers/server.js';
import { getJson } from './helpers/wait-for.js';

/** Start-up without a database (auto / required), and migrations under concurrent start. */

// Port 9 (discard) on loopback: nothing answers, the connection is refused at once.
const DEAD_URL = 'mysql://root@127.0.0.1:9/pulseboard';

let db: TestDatabase;
t.before(async () => {
  db = await createTestDatabase();
});
t.teardown(async () => {
  await db?.drop();
});

t.test('PERSISTENCE=auto without a database runs with persistence off, loudly', async (t) => {
  const server = await startServer(['--sim-tps', '0'], {
    MYSQL_URL: DEAD_URL,
    PERSISTENCE: 'auto',
  });
  try {
    const warn = server.logs.find(
      (l) => typeof l.msg === 'string' && l.msg.includes('PERSISTENCE IS OFF'),
    );
    t.ok(warn, 'warned in the log');
    t.equal(warn?.level, 40);
    const m = await getJson(`${server.url}/api/metrics`);
    t.equal(m.body.persistence, 'off');
    const ready = await getJson(`${server.url}/readyz`);
    t.equal(ready.status, 503);
    t.equal(ready.body.error.code, 'PB_ERR_NOT_READY');
  } finally {
    await server.stop();
  }
});

t.test('PERSISTENCE=required without a database refuses to start', async (t) => {
  await t.rejects(
    startServer(['--sim-tps', '0'], { MYSQL_URL: DEAD_URL, PERSISTENCE: 'required' }),
    /PB_ERR_DB_UNREACHABLE|exited with 1/,
  );
});

t.test('two concurrent starts migrate exactly once', async (t) => {
  const cfg = parseMysqlUrl(db.url);
  const [a, b] = await Promise.all([migrate(cfg), migrate(cfg)]);
  // From the migration list, so a new migration does not have to touch this test.
  const versions = MIGRATIONS.map((m) => m.version);
  t.same(
    [...a.applied, ...b.applied].sort((x, y) => x - y),
    versions,
    'each migration applied by exactly one',
  );
  t.equal(a.version, SCHEMA_VERSION);
  t.equal(b.version, SCHEMA_VERSION);
  const conn = await mysql.createConnection({ uri: db.url });
  const [rows] = await conn.query('SELECT COUNT(*) AS n FROM schema_migrations');
  t.equal(Number((rows as { n: number }[])[0]!.n), versions.length);
  const again = await migrate(cfg);
  t.same(again.applied, [], 'a third start applies nothing');
  await conn.end();
});

t.test('migration 3 widens the rollup money sums of an existing database, rows kept', async (t) => {
  const cfg = parseMysqlUrl(db.url);
  const conn = await mysql.createConnection({
    uri: db.url,
    bigNumberStrings: true,
    supportBigNumbers: true,
  });
  t.teardown(() => conn.end());
  // Back to version 2's shape, with a cell at the old BIGINT's edge.
  await conn.query(
    'ALTER TABLE rollup_seconds MODIFY amount BIGINT NOT NULL, MODIFY volume BIGINT NOT NULL DEFAULT 0',
  );
  await conn.query('DELETE FROM schema_migrations WHERE version = 3');
  await conn.query(
    "INSERT INTO rollup_seconds (second, source, currency, writer, count, failed, flagged, amount, volume, processing_ms) VALUES (1, 'ach', 'USD', 0, 1, 0, 0, 9223372036854775807, 9223372036854775807, 1)",
  );
  const r = await migrate(cfg);
  t.same(r.applied, [3]);
  const [cols] = await conn.query(
    `SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'rollup_seconds' AND COLUMN_NAME IN ('amount', 'volume')
      ORDER BY COLUMN_NAME`,
  );
  t.same(
    (cols as { c: string; t: string }[]).map((x) => [x.c, x.t.toLowerCase()]),
    [
      ['amount', 'decimal(38,0)'],
      ['volume', 'decimal(38,0)'],
    ],
  );
  // The upsert that overflowed the BIGINT cell now adds exactly.
  await conn.query(
    "INSERT INTO rollup_seconds (second, source, currency, writer, count, failed, flagged, amount, volume, processing_ms) VALUES (1, 'ach', 'USD', 0, 1, 0, 0, 9223372036854775807, 1, 1) ON DUPLICATE KEY UPDATE amount = amount + VALUES(amount), volume = volume + VALUES(volume)",
  );
  const [rows] = await conn.query('SELECT amount, volume FROM rollup_seconds WHERE second = 1');
  t.same(rows, [{ amount: '18446744073709551614', volume: '9223372036854775808' }]);
  const [q] = await conn.query(
    "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'quarantine'",
  );
  t.equal(Number((q as { n: string }[])[0]!.n), 1, 'the quarantine table exists');
});
