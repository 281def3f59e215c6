import { type JsMsg, type NatsConnection, headers as natsHeaders } from 'nats';
import t from 'tap';
import { launchBrowser, recordErrors } from './helpers/browser.js';
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
 * Poison messages on the JetStream door (shared NATS, a stream of this suite's own): invalid
 * JSON, an invalid item, an array with one invalid item among valid ones, an empty payload
 * and a body over INGEST_MAX_ITEMS each land once in the dead-letter stream with the
 * original payload and the reason in headers, are acknowledged (nothing left pending,
 * nothing redelivered) and counted; valid messages, and a redelivered one, are stored once.
 */

let db: TestDatabase;
let server: TestServer;
let nc: NatsConnection;
const names: StreamNames = uniqueStream('poison');

t.before(async () => {
  db = await createTestDatabase('pb_stream_poison');
  server = await startServer([...streamArgs(names), '--sim-tps', '0', '--ingest-max-items', '3'], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
  });
  nc = await natsClient();
  await waitFor('stream door consuming', async () => {
    const { body } = await getJson(`${server.url}/api/metrics`);
    return body.stream?.state === 'consuming';
  });
});

t.teardown(async () => {
  await server?.stop();
  await nc?.close();
  await deleteStreams(names);
  await db?.drop();
});

const item = (ref: string, amount = 1250) =>
  ({ ref, source: 'card-pos', account: 'C-1', amount, currency: 'EUR' }) as const;

t.test('poison messages go to the dead-letter subject with the reason, once', async (t) => {
  const js = nc.jetstream();
  const poison: { payload: string; code: string; accepted: string }[] = [
    { payload: '{"ref": "p-trunc", "source"', code: 'PB_ERR_HTTP_BAD_JSON', accepted: '0' },
    {
      payload: JSON.stringify(item('p-negative', -5)),
      code: 'PB_ERR_INGEST_INVALID',
      accepted: '0',
    },
    {
      payload: JSON.stringify([item('p-mixed-ok'), { ...item('p-mixed-bad'), currency: 'EURO' }]),
      code: 'PB_ERR_INGEST_INVALID',
      accepted: '1',
    },
    { payload: '', code: 'PB_ERR_INGEST_EMPTY', accepted: '0' },
    {
      payload: JSON.stringify([
        item('p-many-1'),
        item('p-many-2'),
        item('p-many-3'),
        item('p-many-4'),
      ]),
      code: 'PB_ERR_INGEST_TOO_MANY',
      accepted: '0',
    },
  ];
  await js.publish(names.subject, JSON.stringify(item('p-ok-1')));
  for (const p of poison) await js.publish(names.subject, p.payload);
  await js.publish(names.subject, JSON.stringify([item('p-ok-2'), item('p-ok-3')]));
  // The same ref again (a producer's retry): stored once, answered as a duplicate, acked.
  await js.publish(names.subject, JSON.stringify(item('p-ok-1')));

  const snapshot = await waitFor('every message settled', async () => {
    const { body } = await getJson(`${server.url}/api/metrics`);
    const s = body.stream;
    return s.consumed + s.deadLetters === 8 && s.lag === 0 && s.lagAt > 0 && s;
  });
  t.equal(snapshot.deadLetters, poison.length, 'each poison message dead-lettered');
  t.equal(snapshot.consumed, 3, 'the valid ones acknowledged');

  const dead: JsMsg[] = [];
  const consumer = await js.consumers.get(names.deadStream);
  const iter = await consumer.fetch({ max_messages: 20, expires: 1500 });
  for await (const m of iter) dead.push(m);
  t.equal(dead.length, poison.length, 'the dead-letter stream holds exactly the poison messages');
  // Order is the order of the answers: a message with valid items waits for its COMMIT.
  for (const [i, p] of poison.entries()) {
    const m = dead.find((d) => d.string() === p.payload);
    if (!m) {
      t.fail(`#${i}: its original payload is in the dead-letter stream`);
      continue;
    }
    t.equal(m.subject, names.deadSubject);
    t.equal(m.headers?.get('Pulseboard-Error-Code'), p.code, `#${i}: ${p.code}`);
    t.ok((m.headers?.get('Pulseboard-Error') ?? '').length > 0, `#${i}: a reason in words`);
    t.equal(m.headers?.get('Pulseboard-Accepted'), p.accepted);
    t.equal(m.headers?.get('Pulseboard-Stream'), names.stream);
  }
  const mixed = dead.find((d) => d.string() === poison[2]!.payload);
  const rejected = JSON.parse(mixed?.headers?.get('Pulseboard-Rejected') ?? 'null');
  t.match(rejected, [{ index: 1, field: 'currency' }], 'the invalid item named');

  const [rows] = await db.conn.query('SELECT ref FROM transactions ORDER BY ref');
  t.same(
    (rows as { ref: string }[]).map((r) => r.ref),
    ['p-mixed-ok', 'p-ok-1', 'p-ok-2', 'p-ok-3'],
    'valid items stored once each, invalid ones not at all',
  );

  // Nothing is retried: no message is left unacknowledged or was delivered twice.
  const jsm = await nc.jetstreamManager();
  const info = await jsm.consumers.info(names.stream, 'pulseboard-ingest');
  t.equal(info.num_ack_pending, 0);
  t.equal(info.num_pending, 0);
  t.equal(info.num_redelivered, 0);

  const text = await (await fetch(`${server.url}/metrics`)).text();
  t.match(text, /^pulseboard_stream_dead_letters_total 5$/m);
  t.match(text, /^pulseboard_stream_messages_total 3$/m);
  t.match(text, /^pulseboard_stream_up 1$/m);
});

t.test('a message with headers of its own is handled by its payload alone', async (t) => {
  const h = natsHeaders();
  h.set('Content-Type', 'application/json');
  await nc.jetstream().publish(names.subject, JSON.stringify(item('p-hdr')), { headers: h });
  await waitFor('stored', async () => {
    const [r] = await db.conn.query("SELECT COUNT(*) AS n FROM transactions WHERE ref = 'p-hdr'");
    return Number((r as { n: string }[])[0]!.n) === 1;
  });
  t.pass('stored');
});

t.test('the dashboard shows the stream and its dead letters', async (t) => {
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const log = recordErrors(page);
  await page.goto(server.url);
  const status = page.locator('pb-connection-status [data-testid=stream-status]');
  await status.waitFor({ timeout: 15_000 });
  t.match(await status.textContent(), /stream lag 0 · dead 5$/);
  t.equal(await status.getAttribute('data-state'), 'consuming');
  t.same(log.errors, [], 'no page errors');
});

t.test('a consumer deleted by hand is set up again and consumption goes on', async (t) => {
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.delete(names.stream, 'pulseboard-ingest');
  await nc.jetstream().publish(names.subject, JSON.stringify(item('p-after-delete')));
  await waitFor(
    'stored after the consumer came back',
    async () => {
      const [r] = await db.conn.query(
        "SELECT COUNT(*) AS n FROM transactions WHERE ref = 'p-after-delete'",
      );
      return Number((r as { n: string }[])[0]!.n) === 1;
    },
    30_000,
  );
  const info = await jsm.consumers.info(names.stream, 'pulseboard-ingest');
  t.equal(info.config.ack_policy, 'explicit', 'recreated with its settings');
});
