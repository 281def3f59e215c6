import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * One clock (issue 10, part 2): an ingested transaction counts in the second it completed
 * (createdAt + processingMs, on the Date.now() clock every thread shares). Posted through
 * the real HTTP ingest into a real server with persistence:
 * - created now: in the live windows, in its own second of the per-second history;
 * - created 2 h ago (a late arrival): stored with its rollup at its own second, so the
 *   rollup-table history shows it, but not in the 1 h window; counted as late.
 *
 * On the code before this change the late item was counted in the live windows at the
 * second it was received, and its rollup written at that second too: the 1 h count was 2,
 * the history of 2 h ago empty, and `ingestLate` did not exist.
 */

let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  db = await createTestDatabase();
  server = await startServer(['--sim-tps', '0', '--shards', '1', '--tick-ms', '200'], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
  });
});
t.teardown(async () => {
  await server?.stop();
  await db?.drop();
});

async function ingest(item: Record<string, unknown>): Promise<any> {
  const r = await fetch(`${server.url}/api/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ source: 'ach', account: 'acct-7', currency: 'EUR', ...item }),
  });
  const body = await r.json();
  if (r.status !== 200) throw new Error(`ingest answered ${r.status}: ${JSON.stringify(body)}`);
  return body;
}

async function historyAt(secondMs: number): Promise<number | undefined> {
  const { status, body } = await getJson(
    `${server.url}/api/history?metric=tps&from=${secondMs - 60_000}&to=${secondMs + 60_000}`,
  );
  if (status !== 200) throw new Error(`history answered ${status}: ${JSON.stringify(body)}`);
  const i = (body.t as number[]).indexOf(secondMs);
  return i === -1 ? undefined : (body.series.tps as number[])[i];
}

t.test('created now: counted live, in its own second', async (t) => {
  const createdAt = Date.now();
  const r = await ingest({ ref: 'now-1', amount: 1234, createdAt });
  t.equal(r.accepted, 1);
  const m = await waitFor('the item in the live windows', async () => {
    const { body } = await getJson(`${server.url}/api/metrics`);
    return body.windows['1m'].count === 1 && body;
  });
  t.equal(m.windows['1h'].count, 1, 'in the 1 h window');
  t.same(m.windows['1h'].volume, { EUR: 1234 });
  t.equal(m.pipeline.ingestLate, 0, 'not late');
  const second = Math.floor(createdAt / 1000) * 1000;
  // Once its second closes, the per-second history (from memory) has it in that second.
  const n = await waitFor('its second in the history', () => historyAt(second), 10_000, 200);
  t.equal(n, 1, `one transaction in the second of ${new Date(second).toISOString()}`);
});

t.test('created 2 h ago: in history, not in the 1 h window', async (t) => {
  const processingMs = 250;
  const createdAt = Date.now() - 2 * 3_600_000;
  const r = await ingest({ ref: 'old-1', amount: 777, createdAt, processingMs });
  t.equal(r.accepted, 1);
  const m = await waitFor('the late item counted', async () => {
    const { body } = await getJson(`${server.url}/api/metrics`);
    return body.pipeline.ingestLate === 1 && body;
  });
  t.equal(m.windows['1h'].count, 1, 'the 1 h window still holds only the first item');
  t.same(m.windows['1h'].volume, { EUR: 1234 }, 'and only its volume');
  t.equal(m.pipeline.completed, 2, 'both were ingested');

  const completedAt = createdAt + processingMs;
  const [rows] = await db.conn.query('SELECT completed_ms FROM transactions WHERE ref = ?', [
    'old-1',
  ]);
  t.equal(Number((rows as { completed_ms: string }[])[0]?.completed_ms), completedAt);
  const second = Math.floor(completedAt / 1000) * 1000;
  t.equal(await historyAt(second), 1, 'the rollup-table history has it in its own second');
  const now = Math.floor(Date.now() / 1000) * 1000;
  const [recent] = await db.conn.query(
    'SELECT COALESCE(SUM(count), 0) AS n FROM rollup_seconds WHERE second >= ?',
    [now / 1000 - 60],
  );
  t.equal(Number((recent as { n: string }[])[0]!.n), 1, 'no rollup at the time it arrived');
});
