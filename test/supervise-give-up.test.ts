import { once } from 'node:events';
import t from 'tap';
import { MAX_FAILURES } from '../src/supervise/restart-policy.js';
import { createTestDatabase } from './helpers/database.js';
import { startServer } from './helpers/server.js';
import { auditAcked, namedDown, produce, totals, watchReadyz } from './helpers/supervise.js';

/**
 * A thread that keeps failing is not restarted forever (issue 10, part 3): every new shard
 * thread throws again (PB_FAULT_THROW=shard:2000:99), and after MAX_FAILURES restarts within
 * a minute the server gives up — logs it at fatal level naming the thread, drains what it
 * can, and exits non-zero so that the service manager restarts the whole process. While it
 * flaps, /readyz names the thread; no ingest request hangs, and every acknowledged one is in
 * MySQL exactly once after the exit.
 */

t.test('a shard that keeps failing: the process gives up and exits non-zero', async (t) => {
  const db = await createTestDatabase('pb_sup_giveup');
  t.teardown(() => db.drop());
  const server = await startServer(
    ['--sim-tps', '5000', '--shards', '1', '--ingest-rate-limit', '0'],
    {
      MYSQL_URL: db.url,
      PERSISTENCE: 'required',
      PB_FAULT_THROW: 'shard:2000:99',
    },
  );
  t.teardown(() => server.stop('SIGKILL'));
  const readyz = watchReadyz(server.url);
  const producers = produce(server.url, 'sup-giveup', { count: 2 });

  // 'close', not 'exit': after the child's stdout is drained, so every log line is in.
  const exited = once(server.proc, 'close') as Promise<[number | null, string | null]>;
  const timer = setTimeout(() => server.proc.kill('SIGKILL'), 80_000);
  const [code, signal] = await exited;
  clearTimeout(timer);
  await producers.stop();
  const notReady = await readyz.stop();

  t.equal(signal, null, 'the server exited by itself');
  t.equal(code, 1, 'with a non-zero code');
  const failures = server.logs.filter(
    (l) => l.code === 'PB_ERR_THREAD_DOWN' && l.thread === 'shard 0',
  );
  t.equal(
    failures.length,
    MAX_FAILURES + 1,
    `${MAX_FAILURES} restarts, then the failure it gave up on`,
  );
  const fatal = server.logs.find((l) => l.code === 'PB_ERR_THREAD_RESTARTS_EXHAUSTED');
  t.equal(fatal?.level, 60, 'giving up is logged at fatal level');
  t.equal(fatal?.thread, 'shard 0', 'naming the thread');
  t.ok(namedDown(notReady, 'shard 0'), '/readyz named the shard while it was down');

  t.equal(producers.hung, 0, 'no ingest request went unanswered');
  t.ok(producers.acked.size > 0, `${producers.acked.size} ingests acknowledged`);
  t.same(
    await auditAcked(db, 'sup-giveup', producers.acked),
    { missing: 0, duplicated: 0, otherId: 0 },
    'each acknowledged ingest in MySQL exactly once',
  );
  const { rows, ids } = await totals(db);
  t.equal(ids, rows, `no duplicate id (${rows} rows)`);
});
