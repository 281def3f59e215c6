import { RetentionPolicy, StorageType } from 'nats';
import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import {
  natsClient,
  type PrivateNats,
  type StreamNames,
  startPrivateNats,
  streamArgs,
  uniqueStream,
} from './helpers/nats.js';
import { startServer, type TestServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * Exactly-once effect across a NATS crash: 100,000 messages (one transaction each) are in
 * the stream of a private nats-server (own port, own store; the shared one stays up), the
 * server consumes them, and the NATS server is killed with SIGKILL part-way and restarted
 * on the same store. Acks lost with it mean redeliveries; the (source, ref) idempotency
 * turns them into duplicates, so in MySQL every (source, ref) is there exactly once and
 * nothing is missing. Meanwhile /readyz says the stream is unreachable, and the outage is
 * logged once.
 */

const MESSAGES = 100_000;
const KILL_AFTER = 30_000;
const SOURCES = ['card-pos', 'ach', 'wire', 'mobile', 'atm', 'p2p'];
let nats: PrivateNats;
let db: TestDatabase;
let server: TestServer;
let names: StreamNames;

t.before(async () => {
  nats = await startPrivateNats();
  names = uniqueStream('kill', nats.server);
  db = await createTestDatabase('pb_stream_kill');
  // The stream exists before the server starts (the door checks it and adds its consumer).
  const nc = await natsClient(nats.server);
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({
    name: names.stream,
    subjects: [names.subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
  });
  const js = nc.jetstream();
  const WINDOW = 2000;
  for (let i = 0; i < MESSAGES; i += WINDOW) {
    const acks = [];
    for (let j = i; j < Math.min(MESSAGES, i + WINDOW); j++) {
      const item = {
        ref: `kill-${j}`,
        source: SOURCES[j % SOURCES.length],
        account: `acct-${j % 977}`,
        amount: 100 + (j % 5000),
        currency: 'EUR',
      };
      acks.push(js.publish(names.subject, JSON.stringify(item)));
    }
    await Promise.all(acks);
  }
  const info = await jsm.streams.info(names.stream);
  if (info.state.messages !== MESSAGES) throw new Error(`stream holds ${info.state.messages}`);
  await nc.close();
  server = await startServer(
    [...streamArgs(names), '--sim-tps', '0', '--ingest-stream-ack-wait-s', '5'],
    { MYSQL_URL: db.url, PERSISTENCE: 'required' },
  );
});

t.teardown(async () => {
  await server?.stop();
  await db?.drop();
  await nats?.destroy();
});

async function counts(): Promise<{ rows: number; keys: number; ids: number }> {
  const [r] = await db.conn.query(
    'SELECT COUNT(*) AS n, COUNT(DISTINCT source, ref) AS k, COUNT(DISTINCT id) AS d FROM transactions',
  );
  const x = (r as { n: string; k: string; d: string }[])[0]!;
  return { rows: Number(x.n), keys: Number(x.k), ids: Number(x.d) };
}

t.test('kill -9 of NATS mid-way: every message stored exactly once', async (t) => {
  await waitFor(
    `${KILL_AFTER} messages consumed`,
    async () => (await counts()).rows >= KILL_AFTER,
    40_000,
    50,
  );
  await nats.kill();
  const before = await counts();
  t.ok(before.rows < MESSAGES, `killed part-way (${before.rows} rows stored)`);

  const unready = await waitFor(
    '/readyz to say the stream is unreachable',
    async () => {
      const { status, body } = await getJson(`${server.url}/readyz`);
      return status === 503 && body;
    },
    15_000,
  );
  t.match(unready.error.message, /stream ingest unreachable/);

  await new Promise((r) => setTimeout(r, 1500));
  await nats.start();
  const { body: metrics } = await getJson(`${server.url}/api/metrics`);
  t.ok(metrics.pipeline, 'the server stayed up through the outage');

  await waitFor(
    'every message stored and acknowledged',
    async () => {
      const { body } = await getJson(`${server.url}/api/metrics`);
      const s = body.stream;
      return (
        s.state === 'consuming' &&
        s.lag === 0 &&
        s.lagAt > Date.now() - 2000 &&
        (await counts()).rows === MESSAGES
      );
    },
    50_000,
    250,
  );
  const after = await counts();
  t.same(after, { rows: MESSAGES, keys: MESSAGES, ids: MESSAGES }, 'none lost, none doubled');
  const { body: end } = await getJson(`${server.url}/api/metrics`);
  t.comment(`redelivered after the crash: ${end.stream.redelivered} (answered as duplicates)`);
  const [refs] = await db.conn.query('SELECT COUNT(*) AS n FROM ingest_refs');
  t.equal(Number((refs as { n: string }[])[0]!.n), MESSAGES, 'one idempotency key each');

  const outages = server.logs.filter(
    (l) =>
      l.code === 'PB_ERR_STREAM_UNREACHABLE' && /unreachable; reconnecting/.test(String(l.msg)),
  );
  t.equal(outages.length, 1, 'the outage is logged once');
  const { status } = await getJson(`${server.url}/readyz`);
  t.equal(status, 200, 'ready again');
});
