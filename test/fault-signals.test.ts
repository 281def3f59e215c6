import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';

/**
 * Faults (b) and (c): the process dies at full load with persistence on, while the
 * simulator runs and HTTP producers ingest.
 *   (b) SIGTERM: exit 0, and every completed or acknowledged transaction is in MySQL
 *       exactly once (rows = the `completed` count logged at shutdown, no duplicate id,
 *       every acknowledged ref once).
 *   (c) kill -9: every POST that got a 2xx is in MySQL exactly once; a restart on the same
 *       database comes up, and re-sending an acknowledged batch duplicates nothing.
 * (a), the database outage, is test/persistence-outage*.test.ts.
 */

const BATCH = 200;
const PRODUCERS = 4;

interface Producers {
  acked: string[];
  failed: number;
  stop(): Promise<void>;
}

/** PRODUCERS loops posting batches of unique refs; refs of 2xx answers are `acked`. */
function produce(url: string, prefix: string): Producers {
  const acked: string[] = [];
  let failed = 0;
  let running = true;
  const loops = Array.from({ length: PRODUCERS }, async (_, p) => {
    for (let n = 0; running; n++) {
      const refs = Array.from({ length: BATCH }, (_, i) => `${prefix}-${p}-${n}-${i}`);
      const body = JSON.stringify(
        refs.map((ref, i) => ({
          ref,
          source: 'wire',
          account: `acct-${p}`,
          amount: 100 + i,
          currency: 'EUR',
        })),
      );
      try {
        const r = await fetch(`${url}/api/transactions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const answer = (await r.json()) as { accepted?: number };
        if (r.status >= 200 && r.status < 300) {
          if (answer.accepted !== BATCH) throw new Error(`accepted ${answer.accepted} of ${BATCH}`);
          acked.push(...refs);
        } else failed++;
      } catch (err) {
        if ((err as Error).message.startsWith('accepted')) throw err;
        failed++; // the server went away mid-request: not acknowledged
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  return {
    acked,
    get failed() {
      return failed;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** How many times each of `refs` is in the transactions table (refs absent → 0). */
async function refCounts(db: TestDatabase, prefix: string): Promise<Map<string, number>> {
  const [rows] = await db.conn.query(
    'SELECT ref, COUNT(*) AS n FROM transactions WHERE ref LIKE ? GROUP BY ref',
    [`${prefix}-%`],
  );
  return new Map((rows as { ref: string; n: string }[]).map((r) => [r.ref, Number(r.n)]));
}

async function totals(db: TestDatabase): Promise<{ n: number; d: number }> {
  const [rows] = await db.conn.query(
    'SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM transactions',
  );
  const r = (rows as { n: string; d: string }[])[0]!;
  return { n: Number(r.n), d: Number(r.d) };
}

/** Acknowledged refs absent from MySQL, and those present more than once. */
function audit(
  acked: string[],
  counts: Map<string, number>,
): { missing: number; duplicated: number } {
  let missing = 0;
  let duplicated = 0;
  for (const ref of acked) {
    const n = counts.get(ref) ?? 0;
    if (n === 0) missing++;
    else if (n > 1) duplicated++;
  }
  return { missing, duplicated };
}

const serverArgs = ['--sim-tps', '10000', '--shards', '1', '--ingest-rate-limit', '0'];

t.test('(b) SIGTERM at full load: completed and acknowledged, exactly once', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const server: TestServer = await startServer(serverArgs, {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
  });
  t.teardown(() => server.stop('SIGKILL'));
  const producers = produce(server.url, 'term');
  await new Promise((r) => setTimeout(r, 4000));
  const started = Date.now();
  const code = await server.stop('SIGTERM');
  await producers.stop();
  t.equal(code, 0, `exit 0 after ${Date.now() - started} ms`);

  const stopped = server.logs.find((l) => l.msg === 'shards stopped') as
    | { completed?: number }
    | undefined;
  t.ok(stopped, 'logged the completed count at shutdown');
  const { n, d } = await totals(db);
  t.comment(
    `${n} rows; completed at shutdown ${stopped?.completed}; ${producers.acked.length} acknowledged by ingest; ${producers.failed} requests cut off`,
  );
  t.equal(n, stopped?.completed, 'every completed transaction is in MySQL');
  t.equal(d, n, 'no duplicate id');
  t.ok(producers.acked.length > 0, `${producers.acked.length} acknowledged transactions`);
  t.same(
    audit(producers.acked, await refCounts(db, 'term')),
    { missing: 0, duplicated: 0 },
    'each acknowledged one exactly once',
  );
});

t.test(
  '(c) kill -9 during ingest: every 2xx is in MySQL; restart; retries do not duplicate',
  async (t) => {
    const db = await createTestDatabase();
    t.teardown(() => db.drop());
    const server = await startServer(serverArgs, { MYSQL_URL: db.url, PERSISTENCE: 'required' });
    t.teardown(() => server.stop('SIGKILL'));
    const producers = produce(server.url, 'kill');
    await new Promise((r) => setTimeout(r, 3000));
    await server.stop('SIGKILL');
    await producers.stop();
    t.comment(
      `${producers.acked.length} acknowledged before kill -9; ${producers.failed} requests cut off`,
    );
    const counts = await refCounts(db, 'kill');
    t.ok(producers.acked.length > 0, `${producers.acked.length} acknowledged transactions`);
    t.same(
      audit(producers.acked, counts),
      { missing: 0, duplicated: 0 },
      'each acknowledged one exactly once',
    );
    const { n, d } = await totals(db);
    t.equal(d, n, 'no duplicate id');

    // Restart on the same database; re-send an acknowledged batch (a producer retrying).
    const again = await startServer(['--sim-tps', '0'], {
      MYSQL_URL: db.url,
      PERSISTENCE: 'required',
    });
    t.teardown(() => again.stop());
    const refs = producers.acked.slice(0, BATCH);
    const r = await fetch(`${again.url}/api/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        refs.map((ref, i) => ({
          ref,
          source: 'wire',
          account: 'acct-0',
          amount: 100 + i,
          currency: 'EUR',
        })),
      ),
    });
    const answer = (await r.json()) as { accepted: number; duplicates: number };
    t.equal(r.status, 200, 'the restarted server ingests');
    t.equal(answer.duplicates, refs.length, 'the re-sent batch is recognised as duplicates');
    t.same(await totals(db), { n, d }, 'and adds no row');
  },
);
