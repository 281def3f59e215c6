import { readFileSync } from 'node:fs';
import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';
import { TestClient } from './helpers/ws-client.js';
import { startServerWith } from './helpers/ws-threads.js';

/**
 * Sources are whatever producers send (issue 12 §1). Tried as a new user would, the
 * README's own ingest example was refused (400 PB_ERR_INGEST_INVALID "unknown source"):
 * only the simulator's SOURCES were known. Now a valid name becomes a tracked source on
 * first use, in every thread (window rows, top sources, `source/<name>`, history,
 * rollups), bounded by SOURCES_MAX (past it: `other`, nothing refused), and known again
 * after a restart from the last hour's rollups.
 */

/** The body of the README's `curl … /api/transactions … -d '…'` example, verbatim. */
function readmeIngestBody(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const m = /curl -s localhost:8080\/api\/transactions [^\n]*-d '([^']*)'/.exec(readme);
  if (m === null) throw new Error('README has no curl example for /api/transactions');
  return m[1]!;
}

async function post(url: string, body: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${url}/api/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: r.status, body: await r.json() };
}

async function topSources(url: string, window = '1m'): Promise<Record<string, number>> {
  const { body } = await getJson(`${url}/api/metrics`);
  const out: Record<string, number> = {};
  for (const s of body.topSources[window] as { source: string; count: number }[])
    out[s.source] = s.count;
  return out;
}

async function metricValue(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

async function subscribeAck(wsUrl: string, topic: string): Promise<{ c: TestClient; ack: any }> {
  const c = await TestClient.connect(wsUrl);
  c.send(JSON.stringify({ op: 'subscribe', topics: [topic] }));
  await c.until((x) => x.of('control').length >= 1, 3000, 'subscribe answer');
  return { c, ack: c.of('control')[0]!.data };
}

t.test("the README's ingest example works against a default server", async (t) => {
  const db: TestDatabase = await createTestDatabase('pb_src_readme');
  const server: TestServer = await startServer(['--tick-ms', '200'], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
  });
  t.teardown(async () => {
    await server.stop();
    await db.drop();
  });

  // The topic of a source no one has sent yet is unknown; it is known once the name is.
  const before = await subscribeAck(server.wsUrl, 'source/shop-web');
  before.c.close();
  t.equal(before.ack.ok, false, 'source/shop-web is not a topic before shop-web is seen');

  const r = await post(server.url, readmeIngestBody());
  t.equal(r.status, 200, JSON.stringify(r.body));
  t.equal(r.body.accepted, 2, 'both items accepted');
  t.same(r.body.rejected, []);

  // The first item completed now: live in top sources.
  const top = await waitFor('shop-web in top sources', async () => {
    const s = await topSources(server.url, '1m');
    return s['shop-web'] === 1 && s;
  });
  t.equal(top['shop-web'], 1, 'top sources show shop-web');

  const { c, ack } = await subscribeAck(server.wsUrl, 'source/shop-web');
  t.teardown(() => c.close());
  t.same(ack, { ok: true, op: 'subscribe', topics: ['source/shop-web'] }, 'its topic exists now');
  await c.until((x) => x.of('source/shop-web').length >= 1, 3000, 'a source/shop-web frame');
  t.equal(c.of('source/shop-web')[0]!.data.source, 'shop-web');
  t.equal(c.of('source/shop-web')[0]!.data.windows['1m'].count, 1, 'its frame counts the item');

  // Both items in MySQL, with their rollups keyed on the name; the second (created
  // 2026-11-27T10:00:00Z, failed) is a late arrival and shows in the history of its second.
  const [rows] = await db.conn.query(
    "SELECT ref, status FROM transactions WHERE source = 'shop-web' ORDER BY ref",
  );
  t.same(rows, [
    { ref: 'order-1002', status: 'completed' },
    { ref: 'order-1003', status: 'failed' },
  ]);
  const [roll] = await db.conn.query(
    "SELECT SUM(count) AS n FROM rollup_seconds WHERE source = 'shop-web'",
  );
  t.equal(Number((roll as { n: string }[])[0]!.n), 2, 'rollups keyed on shop-web');
  const late = Date.parse('2026-11-27T10:00:00Z') + 840;
  const lateSecond = Math.floor(late / 1000) * 1000;
  const h = await getJson(
    `${server.url}/api/history?metric=tps,failed&source=shop-web&from=${lateSecond - 5000}&to=${lateSecond + 5000}`,
  );
  t.equal(h.status, 200, JSON.stringify(h.body));
  const i = (h.body.t as number[]).indexOf(lateSecond);
  t.ok(i !== -1, 'history of shop-web has the late item’s second');
  t.equal(h.body.series.failed[i], 1, 'counted as failed there');
});

// A fan-out thread once indexed its subscriber counts by the topic list taken at startup:
// a source first sent later had no column, so the tick saw nobody subscribed and sent
// nothing, and the thread's catalog (SOURCES only) refused the topic outright.
t.test('WS_THREADS=2: a source first sent after startup reaches its subscribers', async (t) => {
  const db = await createTestDatabase('pb_src_fanout');
  const server = await startServerWith(2, ['--sim-tps', '0', '--tick-ms', '200'], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
  });
  t.teardown(async () => {
    await server.stop();
    await db.drop();
  });
  t.not(server.wsPort, server.port, '/ws is served by the fan-out threads');

  const before = await subscribeAck(server.wsUrl, 'source/late-shop');
  before.c.close();
  t.equal(before.ack.ok, false, 'unknown on the fan-out thread before anyone sent it');

  const item = (ref: string) =>
    JSON.stringify({ ref, source: 'late-shop', account: 'C-1', amount: 100, currency: 'USD' });
  t.equal((await post(server.url, item('late-1'))).status, 200);

  // Two sockets: the kernel spreads them over the threads, each counts in its own column.
  const subs = [
    await subscribeAck(server.wsUrl, 'source/late-shop'),
    await subscribeAck(server.wsUrl, 'source/late-shop'),
  ];
  t.teardown(() => {
    for (const { c } of subs) c.close();
  });
  for (const { ack } of subs)
    t.same(ack, { ok: true, op: 'subscribe', topics: ['source/late-shop'] }, 'known now');
  for (const { c } of subs) {
    await c.until((x) => x.of('source/late-shop').length >= 1, 3000, 'a source/late-shop frame');
    t.equal(c.of('source/late-shop')[0]!.data.source, 'late-shop');
  }

  // Sent while subscribed: the topic's next frames count it.
  t.equal((await post(server.url, item('late-2'))).status, 200);
  for (const { c } of subs) {
    await c.until(
      (x) => x.of('source/late-shop').some((f) => f.data.windows['1m'].count === 2),
      3000,
      'late-2 counted in a source/late-shop frame',
    );
  }
});

t.test(
  'past SOURCES_MAX: counted as other, stored by name, logged once; known after restart',
  async (t) => {
    const db = await createTestDatabase('pb_src_overflow');
    const env = { MYSQL_URL: db.url, PERSISTENCE: 'required' };
    const args = ['--sim-tps', '0', '--shards', '1', '--tick-ms', '200'];
    const sourceArgs = ['--sources', 'ach,wire', '--sources-max', '4'];
    let server = await startServer([...args, ...sourceArgs], env);
    t.teardown(async () => {
      await server.stop();
      await db.drop();
    });

    // ach, wire are slots 0, 1; a1 and a2 take the last two; a3, a4 (twice), a5 overflow.
    const names = ['a1', 'a2', 'a3', 'a4', 'a4', 'a5'];
    const body = JSON.stringify(
      names.map((source, k) => ({
        ref: `r-${k}`,
        source,
        account: 'C-1',
        amount: 100,
        currency: 'USD',
      })),
    );
    const r = await post(server.url, body);
    t.equal(r.status, 200, JSON.stringify(r.body));
    t.equal(r.body.accepted, 6, 'nothing refused for the bound');
    // One more request with an overflowed name already seen: still logged once.
    const again = await post(
      server.url,
      JSON.stringify({
        ref: 'r-again',
        source: 'a3',
        account: 'C-1',
        amount: 100,
        currency: 'USD',
      }),
    );
    t.equal(again.status, 200);

    const top = await waitFor('overflow in top sources', async () => {
      const s = await topSources(server.url, '1m');
      return s.other === 5 && s;
    });
    t.same(top, { a1: 1, a2: 1, other: 5 }, 'a3, a4, a5 count as other');

    const [stored] = await db.conn.query(
      'SELECT source, COUNT(*) AS n FROM transactions GROUP BY source ORDER BY source',
    );
    t.same(
      (stored as { source: string; n: number }[]).map((x) => [x.source, Number(x.n)]),
      [
        ['a1', 1],
        ['a2', 1],
        ['a3', 2],
        ['a4', 2],
        ['a5', 1],
      ],
      'MySQL holds every real name',
    );

    const logged = server.logs
      .filter((l) => l.code === 'PB_ERR_SOURCE_OVERFLOW')
      .map((l) => l.source)
      .sort();
    t.same(logged, ['a3', 'a4', 'a5'], 'each overflowed name logged once');
    t.equal(await metricValue(server.url, 'pulseboard_source_overflow_items_total'), 5);
    t.equal(await metricValue(server.url, 'pulseboard_source_overflow_names_total'), 3);
    t.equal(await metricValue(server.url, 'pulseboard_sources_tracked'), 4);

    // Restart: the last hour's rollups bring the names back, busiest first, in their slots.
    await server.stop();
    server = await startServer([...args, ...sourceArgs], env);
    const after = await topSources(server.url, '1h');
    t.equal(after.a1, 1, 'a1 known again after the restart');
    t.equal(after.a2, 1, 'a2 known again after the restart');
    t.equal(after.other, 5, 'the overflow is still other');
    const { c, ack } = await subscribeAck(server.wsUrl, 'source/a1');
    c.close();
    t.equal(ack.ok, true, 'source/a1 is a topic again without a new item');
  },
);
