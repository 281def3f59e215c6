import t from 'tap';
import { createTestDatabase } from './helpers/database.js';
import { startServer } from './helpers/server.js';
import { auditAcked, namedDown, produce, totals, watchReadyz } from './helpers/supervise.js';
import { drainPipeline, getJson, waitFor } from './helpers/wait-for.js';

/**
 * A simulator shard thread, then a MySQL writer thread, dies in a real server with
 * persistence while the simulator runs and HTTP producers ingest (issue 10, part 3). The
 * test-only fault switch picks the moment:
 *   shard  — mid-batch, holding its seqlock, with records written to the ring but not
 *            published (the in-process checks of that are in supervise-shard.test.ts);
 *   writer — right after a COMMIT, before the ring slots are released: the restarted
 *            writer finds those records unreleased and must not count them twice.
 * For each: /readyz answers 503 naming the thread while it is down and 200 after; the
 * thread is restarted and the pipeline runs on; after a drain every completed transaction
 * is in MySQL exactly once (rows = the completed count, no duplicate id), the per-second
 * rollups count every row once (their sum = rows: a writer re-sending a committed batch on
 * the first-attempt path would add its rollups again), and every acknowledged ingest is
 * there exactly once. Before supervision either failure shut the whole server down.
 */

const cases = [
  {
    role: 'shard',
    thread: 'shard 0',
    fault: 'shard:20000',
    args: ['--shards', '1', '--db-writers', '1'],
  },
  {
    role: 'writer',
    thread: 'writer 0',
    fault: 'writer:20000',
    args: [
      '--shards',
      '1',
      '--db-writers',
      '1',
      '--db-connections',
      '2',
      '--db-batch-size',
      '2000',
    ],
  },
];

for (const c of cases) {
  t.test(`a ${c.role} thread dies: restarted, nothing lost, nothing twice`, async (t) => {
    const db = await createTestDatabase(`pb_sup_${c.role}`);
    t.teardown(() => db.drop());
    const server = await startServer(['--sim-tps', '5000', '--ingest-rate-limit', '0', ...c.args], {
      MYSQL_URL: db.url,
      PERSISTENCE: 'required',
      PB_FAULT_THROW: c.fault,
    });
    t.teardown(() => server.stop('SIGKILL'));
    const readyz = watchReadyz(server.url);
    const producers = produce(server.url, `sup-${c.role}`, { count: 2 });

    const restarted = await waitFor(
      `${c.thread} restarted`,
      async () => server.logs.some((l) => l.msg === `${c.thread} thread restarted`),
      30_000,
    ).catch(() => false);
    t.ok(restarted, `${c.thread} was restarted`);
    // The pipeline runs on: another 10,000 completions after the restart.
    const at = (await getJson(`${server.url}/api/metrics`)).body.pipeline.completed as number;
    const runsOn = await waitFor(
      'completions after the restart',
      async () =>
        (await getJson(`${server.url}/api/metrics`)).body.pipeline.completed > at + 10_000,
      20_000,
    ).catch(() => false);
    t.ok(runsOn, 'the simulator and the writers run on');
    await producers.stop();
    const notReady = await readyz.stop();

    const down = namedDown(notReady, c.thread);
    t.ok(down, `/readyz answered 503 naming ${c.thread} while it was down`);
    t.equal(down?.body.error?.code, 'PB_ERR_THREAD_DOWN', 'with PB_ERR_THREAD_DOWN');
    const failed = server.logs.find((l) => l.code === 'PB_ERR_THREAD_DOWN');
    t.equal(failed?.level, 50, 'the failure is logged at error level');
    t.equal(failed?.thread, c.thread, 'naming the thread');

    const scrape = await (await fetch(`${server.url}/metrics`)).text();
    t.match(
      scrape,
      `pulseboard_thread_restarts_total{role="${c.role}"} 1\n`,
      'GET /metrics counts the restart',
    );
    t.equal(producers.hung, 0, 'no ingest request went unanswered');
    await drainPipeline(server.url);
    t.equal((await getJson(`${server.url}/readyz`)).status, 200, 'ready after the restart');
    const { body: m } = await getJson(`${server.url}/api/metrics`);
    const { rows, ids, rollup } = await totals(db);
    const ingested = producers.acked.size;
    t.equal(rows, m.pipeline.completed, `every completed transaction is in MySQL (${rows})`);
    t.equal(ids, rows, `no duplicate id (${rows} rows)`);
    t.equal(rollup, rows, 'the rollups count every row once');
    t.same(
      await auditAcked(db, `sup-${c.role}`, producers.acked),
      { missing: 0, duplicated: 0, otherId: 0 },
      `each of ${ingested} acknowledged ingests exactly once`,
    );
  });
}
