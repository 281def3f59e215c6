import t from 'tap';
import {
  createTestDatabase,
  type PrivateDatabase,
  startPrivateDatabase,
  type TestDatabase,
} from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait-for.js';
import { TestClient } from './helpers/ws-client.js';

/**
 * Error answers name the cause in our own words (issue 15 §3): they never echo the
 * request's text (path, method, parameter and field names, content type, body fragments in
 * JSON.parse messages) nor the database driver's message (host:port, error names), and
 * every JSON or text answer carries `X-Content-Type-Options: nosniff`.
 *
 * Each request below carries a marker where the answer used to echo it; on the code before
 * this change every one of them came back in the answer (the 404s and 405 with the path or
 * method, the 401 with the path, the 400s with the parameter or field name, JSON.parse's
 * quote of the body, the 415 with the content type, the WebSocket replies with the op and
 * topic), the read answered during a database outage with
 * "ECONNREFUSED 127.0.0.1:<port>", and no answer but the static files had nosniff.
 */

const MARK = 'PbMark7q';
const READ = 'hygiene-read-token-0123456789abcdef';
const ADMIN = 'hygiene-admin-token-0123456789abcdef';
const INGEST = 'hygiene-ingest-token-0123456789abcdef';
const HOST_PORT = /\b(?:\d{1,3}\.){3}\d{1,3}:\d{2,5}\b|localhost:\d+|\[[0-9a-f:]+\]:\d+/i;

let priv: PrivateDatabase;
let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  priv = await startPrivateDatabase();
  db = await createTestDatabase('pb_hygiene', priv.url);
  server = await startServer(['--sim-tps', '0', '--shutdown-timeout-ms', '2000'], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
    READ_TOKEN: READ,
    ADMIN_TOKEN: ADMIN,
    INGEST_TOKEN: INGEST,
  });
});
t.teardown(async () => {
  await server?.stop('SIGKILL');
  await db?.conn.end().catch(() => {});
  await priv?.destroy();
});

interface Sent {
  name: string;
  method?: string;
  path: string;
  token?: string;
  type?: string;
  body?: string;
  status: number;
}

const ingestItem = { ref: 'h-1', source: 'ach', account: 'a-1', amount: 100, currency: 'USD' };

const CASES: Sent[] = [
  { name: 'unknown API path, no token', path: `/api/${MARK}`, status: 401 },
  { name: 'unknown API path', path: `/api/${MARK}`, token: READ, status: 404 },
  { name: 'unknown page', path: `/${MARK}.html`, status: 404 },
  // uWS closes the connection on a method it does not know, so the marker is the method.
  { name: 'wrong method', method: 'PATCH', path: '/api/reset', token: ADMIN, status: 405 },
  {
    name: 'unknown query parameter',
    path: `/api/transactions?${MARK}=1`,
    token: READ,
    status: 400,
  },
  {
    name: 'unknown ingest field',
    method: 'POST',
    path: '/api/transactions',
    token: INGEST,
    type: 'application/json',
    body: JSON.stringify({ ...ingestItem, [MARK]: 1 }),
    status: 400,
  },
  {
    name: 'ingest body not JSON',
    method: 'POST',
    path: '/api/transactions',
    token: INGEST,
    type: 'application/json',
    body: `{"ref": ${MARK}}`,
    status: 400,
  },
  {
    name: 'ingest NDJSON line not JSON',
    method: 'POST',
    path: '/api/transactions',
    token: INGEST,
    type: 'application/x-ndjson',
    body: `{"ref": ${MARK}}\n`,
    status: 400,
  },
  {
    name: 'scenario content type',
    method: 'POST',
    path: '/api/load-test',
    token: ADMIN,
    type: `text/${MARK}`,
    body: '{"tps":1}',
    status: 415,
  },
  {
    name: 'scenario body not JSON',
    method: 'POST',
    path: '/api/load-test',
    token: ADMIN,
    type: 'application/json',
    body: `{"tps": ${MARK}}`,
    status: 400,
  },
  {
    name: 'scenario unknown field',
    method: 'POST',
    path: '/api/load-test',
    token: ADMIN,
    type: 'application/json',
    body: JSON.stringify({ tps: 1, [MARK]: 2 }),
    status: 400,
  },
  {
    name: 'scenario unknown source',
    method: 'POST',
    path: '/api/load-test',
    token: ADMIN,
    type: 'application/json',
    body: JSON.stringify({ tps: 1, sources: [MARK.toLowerCase()] }),
    status: 400,
  },
];

async function send(c: Sent): Promise<{ status: number; text: string; nosniff: string | null }> {
  const headers: Record<string, string> = {};
  if (c.token) headers.authorization = `Bearer ${c.token}`;
  if (c.type) headers['content-type'] = c.type;
  const r = await fetch(server.url + c.path, {
    method: c.method ?? 'GET',
    headers,
    ...(c.body === undefined ? {} : { body: c.body }),
  });
  return {
    status: r.status,
    text: await r.text(),
    nosniff: r.headers.get('x-content-type-options'),
  };
}

t.test('error answers do not echo the request', async (t) => {
  for (const c of CASES) {
    const r = await send(c);
    t.equal(r.status, c.status, `${c.name}: ${c.status}`);
    t.match(r.text, /"code":"PB_ERR_[A-Z_]+"/, `${c.name}: a coded JSON error`);
    const mark = c.method === 'PATCH' ? 'patch' : MARK.toLowerCase();
    t.notOk(r.text.toLowerCase().includes(mark), `${c.name}: no echo (${r.text})`);
    t.equal(r.nosniff, 'nosniff', `${c.name}: nosniff`);
  }
});

t.test('WebSocket control replies do not echo the frame', async (t) => {
  const ws = await TestClient.connect(`${server.wsUrl}?token=${READ}&topics=${MARK}`);
  t.teardown(() => ws.socket.close());
  ws.socket.send(JSON.stringify({ op: MARK, topics: ['metrics'] }));
  ws.socket.send(JSON.stringify({ op: 'subscribe', topics: [MARK] }));
  await ws.until((c) => c.of('control').length >= 3, 5000, 'three control replies');
  const codes = ws.of('control').map((f) => f.data.error?.code);
  t.same(codes, ['PB_ERR_WS_UNKNOWN_TOPIC', 'PB_ERR_WS_UNKNOWN_OP', 'PB_ERR_WS_UNKNOWN_TOPIC']);
  for (const f of ws.of('control'))
    t.notOk(JSON.stringify(f).toLowerCase().includes(MARK.toLowerCase()), JSON.stringify(f.data));
});

t.test('JSON and text answers carry nosniff', async (t) => {
  const auth = { authorization: `Bearer ${READ}` };
  for (const path of ['/api/metrics', '/healthz', '/readyz', '/metrics', '/api/transactions']) {
    const r = await fetch(server.url + path, { headers: auth });
    await r.arrayBuffer();
    t.equal(r.status, 200, `${path}: 200`);
    t.equal(r.headers.get('x-content-type-options'), 'nosniff', `${path}: nosniff`);
  }
});

t.test('a database outage is reported without the driver message', async (t) => {
  await priv.stop();
  await waitFor('/readyz to see the outage', async () => {
    const r = await fetch(`${server.url}/readyz`);
    await r.arrayBuffer();
    return r.status === 503;
  });
  const hourAgo = Date.now() - 3 * 3_600_000;
  for (const path of [
    '/api/transactions?limit=5',
    `/api/history?metric=tps&from=${hourAgo}&to=${hourAgo + 600_000}`,
  ]) {
    const r = await send({ name: path, path, token: READ, status: 503 });
    t.equal(r.status, 503, `${path}: 503`);
    t.match(r.text, /"code":"PB_ERR_DB_UNAVAILABLE"/, `${path}: PB_ERR_DB_UNAVAILABLE`);
    t.notMatch(r.text, HOST_PORT, `${path}: no host:port (${r.text})`);
    t.notMatch(r.text, /ECONN|ER_[A-Z_]+|PROTOCOL_|mysql|mariadb/i, `${path}: no driver words`);
  }
  const readyz = await (await fetch(`${server.url}/readyz`)).text();
  t.notMatch(readyz, HOST_PORT, '/readyz names no host:port either');
  t.ok(
    server.logs.some((l) => l.msg === 'read failed' && HOST_PORT.test(String(l.err))),
    'the driver message is in the log, for the operator',
  );
});
