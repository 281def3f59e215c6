import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * The simulator's completed transactions reach MySQL exactly once, even when a writer's
 * connection is KILLed mid-batch from a second connection, and the rollups equal a
 * brute-force aggregation of the rows.
 */

let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  db = await createTestDatabase();
  server = await startServer(
    ['--sim-tps', '4000', '--shards', '2', '--db-batch-size', '500', '--db-flush-ms', '20'],
    {
      MYSQL_URL: db.url,
      PERSISTENCE: 'required',
    },
  );
});

t.teardown(async () => {
  await server?.stop();
  await db?.drop();
});

async function writerConnections(): Promise<string[]> {
  const [rows] = await db.conn.query(
    'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
    [db.name],
  );
  return (rows as { id: string }[]).map((r) => String(r.id));
}

t.test('persistence is on and rows arrive', async (t) => {
  const m = await getJson(`${server.url}/api/metrics`);
  t.equal(m.body.persistence, 'on');
  await waitFor('rows in MySQL', async () => {
    const [r] = await db.conn.query('SELECT COUNT(*) AS n FROM transactions');
    return Number((r as { n: string }[])[0]!.n) > 1000;
  });
  const ready = await getJson(`${server.url}/readyz`);
  t.equal(ready.status, 200, JSON.stringify(ready.body));
});

t.test('exactly once when writer connections are KILLed mid-batch', async (t) => {
  let killed = 0;
  const retried = () =>
    server.logs.some((l) => l.msg === 'database write failed; retrying with backoff');
  // A kill that lands between batches only makes the writer reconnect for the next one
  // (lane.ts); keep killing until one has landed mid-batch (the writer retried), at least 8
  // rounds. Batches are short (ids arrive in key order), so that can take a few rounds.
  for (let round = 0; round < 8 || (round < 60 && !retried()); round++) {
    for (const id of await writerConnections()) {
      try {
        await db.conn.query(`KILL ${id}`);
        killed++;
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  t.ok(killed > 0, `killed ${killed} writer connections`);

  const stop = await fetch(`${server.url}/api/load-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tps: 0 }),
  });
  t.equal(stop.status, 200);
  const settled = await waitFor(
    'pipeline idle and writers caught up',
    async () => {
      const { body } = await getJson(`${server.url}/api/metrics`);
      const p = body.pipeline;
      const idle = body.inFlight.pending + body.inFlight.processing === 0 && p.writerLag === 0;
      return idle ? body : undefined;
    },
    30_000,
    250,
  );
  // One more tick so `completed` is final.
  await new Promise((r) => setTimeout(r, 700));
  const { body } = await getJson(`${server.url}/api/metrics`);
  const completed = body.pipeline.completed as number;
  t.ok(settled.pipeline.completed > 0);

  const [rows] = await db.conn.query(
    'SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM transactions',
  );
  const { n, d } = (rows as { n: string; d: string }[])[0]!;
  t.equal(Number(n), completed, 'rows in MySQL equal the completed count');
  t.equal(Number(d), Number(n), 'no duplicate ids');

  const warned = server.logs.filter(
    (l) => l.msg === 'database write failed; retrying with backoff',
  );
  t.ok(warned.length > 0, 'the writers saw the kills and retried');
});

t.test('rollups equal a brute-force aggregation of the transactions', async (t) => {
  const [a] = await db.conn.query(
    `SELECT second, source, currency, SUM(count) AS c, SUM(failed) AS f, SUM(flagged) AS g, SUM(amount) AS a, SUM(processing_ms) AS p
       FROM rollup_seconds GROUP BY second, source, currency ORDER BY second, source, currency`,
  );
  const [b] = await db.conn.query(
    `SELECT FLOOR(completed_ms / 1000) AS second, source, currency, COUNT(*) AS c, SUM(status = 'failed') AS f,
            SUM(flag_rule IS NOT NULL) AS g, SUM(amount) AS a, SUM(processing_ms) AS p
       FROM transactions GROUP BY 1, source, currency ORDER BY 1, source, currency`,
  );
  const norm = (rows: unknown) =>
    (rows as Record<string, unknown>[]).map((r) => Object.values(r).map(String).join('|'));
  t.ok((b as unknown[]).length > 0);
  t.same(norm(a), norm(b));
});

t.test('SIGTERM drains the rings before exit', async (t) => {
  await fetch(`${server.url}/api/load-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tps: 20000 }),
  });
  await new Promise((r) => setTimeout(r, 1500));
  const code = await server.stop('SIGTERM');
  t.equal(code, 0);
  const stopped = server.logs.find((l) => l.msg === 'shards stopped');
  const drained = server.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('drained'));
  t.ok(stopped && drained, 'logged the stop and the drain');
  const [rows] = await db.conn.query('SELECT COUNT(*) AS n FROM transactions');
  t.equal(
    Number((rows as { n: string }[])[0]!.n),
    stopped!.completed,
    'every completed transaction is in MySQL',
  );
});
