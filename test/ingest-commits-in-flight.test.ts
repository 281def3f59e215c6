import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { mulberry32 } from './helpers/rng.js';
import { startServer, type TestServer } from './helpers/server.js';

/**
 * Several group commits in flight (INGEST_COMMITS_IN_FLIGHT=3, INGEST_OVERLAP_MIN_ITEMS=1): many connections post the
 * same (source, ref) keys at once, in shuffled orders and mixed with other keys, so one key
 * sits in several groups that overlap in the database. The later group's INSERT of that key
 * waits for the earlier one's COMMIT and then finds it a duplicate; rollup cells of the same
 * second are upserted by overlapping transactions. What must hold: one row per key, one id
 * per key in every answer (and that id is the stored one), rollup counts equal to the rows,
 * and no request refused or lost (a deadlock, should one happen, is retried, not answered).
 */

const POSTERS = 48;
const ROUNDS = 24;
/** Keys posted in one round: a window that moves by STEP each round, so rounds overlap too. */
const WINDOW = 24;
const STEP = 8;
const SOURCES = ['ach', 'wire', 'p2p'];
const CURRENCIES = ['USD', 'EUR'];
const ANSWER_TIMEOUT_MS = 30_000;

let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  db = await createTestDatabase();
  server = await startServer(['--sim-tps', '0', '--shards', '1'], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
    INGEST_COMMITS_IN_FLIGHT: '3',
    // Any waiting request may start a commit beside the running ones: small groups overlap.
    INGEST_OVERLAP_MIN_ITEMS: '1',
  });
});
t.teardown(async () => {
  await server?.stop();
  await db?.drop();
});

/** Key k: the same item every time it is posted. */
function item(k: number) {
  return {
    ref: `k-${k}`,
    source: SOURCES[k % SOURCES.length],
    account: `acct-${k % 13}`,
    amount: 100 + k,
    currency: CURRENCIES[k % CURRENCIES.length],
  };
}

interface Answered {
  key: string;
  id: string;
  duplicate: boolean;
}

async function poster(seed: number): Promise<Answered[]> {
  const rnd = mulberry32(seed);
  const out: Answered[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // 1 to 3 keys of this round's window, in a random order.
    const n = 1 + Math.floor(rnd() * 3);
    const keys = new Set<number>();
    while (keys.size < n) keys.add(round * STEP + Math.floor(rnd() * WINDOW));
    const body = [...keys].map(item);
    const r = await fetch(`${server.url}/api/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    });
    const a = (await r.json()) as {
      items: { index: number; id: string; duplicate: boolean }[];
    };
    if (r.status !== 200) throw new Error(`answer ${r.status}: ${JSON.stringify(a)}`);
    for (const it of a.items) {
      const b = body[it.index]!;
      out.push({ key: `${b.source}/${b.ref}`, id: it.id, duplicate: it.duplicate });
    }
  }
  return out;
}

t.test('overlapping duplicates across commits in flight: one row and one id per key', async (t) => {
  const answers = (
    await Promise.all(Array.from({ length: POSTERS }, (_, i) => poster(1000 + i)))
  ).flat();

  const idOf = new Map<string, string>();
  let conflicting = 0;
  for (const a of answers) {
    const seen = idOf.get(a.key);
    if (seen === undefined) idOf.set(a.key, a.id);
    else if (seen !== a.id) conflicting++;
  }
  t.equal(conflicting, 0, 'every answer for one (source, ref) carries the same id');
  t.equal(
    answers.filter((a) => !a.duplicate).length,
    idOf.size,
    'exactly one answer per key says it was new',
  );
  t.ok(answers.length > idOf.size * 3, 'keys were posted many times over');

  const [rows] = await db.conn.query(
    'SELECT source, ref, CAST(id AS CHAR) AS id FROM transactions',
  );
  const stored = rows as { source: string; ref: string; id: string }[];
  t.equal(stored.length, idOf.size, 'one row per (source, ref)');
  const wrong = stored.filter((r) => idOf.get(`${r.source}/${r.ref}`) !== r.id);
  t.same(wrong, [], 'the stored id is the answered id');

  const [refs] = await db.conn.query(
    `SELECT COUNT(*) AS n FROM ingest_refs r JOIN transactions x ON x.id = r.id
      AND x.source = r.source AND x.ref = r.ref`,
  );
  t.equal(Number((refs as { n: number }[])[0]!.n), idOf.size, 'every key points at its row');

  // Rollup counts per (second, source, currency) next to the rows they summarise.
  const [cells] = await db.conn.query(
    `SELECT r.second, r.source, r.currency, r.count, t.n
       FROM (SELECT second, source, currency, SUM(count) AS count FROM rollup_seconds
              GROUP BY second, source, currency) r
       LEFT JOIN (SELECT FLOOR(completed_ms / 1000) AS second, source, currency, COUNT(*) AS n
                    FROM transactions GROUP BY 1, 2, 3) t
         ON t.second = r.second AND t.source = r.source AND t.currency = r.currency`,
  );
  const list = cells as { count: unknown; n: unknown }[];
  t.ok(list.length > 0, 'rollup cells were written');
  t.same(
    list.filter((c) => String(c.count) !== String(c.n)),
    [],
    'every rollup count equals its rows',
  );
  const [sum] = await db.conn.query('SELECT SUM(count) AS n FROM rollup_seconds');
  t.equal(Number((sum as { n: unknown }[])[0]!.n), idOf.size, 'rollups count every row once');

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, /pulseboard_ingest_items_refused_total 0\b/, 'nothing refused');
  const deadlocks = /pulseboard_ingest_deadlock_retries_total (\d+)/.exec(metrics);
  t.ok(deadlocks, 'deadlock retries are counted');
  t.comment(`deadlock retries: ${deadlocks?.[1]}`);
});
