import { RetentionPolicy, StorageType } from 'nats';
import t from 'tap';
import { parseOptions } from '../src/config/parse-options.js';
import { streamDoorConfig } from '../src/ingest/stream/stream-config.js';
import { parseStreamUrl } from '../src/ingest/stream/stream-url.js';
import { subjectCaptures } from '../workers/ingest/stream/ensure-stream.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { deleteStreams, natsClient, streamArgs, uniqueStream } from './helpers/nats.js';
import { startServer, type TestServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * The JetStream door's configuration: INGEST_STREAM parsing and its error messages (the
 * credentials never echoed), the derived names, which stream subjects capture the ingest
 * subject, and a server facing a stream it cannot use: not ready, saying why, still up.
 */

t.test('INGEST_STREAM is parsed into servers, subject and credentials', async (t) => {
  t.same(parseStreamUrl('nats://127.0.0.1:4222/pulseboard.tx'), {
    servers: ['127.0.0.1:4222'],
    subject: 'pulseboard.tx',
  });
  t.same(parseStreamUrl('nats://a,b:4223/x'), { servers: ['a:4222', 'b:4223'], subject: 'x' });
  t.same(parseStreamUrl('nats://me:p%40ss@h/tx'), {
    servers: ['h:4222'],
    subject: 'tx',
    user: 'me',
    pass: 'p@ss',
  });
  t.same(parseStreamUrl('nats://s3cr3t-token@[::1]/tx'), {
    servers: ['[::1]:4222'],
    subject: 'tx',
    token: 's3cr3t-token',
  });
  t.match(parseStreamUrl('http://127.0.0.1/tx'), /must be nats:\/\/host\[:port\]\/<subject>/);
  t.match(parseStreamUrl('nats://127.0.0.1:4222/'), /must be nats:/);
  t.match(parseStreamUrl('nats://127.0.0.1/tx.>'), /without wildcards/);
  t.match(parseStreamUrl('nats://bad host/tx'), /host\[:port\]/);
});

t.test('options: errors name the option and never echo the URL', async (t) => {
  let message = '';
  try {
    parseOptions(['--ingest-stream', 'nats://user:hunter2@h/tx.*'], {});
  } catch (err) {
    message = (err as Error).message;
  }
  t.match(
    message,
    /options\.ingestStream \(--ingest-stream\) the subject .* without wildcards, or empty/,
  );
  t.notMatch(message, /hunter2/, 'the credentials are not echoed');
  t.throws(
    () => parseOptions([], { INGEST_STREAM_NAME: 'has.dot' }),
    /options\.ingestStreamName \(INGEST_STREAM_NAME\) must be 1 to 64 letters, digits, _ or -/,
  );
  t.throws(
    () => parseOptions([], { INGEST_STREAM_MAX_ACK_PENDING: '0' }),
    /ingestStreamMaxAckPending .* must be between 1 and 1000000/,
  );
  const { options } = parseOptions(['--ingest-stream', 'nats://127.0.0.1/orders.in'], {});
  const cfg = streamDoorConfig(options, new SharedArrayBuffer(8));
  t.match(cfg, {
    stream: 'PULSEBOARD_TX',
    consumer: 'pulseboard-ingest',
    deadSubject: 'orders.in.dead',
    deadStream: 'PULSEBOARD_TX_DEAD',
    maxAckPending: 20000,
    ackWaitMs: 30000,
  });
  t.equal(streamDoorConfig(parseOptions([], {}).options, new SharedArrayBuffer(8)), undefined);
});

t.test('which stream subjects capture the ingest subject', async (t) => {
  t.ok(subjectCaptures('a.b', 'a.b'));
  t.ok(subjectCaptures('a.*', 'a.b'));
  t.ok(subjectCaptures('a.>', 'a.b.c'));
  t.ok(subjectCaptures('>', 'a'));
  t.notOk(subjectCaptures('a.*', 'a.b.c'));
  t.notOk(subjectCaptures('a.b', 'a'));
  t.notOk(subjectCaptures('a.>', 'a'));
  t.notOk(subjectCaptures('a.c', 'a.b'));
});

t.test('a stream that does not capture the subject: not ready, with the reason', async (t) => {
  const names = uniqueStream('misconf');
  const db: TestDatabase = await createTestDatabase('pb_stream_conf');
  const nc = await natsClient();
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({
    name: names.stream,
    subjects: [`${names.subject}.other`],
    storage: StorageType.Memory,
    retention: RetentionPolicy.Limits,
  });
  let server: TestServer | undefined;
  t.teardown(async () => {
    await server?.stop();
    await nc.close();
    await deleteStreams(names);
    await db.drop();
  });
  server = await startServer([...streamArgs(names), '--sim-tps', '0'], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
  });
  const unready = await waitFor('/readyz to name the misconfiguration', async () => {
    const r = await getJson(`${server!.url}/readyz`);
    return r.status === 503 && /misconfigured/.test(r.body.error?.message) && r.body;
  });
  t.match(unready.error.message, /PB_ERR_STREAM_CONFIG: stream .* does not capture subject/);
  const logged = server.logs.find((l) => l.code === 'PB_ERR_STREAM_CONFIG');
  t.ok(logged, 'logged at error level');
  t.equal(logged?.level, 50);
  const { body } = await getJson(`${server.url}/api/metrics`);
  t.equal(body.stream.state, 'misconfigured');
  // HTTP ingest still works: the door's trouble is its own.
  const post = await fetch(`${server.url}/api/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ref: 'c-1', source: 'ach', account: 'A', amount: 1, currency: 'EUR' }),
  });
  t.equal(post.status, 200);
});
