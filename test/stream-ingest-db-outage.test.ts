import mysql from 'mysql2/promise';
import t from 'tap';
import {
  createTestDatabase,
  type PrivateDatabase,
  startPrivateDatabase,
  type TestDatabase,
} from './helpers/database.js';
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
 * A 20 s database outage under a steady stream (a private mariadbd, killed and restarted;
 * the shared one stays up; a stream of this suite's own on the shared NATS): consumption
 * pauses at INGEST_STREAM_MAX_ACK_PENDING held messages instead of buffering (the ingest
 * queue, INGEST_MAX_QUEUED items, answers backpressure before that: held too), the lag grows
 * in the snapshot and /metrics, then drains once the database is back, and every message
 * is stored exactly once. The outage is longer than ack_wait (5 s here), and in-progress
 * acks keep the held messages from being redelivered.
 */

const OUTAGE_MS = 20_000;
const MAX_ACK_PENDING = 1000;
/** The ingest queue fills first: the door holds the rest until it has room (backpressure). */
const INGEST_MAX_QUEUED = 400;
const RATE_PER_TICK = 50; // every 50 ms: 1,000 messages/s
let priv: PrivateDatabase;
let db: TestDatabase;
let server: TestServer;
const names: StreamNames = uniqueStream('dbout');

t.before(async () => {
  priv = await startPrivateDatabase();
  db = await createTestDatabase('pb_stream_outage', priv.url);
  server = await startServer(
    [
      ...streamArgs(names),
      '--sim-tps',
      '0',
      '--ingest-stream-max-ack-pending',
      String(MAX_ACK_PENDING),
      '--ingest-stream-ack-wait-s',
      '5',
      '--ingest-max-items',
      String(INGEST_MAX_QUEUED),
      '--ingest-max-queued',
      String(INGEST_MAX_QUEUED),
      '--db-connect-timeout-ms',
      '1000',
    ],
    { MYSQL_URL: db.url, PERSISTENCE: 'required' },
  );
  await waitFor('stream door consuming', async () => {
    const { body } = await getJson(`${server.url}/api/metrics`);
    return body.stream?.state === 'consuming';
  });
});

t.teardown(async () => {
  await server?.stop();
  if (priv && !priv.running()) await priv.start().catch(() => {});
  await db?.drop().catch(() => {});
  await priv?.destroy();
  await deleteStreams(names);
});

async function rows(): Promise<{ n: number; k: number }> {
  const [r] = await db.conn.query(
    'SELECT COUNT(*) AS n, COUNT(DISTINCT source, ref) AS k FROM transactions',
  );
  const x = (r as { n: string; k: string }[])[0]!;
  return { n: Number(x.n), k: Number(x.k) };
}

t.test('the lag grows during a database outage, then drains; nothing lost', async (t) => {
  const nc = await natsClient();
  const js = nc.jetstream();
  let published = 0;
  let publishing = true;
  const publisher = (async () => {
    while (publishing) {
      const acks = [];
      for (let i = 0; i < RATE_PER_TICK; i++) {
        const n = published++;
        acks.push(
          js.publish(
            names.subject,
            JSON.stringify({
              ref: `out-${n}`,
              source: n % 2 ? 'wire' : 'ach',
              account: `acct-${n % 31}`,
              amount: 500 + n,
              currency: 'USD',
            }),
          ),
        );
      }
      await Promise.all(acks);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  await new Promise((r) => setTimeout(r, 3000));
  await db.conn.end(); // its connection dies with the server anyway
  await priv.stop();
  // Sample the door while the database is down.
  let maxLag = 0;
  let maxHeld = 0;
  const outageEnd = Date.now() + OUTAGE_MS;
  while (Date.now() < outageEnd) {
    const { body } = await getJson(`${server.url}/api/metrics`);
    maxLag = Math.max(maxLag, body.stream.lag);
    maxHeld = Math.max(maxHeld, body.stream.held);
    await new Promise((r) => setTimeout(r, 250));
  }
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const lagInMetrics = Number(/^pulseboard_stream_lag (\d+)$/m.exec(text)?.[1]);
  t.ok(maxLag > 5 * MAX_ACK_PENDING, `the lag grew during the outage (max ${maxLag})`);
  t.ok(lagInMetrics > MAX_ACK_PENDING, `and shows in /metrics (${lagInMetrics})`);
  t.ok(maxHeld <= MAX_ACK_PENDING, `consumption paused: at most ${maxHeld} messages held`);

  await priv.start();
  db.conn = await mysql.createConnection({ uri: db.url });
  await new Promise((r) => setTimeout(r, 2000));
  publishing = false;
  await publisher;
  await nc.close();

  await waitFor(
    'the lag drained and every message stored',
    async () => {
      const { body } = await getJson(`${server.url}/api/metrics`);
      return body.stream.lag === 0 && (await rows()).n === published;
    },
    40_000,
    250,
  );
  t.same(await rows(), { n: published, k: published }, `all ${published} stored exactly once`);
  const { body } = await getJson(`${server.url}/api/metrics`);
  t.equal(body.stream.redelivered, 0, 'in-progress acks kept held messages from redelivery');
  t.equal(body.stream.consumed, published);
  t.equal(body.stream.deadLetters, 0);
});
