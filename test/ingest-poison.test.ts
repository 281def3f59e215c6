import mysql from 'mysql2/promise';
import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * Regression (issue 15 §1): one ingest body whose amounts sum past a signed BIGINT in one
 * rollup cell made the group-commit INSERT fail with ER_WARN_DATA_OUT_OF_RANGE, and the
 * ingest thread retried the same rows forever: that request never answered, nor did any
 * later one. Every request here has a client timeout, so the old code fails instead of
 * hanging the suite. Also: a request the database refuses for good is answered 422 on its
 * own while its neighbours in the same group commit, and a transient error is retried.
 */

const ANSWER_TIMEOUT_MS = 15_000;
const MAX_AMOUNT = 1_000_000_000_000_000; // 10^15, the validator's largest amount
const INT64_MAX = 2n ** 63n - 1n;
/** /readyz calls an ingest commit running longer than this stuck. */
const READY_LAG = ['--ready-max-lag-ms', '2000'];

let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  db = await createTestDatabase();
  server = await startServer(['--sim-tps', '0', '--shards', '1', ...READY_LAG], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
    // One commit at a time: the commit held on a lock below keeps the three requests sent
    // meanwhile queued as one group (a second committer would take them as they come).
    INGEST_COMMITS_IN_FLIGHT: '1',
  });
});
t.teardown(async () => {
  await server?.stop();
  await db?.drop();
});

interface Answer {
  status: number;
  body: any;
}

async function post(items: unknown[]): Promise<Answer> {
  const r = await fetch(`${server.url}/api/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(items),
    signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
  });
  return { status: r.status, body: await r.json() };
}

function items(prefix: string, n: number, amount: number, source = 'ach', currency = 'USD') {
  return Array.from({ length: n }, (_, i) => ({
    ref: `${prefix}-${i}`,
    source,
    account: `acct-${i % 97}`,
    amount,
    currency,
  }));
}

/** Rollup sums per (second, source, currency) next to SUM over the rows they summarise. */
async function rollupsAgainstRows(
  source: string,
): Promise<{ second: string; rollup: string; volume: string; rows: string; count: string }[]> {
  const [r] = await db.conn.query(
    `SELECT r.second, r.amount AS rollup, r.volume, t.amount AS rows_, r.count, t.n
       FROM (SELECT second, SUM(amount) AS amount, SUM(volume) AS volume, SUM(count) AS count
               FROM rollup_seconds WHERE source = ? GROUP BY second) r
       LEFT JOIN (SELECT FLOOR(completed_ms / 1000) AS second, SUM(amount) AS amount, COUNT(*) AS n
                    FROM transactions WHERE source = ? GROUP BY 1) t ON t.second = r.second
      ORDER BY r.second`,
    [source, source],
  );
  return (r as Record<string, unknown>[]).map((x) => ({
    second: String(x.second),
    rollup: String(x.rollup),
    volume: String(x.volume),
    rows: String(x.rows_),
    count: String(x.count),
  }));
}

t.test(
  'a body of 10,000 × 10^15 in one cell no longer stops all ingest (regression)',
  async (t) => {
    const big = items('big', 10_000, MAX_AMOUNT, 'wire', 'EUR');
    const started = Date.now();
    const first = await post(big);
    t.equal(
      first.status,
      200,
      `the big body is answered (${JSON.stringify(first.body.error ?? 'no error')})`,
    );
    t.equal(first.body.accepted, 10_000);
    t.ok(Date.now() - started < ANSWER_TIMEOUT_MS, 'answered before the client timeout');

    const next = await post(items('after-big', 3, 1999, 'wire', 'EUR'));
    t.equal(next.status, 200, 'the next ordinary request succeeds');
    t.equal(next.body.accepted, 3);

    // The cell holds 10^19 exactly: more than a signed BIGINT, and exact (not a double).
    const cells = await rollupsAgainstRows('wire');
    const jsSum = BigInt(MAX_AMOUNT) * 10_000n + 3n * 1999n;
    const total = cells.reduce((s, c) => s + BigInt(c.rollup), 0n);
    t.equal(total, jsSum, 'the rollup sum equals a BigInt sum of the amounts');
    t.ok(total > INT64_MAX, 'which is past a signed BIGINT');
    for (const c of cells) {
      t.equal(c.rollup, c.rows, `second ${c.second}: rollup = SUM over transactions`);
      t.equal(c.volume, c.rollup, `second ${c.second}: volume (all completed) = amount`);
    }
  },
);

t.test('two ordinary requests that overflow one BIGINT cell together both commit', async (t) => {
  // 9,000 × 10^15 = 9·10^18 each fits a BIGINT alone; two in the same second do not. They go
  // in two group commits (5,000 items at most per group), so the second one meets the first
  // through the upsert (amount = amount + VALUES(amount)). Sent at the start of a second so
  // both land in it; up to three tries if the machine is too slow for that.
  let overflowed = false;
  for (let attempt = 0; attempt < 3 && !overflowed; attempt++) {
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
    const [a, b] = await Promise.all([
      post(items(`pair${attempt}-a`, 9_000, MAX_AMOUNT, 'p2p', 'GBP')),
      post(items(`pair${attempt}-b`, 9_000, MAX_AMOUNT, 'p2p', 'GBP')),
    ]);
    t.equal(a.status, 200, 'first request committed');
    t.equal(b.status, 200, 'second request committed');
    const cells = await rollupsAgainstRows('p2p');
    overflowed = cells.some((c) => BigInt(c.rollup) > INT64_MAX);
  }
  t.ok(overflowed, 'one rollup cell holds more than a signed BIGINT');
  const next = await post(items('after-pair', 1, 500, 'p2p', 'GBP'));
  t.equal(next.status, 200, 'and ingest goes on');
  const cells = await rollupsAgainstRows('p2p');
  for (const c of cells) t.equal(c.rollup, c.rows, `second ${c.second}: rollup = SUM(amount)`);
});

/**
 * The ingest thread's connection while its INSERT into ingest_refs waits on our lock: not
 * `except` (the holder's own connection, whose INSERT can still show in the process list
 * for a moment after its answer reached us: KILLing it released the lock and the test
 * waited 20 s for a retry that had no reason to come).
 */
async function ingestWaitingOnLock(except: string[]): Promise<string | undefined> {
  const [rows] = await db.conn.query(
    `SELECT ID AS id FROM information_schema.PROCESSLIST
      WHERE DB = ? AND ID <> CONNECTION_ID() AND INFO LIKE '%INSERT INTO ingest_refs%'`,
    [db.name],
  );
  const ids = (rows as { id: string }[])
    .map((r) => String(r.id))
    .filter((id) => !except.includes(id));
  return ids[0];
}

async function counter(name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

t.test(
  'a refused request is answered 422 at once, its group neighbours commit, a KILL is retried',
  async (t) => {
    // A real permanent error from the database: a CHECK constraint refuses amount 4242.
    await db.conn.query(
      'ALTER TABLE transactions ADD CONSTRAINT pb_test_poison CHECK (amount <> 4242)',
    );
    t.teardown(() => db.conn.query('ALTER TABLE transactions DROP CONSTRAINT pb_test_poison'));
    const refusedBefore = await counter('pulseboard_ingest_items_refused_total');

    // Hold the ingest thread's next commit on a row lock, so that the requests sent
    // meanwhile queue up and share one group commit.
    const holder = await mysql.createConnection({ uri: db.url });
    t.teardown(() => holder.end().catch(() => holder.destroy()));
    await holder.query('START TRANSACTION');
    await holder.query(
      "INSERT INTO ingest_refs (source, ref, id, created_ms) VALUES ('ach', 'blocker', 1, 0)",
    );
    const blocker = post(items('blocker', 1, 100).map((i) => ({ ...i, ref: 'blocker' })));
    const holderId = String(holder.threadId);
    const firstConn = await waitFor('the ingest commit waiting on the lock', () =>
      ingestWaitingOnLock([holderId]),
    );
    // A transient error: its connection killed mid-commit. It must retry, not give up.
    await db.conn.query(`KILL ${firstConn}`);
    await waitFor('the ingest commit retried, waiting again', () =>
      ingestWaitingOnLock([holderId, firstConn]),
    ).catch(async (err: Error) => {
      // What the database and the server saw, so that a timeout says why.
      const [rows] = await db.conn.query(
        'SELECT ID, COMMAND, STATE, TIME, LEFT(INFO, 80) AS info FROM information_schema.PROCESSLIST WHERE DB = ?',
        [db.name],
      );
      const logs = server.logs.slice(-15).map((l) => JSON.stringify(l));
      throw new Error(
        `${err.message}; killed ${firstConn} (holder ${holderId}); processlist ${JSON.stringify(rows)}; server logs ${logs.join(' | ')}`,
      );
    });
    // What /readyz said last, so that a timeout says why (another reason can come first).
    let lastReady = '';
    const stuck = await waitFor(
      '/readyz to name the stuck ingest commit',
      async () => {
        const r = await fetch(`${server.url}/readyz`);
        const body = (await r.json()) as { error?: { message: string } };
        lastReady = `${r.status} ${body.error?.message ?? ''}`;
        return (
          r.status === 503 && body.error?.message.startsWith('ingest stuck') && body.error.message
        );
      },
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; /readyz said last: ${lastReady}`);
    });
    t.match(
      stuck,
      /^ingest stuck: one group commit running for \d+ ms \(attempts failed: 1, last error [A-Z_0-9]+;/,
      '/readyz names the ingest commit that is stuck, with the cause',
    );

    const good = items('neighbour-a', 50, 1999);
    const poison = [...items('poison', 20, 777), { ...items('poison-x', 1, 4242)[0] }];
    const other = items('neighbour-b', 30, 2500, 'wire', 'EUR');
    const answers = [post(good), post(poison), post(other)];
    // Parsed and queued behind the held commit long before this.
    await new Promise((r) => setTimeout(r, 1000));
    await holder.query('ROLLBACK');
    const released = Date.now();
    const [b, a, p, o] = await Promise.all([blocker, ...answers]);
    const took = Date.now() - released;

    t.equal(b!.status, 200, 'the blocked request committed after its connection was killed');
    t.equal(b!.body.accepted, 1);
    t.equal(a!.status, 200, 'neighbour a committed');
    t.equal(a!.body.accepted, 50);
    t.equal(o!.status, 200, 'neighbour b committed');
    t.equal(o!.body.accepted, 30);
    t.equal(p!.status, 422, 'the refused request is answered 422');
    t.equal(p!.body.error?.code, 'PB_ERR_INGEST_REJECTED');
    t.equal(p!.body.error?.cause, 'ER_CONSTRAINT_FAILED', 'naming the cause');
    t.notMatch(p!.body.error?.message, /127\.0\.0\.1|pb_test_poison|CONSTRAINT `/, 'in our words');
    t.ok(took < 5000, `all answered within ${took} ms of the release`);

    // The log line travels through the server's stdout, which may trail the HTTP answer.
    const refused = await waitFor(
      'the refusal in the log',
      async () => server.logs.find((l) => l.code === 'PB_ERR_INGEST_REJECTED'),
      5000,
    );
    t.equal(refused.groupRequests, 3, 'the three requests were one group commit');
    t.equal(refused.level, 50, 'logged at error level');
    const retried = server.logs.filter(
      (l) => l.msg === 'ingest commit failed; retrying with backoff',
    );
    t.ok(retried.length > 0, 'the killed commit was logged and retried');

    const [rows] = await db.conn.query(
      `SELECT SUBSTRING_INDEX(ref, '-', 1) AS k, COUNT(*) AS n, COUNT(DISTINCT id) AS d
         FROM transactions WHERE ref LIKE 'neighbour-%' OR ref LIKE 'poison%' OR ref = 'blocker'
        GROUP BY k ORDER BY k`,
    );
    t.same(
      (rows as { k: string; n: string; d: string }[]).map((r) => [r.k, Number(r.n), Number(r.d)]),
      [
        ['blocker', 1, 1],
        ['neighbour', 80, 80],
      ],
      'the neighbours are stored once each, nothing of the refused request',
    );
    const [refs] = await db.conn.query(
      "SELECT COUNT(*) AS n FROM ingest_refs WHERE ref LIKE 'poison%'",
    );
    t.equal(Number((refs as { n: string }[])[0]!.n), 0, 'its references are not taken');

    const next = await post(items('after-poison', 2, 300));
    t.equal(next.status, 200, 'the next ordinary request succeeds');
    await waitFor(
      'the refused items counted in /metrics',
      async () => {
        const n = await counter('pulseboard_ingest_items_refused_total');
        return n === refusedBefore + poison.length;
      },
      5000,
    );
    const again = await post(poison);
    t.equal(again.status, 422, 'the same body is refused again, alone, at once');
    const ready = await fetch(`${server.url}/readyz`);
    t.equal(ready.status, 200, 'and the server stays ready');
  },
);

t.test(
  'the windows show the exact volume, live and after a restart (reloaded rollups)',
  async (t) => {
    const [rows] = await db.conn.query(
      "SELECT currency, CAST(SUM(amount) AS CHAR) AS v FROM transactions WHERE status = 'completed' GROUP BY currency",
    );
    const want = Object.fromEntries(
      (rows as { currency: string; v: string }[]).map((r) => [r.currency, r.v]),
    );
    t.ok(BigInt(want.EUR!) > INT64_MAX, 'EUR holds more than a signed BIGINT');
    const shown = async () => {
      const r = await fetch(`${server.url}/api/metrics`);
      const w = ((await r.json()) as any).windows['1h'];
      return Object.fromEntries(
        Object.keys(w.volume).map((c) => [c, w.volumeExact?.[c] ?? String(w.volume[c])]),
      );
    };
    // The snapshot is at most one tick old.
    await new Promise((r) => setTimeout(r, 700));
    t.same(await shown(), want, 'live windows: exact per currency');
    await server.stop();
    server = await startServer(['--sim-tps', '0', '--shards', '1', ...READY_LAG], {
      MYSQL_URL: db.url,
      PERSISTENCE: 'required',
    });
    t.same(await shown(), want, 'after a restart, from the rollups: exact per currency');
  },
);
