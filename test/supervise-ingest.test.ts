import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';
import { auditAcked, namedDown, produce, totals, watchReadyz } from './helpers/supervise.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * The ingest thread dies (issue 10, part 3). The test-only fault switch makes it throw
 * after 3,000 committed items, right after a group's COMMIT and before its answers: the
 * worst moment, since those rows are durable and nobody was told. Producers post batches of
 * new refs and re-send whatever is not acknowledged after Retry-After.
 *   - no request hangs: every one is answered (200 or 503 + Retry-After) within its bound;
 *     before supervision the waiting requests stayed open forever;
 *   - /readyz answers 503 naming the ingest thread while it is down, 200 after;
 *   - the thread is restarted and ingest works again;
 *   - the group committed just before the crash is safe to retry: the re-sent requests get
 *     `duplicate: true` for every item, with the ids MySQL holds;
 *   - every acknowledged transaction is in MySQL exactly once, under the acknowledged id.
 */

const PREFIX = 'sup-ingest';
let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  db = await createTestDatabase('pb_sup_ingest');
  server = await startServer(['--sim-tps', '0', '--shards', '1', '--ingest-rate-limit', '0'], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
    PB_FAULT_THROW: 'ingest:3000',
  });
});

t.teardown(async () => {
  await server?.stop('SIGKILL');
  await db?.drop();
});

t.test(
  'the ingest thread dies after a COMMIT: no hung request, restart, exactly once',
  async (t) => {
    const readyz = watchReadyz(server.url);
    const producers = produce(server.url, PREFIX);
    // Bounded; on failure, go on to the assertions that say what went wrong.
    const restarted = await waitFor(
      'the ingest thread restarted and 3,000 more items acknowledged',
      async () =>
        server.logs.some((l) => l.msg === 'ingest thread restarted') &&
        producers.acked.size >= 6000,
      30_000,
    ).catch(() => false);
    await producers.stop(); // each request in flight is bounded (20 s): a hung one is counted
    const notReady = await readyz.stop();
    t.ok(restarted, 'the ingest thread was restarted and ingest works again');

    t.equal(producers.hung, 0, 'no request went unanswered');
    t.equal(producers.cutOff, 0, 'no connection was cut');
    const statuses = [...producers.refused.keys()];
    t.same(
      statuses,
      ['503 PB_ERR_THREAD_DOWN'],
      `refusals: ${JSON.stringify([...producers.refused])}`,
    );
    t.equal(producers.withoutRetryAfter, 0, 'every 503 carries Retry-After');

    const down = namedDown(notReady, 'ingest');
    t.ok(down, '/readyz answered 503 naming the ingest thread while it was down');
    t.equal(down?.body.error?.code, 'PB_ERR_THREAD_DOWN', 'with PB_ERR_THREAD_DOWN');
    t.equal((await getJson(`${server.url}/readyz`)).status, 200, 'and 200 after the restart');

    const failed = server.logs.find((l) => l.code === 'PB_ERR_THREAD_DOWN');
    t.equal(failed?.level, 50, 'the failure is logged at error level');
    t.equal(failed?.role, 'ingest', 'naming the role');

    t.ok(
      producers.duplicateRetries.length > 0,
      `${producers.duplicateRetries.length} re-sent requests found their items committed (duplicate: true)`,
    );
    const retried = producers.duplicateRetries.flatMap((d) => d.refs);
    const retriedIds = producers.duplicateRetries.flatMap((d) => d.ids);
    const [rows] = await db.conn.query(
      `SELECT ref, id FROM transactions WHERE ref IN (${retried.map(() => '?').join(',') || "''"})`,
      retried,
    );
    const stored = new Map(
      (rows as { ref: string; id: string }[]).map((r) => [r.ref, String(r.id)]),
    );
    t.same(
      retried.map((ref) => stored.get(ref)),
      retriedIds,
      'with the original ids, the ones MySQL holds',
    );

    t.same(
      await auditAcked(db, PREFIX, producers.acked),
      { missing: 0, duplicated: 0, otherId: 0 },
      `each of ${producers.acked.size} acknowledged transactions in MySQL exactly once`,
    );
    const { rows: n, ids } = await totals(db);
    t.equal(ids, n, 'no duplicate id');
    t.equal(n, producers.acked.size, 'and nothing that was not acknowledged');
  },
);
