import mysql from 'mysql2/promise';
import t from 'tap';
import {
  createTestDatabase,
  type PrivateDatabase,
  startPrivateDatabase,
  type TestDatabase,
} from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';
import { drainPipeline, getJson, waitFor } from './helpers/wait-for.js';

/**
 * Database outage mid-run: a private mariadbd (own temporary datadir and port, through the
 * test helper's private-server fallback; the shared server is never touched) is killed for
 * ~30 s while the simulator runs at 10,000 tx/s and producers POST. The rings fill, the
 * simulator throttles, /readyz says not ready, ingest answers 503 + Retry-After once its
 * queue is full; after the restart every completed transaction is in MySQL exactly once and
 * every acknowledged POST's items are there.
 */

const OUTAGE_MS = 30_000;
let priv: PrivateDatabase;
let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  priv = await startPrivateDatabase();
  db = await createTestDatabase('pb_outage', priv.url);
  server = await startServer(
    [
      '--sim-tps',
      '10000',
      '--shards',
      '1',
      '--db-batch-size',
      '5000',
      '--db-flush-ms',
      '20',
      '--ingest-max-items',
      '500',
      '--ingest-max-queued',
      '2000',
      '--db-connect-timeout-ms',
      '1000',
    ],
    { MYSQL_URL: db.url, PERSISTENCE: 'required' },
  );
});

t.teardown(async () => {
  await server?.stop();
  if (priv && !priv.running()) await priv.start().catch(() => {});
  await db?.drop().catch(() => {});
  await priv?.destroy();
});

async function rows(): Promise<{ n: number; d: number }> {
  const [r] = await db.conn.query(
    'SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM transactions',
  );
  const x = (r as { n: string; d: string }[])[0]!;
  return { n: Number(x.n), d: Number(x.d) };
}

let batchNo = 0;
function body(n: number): string {
  const b = batchNo++;
  return JSON.stringify(
    Array.from({ length: n }, (_, i) => ({
      ref: `outage-${b}-${i}`,
      source: 'ach',
      account: `acct-${i % 50}`,
      amount: 100 + i,
      currency: 'EUR',
    })),
  );
}
function post(n: number) {
  return fetch(`${server.url}/api/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(n),
  });
}

t.test('every completed transaction is in MySQL exactly once across a 30 s outage', async (t) => {
  await waitFor('rows before the outage', async () => (await rows()).n > 20_000, 30_000);
  t.equal((await post(100)).status, 200, 'ingest works before the outage');

  await db.conn.end(); // its connection dies with the server anyway
  await priv.stop('SIGKILL');
  const downAt = Date.now();

  // Producers keep posting: the first 2,000 items queue for the COMMIT, then 503.
  const waiting = [post(500), post(500), post(500), post(500)];
  await new Promise((r) => setTimeout(r, 1000));
  const refused = await post(500);
  t.equal(refused.status, 503, 'ingest answers 503 under backpressure');
  t.equal(refused.headers.get('retry-after'), '1', 'with Retry-After');
  const refusedBody = (await refused.json()) as { error: { code: string } };
  t.equal(refusedBody.error.code, 'PB_ERR_INGEST_BACKPRESSURE');

  const ready = await waitFor(
    '/readyz not ready',
    async () => {
      const r = await getJson(`${server.url}/readyz`);
      return r.status === 503 ? r.body : undefined;
    },
    10_000,
  );
  t.match(ready.error.message, /unreachable|behind/, `not ready: ${ready.error.message}`);

  await waitFor(
    'ring full and the simulator throttled',
    async () => {
      const { body } = await getJson(`${server.url}/api/metrics`);
      return body.pipeline.ringFill >= 0.99 && body.pipeline.throttled > 0;
    },
    OUTAGE_MS,
    500,
  );
  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));

  await priv.start();
  db.conn = await mysql.createConnection({ uri: db.url });

  const acks = await Promise.all(waiting);
  t.same(
    acks.map((r) => r.status),
    [200, 200, 200, 200],
    'POSTs queued during the outage are acknowledged after it',
  );

  await drainPipeline(server.url);
  await new Promise((r) => setTimeout(r, 700));
  const { body: m } = await getJson(`${server.url}/api/metrics`);
  const { n, d } = await rows();
  t.equal(n, m.pipeline.completed, `rows in MySQL (${n}) equal the completed count`);
  t.equal(d, n, 'no duplicate ids');
  const [refs] = await db.conn.query(
    "SELECT COUNT(*) AS n FROM transactions WHERE ref LIKE 'outage-%'",
  );
  t.equal(Number((refs as { n: string }[])[0]!.n), 100 + 4 * 500, 'every acknowledged item');
  const warned = server.logs.filter(
    (l) => l.msg === 'database write failed; retrying with backoff',
  );
  t.ok(warned.length > 0, 'the writers retried');
  t.equal((await getJson(`${server.url}/readyz`)).status, 200, 'ready again');
});
