import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import {
  deleteStreams,
  natsClient,
  type StreamNames,
  streamArgs,
  uniqueStream,
} from './helpers/nats.js';
import { startServer, type TestServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * The JetStream door lives in the ingest thread, so it is supervised with it. The test-only
 * fault switch makes the thread throw after 3,000 committed items, right after a COMMIT and
 * before those messages are acknowledged (the worst moment). The thread is restarted, its
 * door reconnects to the same durable consumer, the dead thread's messages come back after
 * ack_wait (5 s) and are answered as duplicates: every message stored exactly once.
 */

const MESSAGES = 20_000;
let db: TestDatabase;
let server: TestServer;
const names: StreamNames = uniqueStream('sup');

t.before(async () => {
  db = await createTestDatabase('pb_stream_sup');
  server = await startServer(
    [...streamArgs(names), '--sim-tps', '0', '--ingest-stream-ack-wait-s', '5'],
    { MYSQL_URL: db.url, PERSISTENCE: 'required', PB_FAULT_THROW: 'ingest:3000' },
  );
  await waitFor('stream door consuming', async () => {
    const { body } = await getJson(`${server.url}/api/metrics`);
    return body.stream?.state === 'consuming';
  });
});

t.teardown(async () => {
  await server?.stop('SIGKILL');
  await deleteStreams(names);
  await db?.drop();
});

t.test('the ingest thread dies mid-stream: restarted, every message once', async (t) => {
  const nc = await natsClient();
  const js = nc.jetstream();
  for (let i = 0; i < MESSAGES; i += 2000) {
    const acks = [];
    for (let j = i; j < i + 2000; j++)
      acks.push(
        js.publish(
          names.subject,
          JSON.stringify({
            ref: `sup-${j}`,
            source: 'p2p',
            account: 'A',
            amount: 7,
            currency: 'GBP',
          }),
        ),
      );
    await Promise.all(acks);
  }
  await nc.close();
  await waitFor(
    'every message stored and the lag drained',
    async () => {
      const { body } = await getJson(`${server.url}/api/metrics`);
      const [r] = await db.conn.query('SELECT COUNT(*) AS n FROM transactions');
      return body.stream.lag === 0 && Number((r as { n: string }[])[0]!.n) === MESSAGES;
    },
    50_000,
    250,
  );
  t.ok(
    server.logs.some((l) => l.msg === 'ingest thread restarted'),
    'the ingest thread was restarted',
  );
  // The dead thread's unacknowledged messages come back only after ack_wait (5 s), possibly
  // after the rest has drained: wait for them, then count (they must not double anything).
  const redelivered = await waitFor(
    "the dead thread's messages redelivered",
    async () => {
      const { body } = await getJson(`${server.url}/api/metrics`);
      return body.stream.redelivered > 0 && body.stream.lag === 0 && body.stream.redelivered;
    },
    20_000,
    250,
  );
  t.ok(redelivered > 0, `the dead thread's messages redelivered (${redelivered})`);
  const [r] = await db.conn.query(
    'SELECT COUNT(*) AS n, COUNT(DISTINCT source, ref) AS k, COUNT(DISTINCT id) AS d FROM transactions',
  );
  const x = (r as { n: string; k: string; d: string }[])[0]!;
  t.same(
    [Number(x.n), Number(x.k), Number(x.d)],
    [MESSAGES, MESSAGES, MESSAGES],
    'none lost, none doubled',
  );
  t.equal((await getJson(`${server.url}/readyz`)).status, 200, 'ready again');
});
