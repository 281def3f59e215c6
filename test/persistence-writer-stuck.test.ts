import mysql from 'mysql2/promise';
import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer } from './helpers/server.js';
import { drainPipeline, getJson, waitFor } from './helpers/wait-for.js';

/**
 * A transient database error that keeps coming back (issue 15 §1): the writer retries the
 * same batch with backoff, /readyz answers 503 naming the stuck writer and the cause once
 * that lasts longer than READY_MAX_LAG_MS, and when the error stops every row commits once,
 * nothing quarantined. (Before: /readyz only said "writers behind", without the cause.)
 */

/** Short simulated processing times: the drain at the end finishes sooner. */
const QUICK = ['--proc-min-ms', '5', '--proc-median-ms', '10', '--proc-max-ms', '40'];

async function count(db: TestDatabase, sql: string): Promise<number> {
  const [r] = await db.conn.query(sql);
  return Number((r as { n: string }[])[0]!.n);
}

t.test(
  'a writer that keeps failing transiently is retried, named by /readyz, then commits',
  async (t) => {
    const db = await createTestDatabase();
    const server = await startServer(
      [
        '--sim-tps',
        '500',
        '--shards',
        '1',
        '--db-flush-ms',
        '20',
        '--ready-max-lag-ms',
        '1500',
        ...QUICK,
      ],
      { MYSQL_URL: db.url, PERSISTENCE: 'required' },
    );
    const locker = await mysql.createConnection({ uri: db.url });
    t.teardown(async () => {
      await locker.end().catch(() => locker.destroy());
      await server.stop();
      await db.drop();
    });
    await waitFor(
      'rows in MySQL',
      async () => (await count(db, 'SELECT COUNT(*) AS n FROM transactions')) > 0,
    );
    t.equal((await fetch(`${server.url}/readyz`)).status, 200, 'ready before');

    // Writers now wait on the table lock; killing them while they wait is a transient error
    // (the connection is gone) that comes back with every retry.
    await locker.query('LOCK TABLES transactions WRITE');
    let killed = 0;
    let reason = '';
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const [rows] = await db.conn.query(
        `SELECT ID AS id FROM information_schema.PROCESSLIST
        WHERE DB = ? AND ID <> CONNECTION_ID() AND ID <> ? AND INFO LIKE '%transactions%'`,
        [db.name, locker.threadId],
      );
      for (const { id } of rows as { id: string }[]) {
        await db.conn.query(`KILL ${id}`).catch(() => {});
        killed++;
      }
      const ready = await getJson(`${server.url}/readyz`);
      if (ready.status === 503 && /stuck/.test(ready.body.error?.message)) {
        reason = ready.body.error.message;
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    t.ok(killed > 0, `killed ${killed} waiting writer connections`);
    t.match(
      reason,
      /^database writer \d+ stuck: retrying one batch for \d+ ms \(last error [A-Z_0-9]+;/,
      '/readyz names the stuck writer and the cause',
    );
    await locker.query('UNLOCK TABLES');

    await waitFor(
      'ready again',
      async () => (await fetch(`${server.url}/readyz`)).status === 200,
      20_000,
      200,
    );
    await drainPipeline(server.url);
    await new Promise((r) => setTimeout(r, 700));
    const { body } = await getJson(`${server.url}/api/metrics`);
    const rows = await count(db, 'SELECT COUNT(*) AS n FROM transactions');
    t.equal(rows, body.pipeline.completed, 'every completed transaction committed, once');
    t.equal(await count(db, 'SELECT COUNT(DISTINCT id) AS n FROM transactions'), rows);
    t.equal(body.pipeline.dbRowsQuarantined, 0, 'nothing quarantined for a transient error');
  },
);
