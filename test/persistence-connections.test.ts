import mysql from 'mysql2/promise';
import t from 'tap';
import {
  createTestDatabase,
  type PrivateDatabase,
  startPrivateDatabase,
  type TestDatabase,
} from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * The database unreachable for 20 s, then back: afterwards the server holds exactly the
 * connections it held before, counted on the MariaDB side (information_schema.PROCESSLIST).
 *
 * "Unreachable" is a frozen private mariadbd (SIGSTOP, then SIGCONT): the kernel still
 * accepts TCP connections into its backlog and nothing answers, as in a network partition,
 * so every connect waits for its timeout. That is what made the old reachability ping leak:
 * it ran every 2 s on a timer while one ping could take 2 s (query timeout) + 3 s (connect
 * timeout), so pings overlapped, each doing `this.monitor ??= await connect()`, and when the
 * database came back the connects still in flight all succeeded: one became the monitor, the
 * others stayed open, unreferenced, for the life of the process.
 *
 * The server runs one connection of each kind, each opened by real traffic: a writer lane
 * (the simulator), the ingest thread's (a POST), a piscina read thread's pool (a GET) and
 * the monitor.
 */

const OUTAGE_MS = 20_000;
let priv: PrivateDatabase;
let db: TestDatabase;
let server: TestServer;
let admin: mysql.Connection;

t.before(async () => {
  priv = await startPrivateDatabase();
  db = await createTestDatabase('pb_conns', priv.url);
  await db.conn.end(); // counted connections must be the server's only
  server = await startServer(
    [
      '--sim-tps',
      '200',
      '--shards',
      '1',
      '--db-writers',
      '1',
      '--db-connections',
      '1',
      '--read-threads',
      '1',
      '--db-connect-timeout-ms',
      '3000',
    ],
    { MYSQL_URL: db.url, PERSISTENCE: 'required' },
  );
});

t.teardown(async () => {
  if (priv?.running()) priv.resume();
  await server?.stop('SIGKILL');
  await admin?.end().catch(() => admin.destroy());
  await db?.drop().catch(() => {});
  await priv?.destroy();
});

interface Held {
  n: number;
  rows: string;
}

/** The server's connections to its database, as the database sees them. */
async function held(): Promise<Held> {
  admin ??= await mysql.createConnection({ uri: priv.url });
  const [rows] = await admin.query(
    'SELECT ID, COMMAND, TIME, STATE FROM information_schema.PROCESSLIST WHERE DB = ? ORDER BY ID',
    [db.name],
  );
  const list = rows as { ID: number; COMMAND: string; TIME: number; STATE: string }[];
  return {
    n: list.length,
    rows: list.map((r) => `${r.ID}:${r.COMMAND}/${r.STATE}`).join(' '),
  };
}

let refNo = 0;
/** Traffic that uses every connection the server keeps: ingest, a read, the writers. */
async function touchEveryConnection(): Promise<void> {
  const ref = `conn-${refNo++}`;
  const ingest = await fetch(`${server.url}/api/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ref, source: 'ach', account: 'a-1', amount: 100, currency: 'EUR' }),
    signal: AbortSignal.timeout(30_000),
  });
  if (ingest.status !== 200) throw new Error(`ingest answered ${ingest.status}`);
  const read = await fetch(`${server.url}/api/transactions?limit=1`, {
    signal: AbortSignal.timeout(30_000),
  });
  if (read.status !== 200) throw new Error(`read answered ${read.status}`);
}

/** Waits until the count holds still across more than one ping period. */
async function settled(): Promise<Held> {
  let last = await held();
  return waitFor(
    'a stable connection count',
    async () => {
      await new Promise((r) => setTimeout(r, 2500));
      const now = await held();
      const same = now.n === last.n ? now : undefined;
      last = now;
      return same;
    },
    30_000,
    0,
  );
}

t.test('after 20 s unreachable, the server holds the connections it held before', async (t) => {
  await waitFor('ready', async () => (await getJson(`${server.url}/readyz`)).status === 200);
  await touchEveryConnection();
  const before = await settled();
  // A lane, the ingest thread, a read and the monitor at least (the alert rules' store and
  // event log may hold one more): what matters is that the count after equals this one.
  t.ok(before.n >= 4, `lane, ingest, read and monitor connections before (${before.rows})`);

  priv.pause();
  const frozenAt = Date.now();
  // An acknowledged write must wait for the database, not fail: it is answered after.
  const during = fetch(`${server.url}/api/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      ref: 'during',
      source: 'ach',
      account: 'a',
      amount: 1,
      currency: 'EUR',
    }),
    signal: AbortSignal.timeout(OUTAGE_MS + 30_000),
  });
  const notReady = await waitFor(
    '/readyz 503 while the database is unreachable',
    async () => {
      const r = await getJson(`${server.url}/readyz`);
      return r.status === 503 ? r.body : undefined;
    },
    OUTAGE_MS,
    250,
  );
  t.match(
    notReady.error.message,
    /unreachable|behind|stuck/,
    `not ready: ${notReady.error.message}`,
  );
  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - frozenAt))));
  priv.resume();

  t.equal((await during).status, 200, 'the POST sent during the outage is acknowledged after it');
  await waitFor(
    'ready again',
    async () => (await getJson(`${server.url}/readyz`)).status === 200,
    30_000,
    250,
  );
  await touchEveryConnection();
  let after = await held();
  await waitFor(
    `the count back to ${before.n}`,
    async () => {
      after = await held();
      return after.n === before.n;
    },
    15_000,
    500,
  ).catch(() => {});
  t.equal(after.n, before.n, `the same number of connections after (${after.rows})`);
});
