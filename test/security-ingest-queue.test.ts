import { connect, type Socket } from 'node:net';
import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * The queue from the primary to the ingest thread is bounded in bytes (issue 15 §3): with
 * the database blocked (this test holds LOCK TABLES ingest_refs WRITE, so the group commit
 * waits), INGEST_MAX_QUEUED_BYTES of bodies are taken in and the next request is answered
 * 503 PB_ERR_INGEST_BACKPRESSURE + Retry-After before its body is read or parsed.
 *
 * Before this change every body was read, copied to the thread and parsed whatever the
 * backlog: the invalid-JSON probe below got a 400 (parsed) instead of a 503, and a request
 * whose body never comes got no answer at all (the primary waited for the body).
 */

const BODY_LIMIT = 65_536;
const BODIES = 4;
const TOKEN = 'queue-ingest-token-0123456789abcdef';

let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  db = await createTestDatabase();
  server = await startServer(
    [
      '--sim-tps',
      '0',
      '--ingest-body-limit',
      String(BODY_LIMIT),
      '--ingest-max-queued-bytes',
      String(BODIES * BODY_LIMIT),
      '--ingest-rate-limit',
      '0',
      '--shutdown-timeout-ms',
      '5000',
    ],
    { MYSQL_URL: db.url, PERSISTENCE: 'required', INGEST_TOKEN: TOKEN },
  );
});
t.teardown(async () => {
  await db?.conn.query('UNLOCK TABLES').catch(() => {});
  await server?.stop();
  await db?.drop();
});

/** A valid one-item body padded with whitespace to exactly `size` bytes. */
function paddedBody(ref: string, size = BODY_LIMIT): string {
  const json = JSON.stringify([
    { ref, source: 'ach', account: 'a-1', amount: 100, currency: 'USD' },
  ]);
  return json + ' '.repeat(size - json.length);
}

interface Answer {
  status: number;
  code?: string;
  retryAfter: string | null;
}

async function post(body: string): Promise<Answer> {
  const r = await fetch(`${server.url}/api/transactions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  const json = (await r.json()) as { error?: { code: string } };
  return { status: r.status, code: json.error?.code, retryAfter: r.headers.get('retry-after') };
}

/** An invalid-JSON body: 400 once parsed, 503 when refused before parsing. */
const probe = () => post('{"ref": ');
/**
 * An empty body: it takes no bytes from the budget, so probing with it never crowds out a
 * request under test; 400 (PB_ERR_INGEST_EMPTY) unless the budget is spent, then 503.
 */
const emptyProbe = () => post('');

/** Sends raw bytes; resolves with the first response head, or '' if none within `ms`. */
function rawHead(bytes: string, ms = 10_000): { head: Promise<string>; socket: Socket } {
  const socket = connect(server.port, '127.0.0.1');
  socket.on('error', () => {});
  const head = new Promise<string>((resolve) => {
    let data = '';
    const timer = setTimeout(() => resolve(''), ms);
    socket.on('data', (d) => {
      data += d.toString('latin1');
      if (data.includes('\r\n\r\n')) {
        clearTimeout(timer);
        resolve(data);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
  socket.write(bytes);
  return { head, socket };
}

function metric(prom: string, name: string): number {
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(prom)?.[1] ?? Number.NaN);
}

async function rows(): Promise<number> {
  const [r] = await db.conn.query('SELECT COUNT(*) AS n FROM transactions');
  return Number((r as { n: string }[])[0]!.n);
}

t.test('a full queue answers 503 + Retry-After before reading or parsing the body', async (t) => {
  t.equal((await post(paddedBody('warm-up', 200))).status, 200, 'ingest works');
  await db.conn.query('LOCK TABLES ingest_refs WRITE');
  let queued: Promise<Answer[]> | undefined;
  try {
    queued = Promise.all(Array.from({ length: BODIES }, (_, i) => post(paddedBody(`q-${i}`))));
    // Until the four bodies are in, the empty probe is parsed (400); then it is refused.
    await waitFor('the budget spent', async () => (await emptyProbe()).status === 503);
    const refused = await probe();
    t.equal(refused.status, 503, 'invalid JSON is refused, not parsed (a parse would be 400)');
    t.equal(refused.code, 'PB_ERR_INGEST_BACKPRESSURE', 'as backpressure');
    t.equal(refused.retryAfter, '1', 'with Retry-After');

    const headersOnly = rawHead(
      `POST /api/transactions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`,
    );
    t.match(await headersOnly.head, /^HTTP\/1\.1 503 /, 'refused before the body was sent');
    headersOnly.socket.destroy();

    const chunked = rawHead(
      `POST /api/transactions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\na\r\n[{"ref": 1\r\n`,
    );
    t.match(await chunked.head, /^HTTP\/1\.1 503 /, 'a chunked body is counted as it arrives');
    chunked.socket.destroy();

    // Memory stays bounded: 30 more full bodies are all refused while the four wait.
    const more = await Promise.all(
      Array.from({ length: 30 }, (_, i) => post(paddedBody(`m-${i}`))),
    );
    t.ok(
      more.every((a) => a.status === 503 && a.code === 'PB_ERR_INGEST_BACKPRESSURE'),
      'every further body is refused',
    );
    const prom = await (await fetch(`${server.url}/metrics`)).text();
    t.equal(
      metric(prom, 'pulseboard_ingest_queued_bytes'),
      BODIES * BODY_LIMIT,
      'the bytes held are the four bodies, no more',
    );
    t.ok(
      metric(prom, 'pulseboard_ingest_backpressure_total') >= 30 + 3,
      'the refusals are counted in /metrics',
    );
  } finally {
    await db.conn.query('UNLOCK TABLES');
  }
  const answers = await queued!;
  t.same(
    answers.map((a) => a.status),
    Array(BODIES).fill(200),
    'the bodies taken in are committed and answered',
  );
  t.equal(await rows(), 1 + BODIES, 'only they (and the warm-up) were written');
  t.equal(
    (await probe()).status,
    400,
    'answered bodies free their bytes: the probe is parsed again',
  );
});

t.test('a client gone mid-body frees its bytes', async (t) => {
  await db.conn.query('LOCK TABLES ingest_refs WRITE');
  let queued: Promise<Answer[]> | undefined;
  try {
    queued = Promise.all(Array.from({ length: BODIES - 1 }, (_, i) => post(paddedBody(`g-${i}`))));
    // The last quarter of the budget: a body announced in full, sent in part, abandoned.
    const partial = rawHead(
      `POST /api/transactions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${BODY_LIMIT}\r\n\r\n[{"ref": "partial"`,
      1000,
    );
    await waitFor('the budget spent', async () => (await emptyProbe()).status === 503);
    partial.socket.destroy();
    const after = await waitFor('the probe parsed again', async () => {
      const a = await emptyProbe();
      return a.status !== 503 && a;
    });
    t.equal(after.code, 'PB_ERR_INGEST_EMPTY', "the abandoned body's bytes were released");
  } finally {
    await db.conn.query('UNLOCK TABLES');
  }
  t.same(
    (await queued!).map((a) => a.status),
    Array(BODIES - 1).fill(200),
  );
});
