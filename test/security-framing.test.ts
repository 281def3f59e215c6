import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startHaproxyFor } from './helpers/haproxy.js';
import { rawExchange } from './helpers/raw-exchange.js';
import { startServer, type TestServer } from './helpers/server.js';
import { TestClient } from './helpers/ws-client.js';

/**
 * Conflicting length headers (issue 15 §3, request smuggling). uWS frames a request by its
 * first Content-Length; a proxy that takes the last one would pass the rest of the body on
 * as a second request it never saw.
 *
 *  - Directly: before this change the server answered the first request *and* the smuggled
 *    one (two responses on the socket). Now the connection is closed before either runs
 *    (uWS lets JS refuse, but not answer, in time: src/http/request-framing.ts).
 *  - Behind deploy/haproxy.cfg (a real HAProxy): every ambiguous request gets HAProxy's
 *    400 and nothing reaches the server, while ordinary requests, ingest and a WebSocket
 *    pass through it.
 */

const TOKEN = 'framing-ingest-token-0123456789abcdef';

let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  // /readyz, HAProxy's health check, wants a database.
  db = await createTestDatabase();
  server = await startServer(['--sim-tps', '20', '--shards', '1'], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
    INGEST_TOKEN: TOKEN,
  });
});
t.teardown(async () => {
  await server?.stop();
  await db?.drop();
});

const statuses = (data: string) =>
  [...data.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

/** The smuggled request: a harmless read whose answer would show that it ran. */
const SMUGGLED = 'GET /api/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
const AMBIGUOUS: [string, string][] = [
  [
    'two different Content-Lengths',
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: ${5 + SMUGGLED.length}\r\n\r\nhello${SMUGGLED}`,
  ],
  [
    'two Transfer-Encodings',
    `POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
];

t.test('directly: conflicting lengths close the connection before any request runs', async (t) => {
  for (const [name, bytes] of AMBIGUOUS) {
    const r = await rawExchange(server.port, bytes, 3000);
    t.ok(r.closed, `${name}: connection closed`);
    t.same(statuses(r.data), [], `${name}: neither request answered (${r.data.slice(0, 60)})`);
  }
  const same = await rawExchange(
    server.port,
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`,
  );
  t.same(statuses(same.data), [200], 'a repeated identical Content-Length is harmless and served');
  const plain = await rawExchange(
    server.port,
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n${SMUGGLED.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`,
  );
  t.same(statuses(plain.data), [200, 200], 'pipelined ordinary requests are all served');
  t.ok(
    server.logs.some((l) => String(l.msg).includes('conflicting Content-Length')),
    'the refusal is logged',
  );
  const prom = await (await fetch(`${server.url}/metrics`)).text();
  t.match(prom, /^pulseboard_http_framing_refused_total 2$/m, 'and counted in /metrics');
});

t.test('behind deploy/haproxy.cfg: ambiguous requests get 400 at the proxy', async (t) => {
  const proxy = await startHaproxyFor(t, { PB_BACKEND: `127.0.0.1:${server.port}` });
  const { port, url: via } = proxy;

  const cases: [string, string][] = [
    ...AMBIGUOUS,
    [
      'an empty Content-Length before a real one',
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    ],
    [
      'a list of lengths',
      `POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5, ${5 + SMUGGLED.length}\r\n\r\nhello${SMUGGLED}`,
    ],
  ];
  for (const [name, bytes] of cases) {
    const r = await rawExchange(port, bytes, 3000);
    t.same(statuses(r.data), [400], `${name}: one answer, HAProxy's 400`);
    t.match(r.data, /connection: close/i, `${name}: and the connection closes`);
  }
  // Both Transfer-Encoding and Content-Length: HAProxy drops the length, forwards the
  // chunked body alone and closes the connection after it, so nothing behind it runs.
  const teCl = await rawExchange(
    port,
    `POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  );
  t.equal(
    statuses(teCl.data).length,
    1,
    'Transfer-Encoding + Content-Length: the second never runs',
  );

  // Ordinary traffic passes.
  const metrics = await fetch(`${via}/api/metrics`);
  t.equal(metrics.status, 200, 'GET /api/metrics through the proxy');
  t.type(((await metrics.json()) as { tps: number }).tps, 'number');
  const ingest = await fetch(`${via}/api/transactions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      ref: 'via-proxy',
      source: 'ach',
      account: 'a-1',
      amount: 5,
      currency: 'USD',
    }),
  });
  t.equal(ingest.status, 200, 'ingest through the proxy');
  t.equal(((await ingest.json()) as { accepted: number }).accepted, 1);
  const ws = await TestClient.connect(`ws://127.0.0.1:${port}/ws?topics=metrics`);
  t.teardown(() => ws.socket.close());
  await ws.until((c) => c.of('metrics').length >= 2, 10_000, 'two metrics frames');
  const seqs = ws.of('metrics').map((f) => f.seq);
  t.equal(seqs[1], seqs[0]! + 1, 'a WebSocket through the proxy gets the live frames in order');
});

// WS_THREADS > 1 (issue 14 §1): /ws is on WS_PORT; the proxy routes it there, so the
// browser still sees one origin, and WS_PUBLIC_URL=/ws tells the dashboard to use it.
t.test('behind deploy/haproxy.cfg with WS_THREADS=2: one origin for the API and /ws', async (t) => {
  // /readyz (HAProxy's health check, which pulseboard_ws follows) wants a database: its own.
  const fannedDb = await createTestDatabase();
  t.teardown(() => fannedDb.drop());
  const fanned = await startServer(
    ['--ws-threads', '2', '--ws-public-url', '/ws', '--sim-tps', '20', '--shards', '1'],
    { MYSQL_URL: fannedDb.url, PERSISTENCE: 'required' },
  );
  t.teardown(() => fanned.stop());
  const proxy = await startHaproxyFor(t, {
    PB_BACKEND: `127.0.0.1:${fanned.port}`,
    PB_WS_BACKEND: `127.0.0.1:${fanned.wsPort}`,
  });
  const where = await (await fetch(`${proxy.url}/api/ws-endpoint`)).json();
  t.same(where, { url: '/ws', port: null }, 'the dashboard is told: /ws on its own origin');
  const ws = await TestClient.connect(`ws://127.0.0.1:${proxy.port}/ws?topics=metrics`);
  t.teardown(() => ws.socket.close());
  await ws.until((c) => c.of('metrics').length >= 2, 10_000, 'two metrics frames');
  const seqs = ws.of('metrics').map((f) => f.seq);
  t.equal(seqs[1], seqs[0]! + 1, 'frames from a fan-out thread through the proxy, in order');
  const snap = (await (await fetch(`${proxy.url}/api/metrics`)).json()) as { clients: number };
  t.equal(snap.clients, 1, 'counted by the node');
});
