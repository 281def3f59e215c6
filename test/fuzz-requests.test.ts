import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import WebSocket from 'ws';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { mulberry32 } from './helpers/rng.js';
import { startServer, type TestServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * Fuzz (issue 6 §4): more than 10,000 generated malformed requests — HTTP bodies, headers,
 * methods, paths and query strings; raw malformed HTTP; WebSocket upgrades, control
 * messages and raw frames; slowloris partial requests — against a real server with tokens
 * and persistence on. Asserts: the server never crashes; every answer is a 4xx with a JSON
 * `{"error": {"code": "PB_ERR_…"}}` and `X-Content-Type-Options: nosniff`, never echoing the
 * marker injected into paths, queries, field names, content types and bodies nor a host:port
 * (issue 15), or a clean close; no row is written by a rejected
 * request; and the metrics are still right afterwards (the rejection counters equal the
 * 401/403s we saw, the client count is back to 0, the valid control posts are counted).
 * Seeded: FUZZ_SEED=<n> replays a run.
 */

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
/**
 * Injected into paths, query strings, field names, content types and bodies: no answer may
 * carry it back (issue 15: error answers never echo the request), nor a host:port.
 */
const MARK = 'FzMark9k';
const HOST_PORT = /\b(?:\d{1,3}\.){3}\d{1,3}:\d{2,5}\b/;
// At least 32 characters (MIN_TOKEN_LENGTH).
const INGEST = 'fuzz-ingest-token-0123456789abcdef';
const ADMIN = 'fuzz-admin-token-0123456789abcdef';
const READ = 'fuzz-read-token-0123456789abcdef';

const rand = mulberry32(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const junk = (n: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
};
const junkText = (n: number) =>
  Array.from({ length: n }, () => String.fromCharCode(32 + int(95))).join('');

// ---------- generators ----------

const WEIRD_VALUES: unknown[] = [
  null,
  true,
  -1,
  0,
  1.5,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  '',
  ' ',
  'x'.repeat(300),
  '\u0000',
  '\ud800',
  '<script>',
  `<script>${MARK}</script>`,
  "'; DROP TABLE transactions; --",
  [],
  {},
  { $gt: '' },
  '1e3',
  '12',
];

/** A transaction that is invalid on purpose: amount is always broken, the rest at random. */
function badItem(i: number): Record<string, unknown> {
  const item: Record<string, unknown> = {
    ref: `fz-${SEED}-${i}`,
    source: 'ach',
    account: 'acct-1',
    amount: pick([0, -5, 1.25, '100', null, 1e30, Number.NaN, true, [], {}]),
    currency: 'USD',
  };
  for (let k = int(4); k > 0; k--) {
    const field = pick([
      'ref',
      'source',
      'account',
      'currency',
      'type',
      'status',
      'processingMs',
      'createdAt',
      'extra',
      MARK,
    ]);
    item[field] = pick(WEIRD_VALUES);
  }
  if (rand() < 0.1) delete item.amount;
  return item;
}

function validItem(i: number, prefix: string): Record<string, unknown> {
  return {
    ref: `${prefix}-${SEED}-${i}`,
    source: 'ach',
    account: 'acct-1',
    amount: 100 + i,
    currency: 'USD',
  };
}

function badBody(i: number): { body: Buffer | string; type: string } {
  switch (int(10)) {
    case 0:
      return { body: junk(1 + int(2000)), type: 'application/json' };
    case 1:
      return { body: JSON.stringify(badItem(i)).slice(0, 1 + int(60)), type: 'application/json' };
    case 2:
      return { body: '['.repeat(5000) + ']'.repeat(int(2) * 5000), type: 'application/json' };
    case 3:
      return {
        body:
          Array.from({ length: 1 + int(20) }, (_, k) => JSON.stringify(badItem(i * 100 + k))).join(
            '\n',
          ) + (rand() < 0.5 ? '\n{"trunc' : ''),
        type: 'application/x-ndjson',
      };
    case 4:
      return { body: JSON.stringify(pick(WEIRD_VALUES)), type: 'application/json' };
    case 5:
      return { body: '', type: 'application/json' };
    case 6:
      return {
        body: JSON.stringify(badItem(i)),
        type: pick([
          'text/plain',
          'application/xml',
          '',
          'multipart/form-data; boundary=x',
          junkText(20),
          `text/${MARK}`,
        ]),
      };
    case 7:
      return {
        body: JSON.stringify(Array.from({ length: 1 + int(50) }, (_, k) => badItem(i * 100 + k))),
        type: 'application/json',
      };
    case 8:
      return {
        body: `{"ref":"fz-${SEED}-${i}","amount":1${'0'.repeat(400)}}`,
        type: 'application/json',
      };
    default:
      return {
        body: JSON.stringify({
          __proto__: { amount: 5 },
          constructor: { prototype: 1 },
          ...badItem(i),
        }),
        type: 'application/json',
      };
  }
}

interface HttpCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer | string;
  /** Would this request be an auth failure (401/403)? */
  authFailure: boolean;
}

const wrongToken = () =>
  pick([
    '',
    'Bearer',
    'Bearer ',
    `Bearer ${READ}x`,
    `Basic ${READ}`,
    `Bearer ${junkText(40)}`,
    junkText(10),
    `Bearer ${ADMIN.slice(1)}`,
  ]);

function httpCase(i: number): HttpCase {
  const kind = int(8);
  if (kind <= 2) {
    // Ingest: a bad body with the right token, or a valid body without it.
    if (rand() < 0.7) {
      const { body, type } = badBody(i);
      return {
        method: 'POST',
        path: '/api/transactions',
        headers: { authorization: `Bearer ${INGEST}`, 'content-type': type },
        body,
        authFailure: false,
      };
    }
    const auth = rand() < 0.5 ? `Bearer ${pick([READ, ADMIN])}` : wrongToken();
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth !== '') headers.authorization = auth;
    return {
      method: 'POST',
      path: '/api/transactions',
      headers,
      body: JSON.stringify(validItem(i, 'fz')),
      authFailure: true,
    };
  }
  if (kind === 3) {
    // Admin endpoints: bad bodies with the admin token, or anything with the wrong one.
    const path = pick(['/api/load-test', '/api/load-test/stop', '/api/reset']);
    if (path === '/api/load-test' && rand() < 0.6) {
      const body = pick([
        junk(int(300)),
        JSON.stringify({ tps: pick([-1, 1.5, 1e308, '', 'x'.repeat(300), [], {}, true, null]) }),
        JSON.stringify({ stages: pick([[], [{ tps: -1 }], 'x', [{ tps: 1, seconds: 'y' }]]) }),
        JSON.stringify({ scenario: pick(['nope', '', null, 1]) }),
        `{"tps": 1, "pad": "${'x'.repeat(70_000)}"}`,
      ]);
      return {
        method: 'POST',
        path,
        headers: {
          authorization: `Bearer ${ADMIN}`,
          'content-type': pick(['application/json', 'application/json', 'text/csv']),
        },
        body,
        authFailure: false,
      };
    }
    const auth = rand() < 0.5 ? `Bearer ${pick([READ, INGEST])}` : wrongToken();
    return {
      method: 'POST',
      path,
      headers: auth === '' ? {} : { authorization: auth },
      body: '{"tps":1}',
      authFailure: true,
    };
  }
  if (kind === 4) {
    // Reads without a valid token.
    const auth = rand() < 0.3 ? `Bearer ${INGEST}` : wrongToken();
    const path =
      pick(['/api/metrics', '/api/history', '/api/load-test', '/metrics', '/api/transactions']) +
      pick(['', '?x=1', `?${junkText(30)}`, `?${MARK}=1`]);
    return {
      method: 'GET',
      path,
      headers: auth === '' ? {} : { authorization: auth },
      authFailure: true,
    };
  }
  if (kind === 5) {
    // History with bad query strings (valid token).
    const q = pick([
      `metric=${pick(['', 'nope', ',', encodeURIComponent(junkText(10)), 'nope,'.repeat(200)])}`,
      `points=${pick(['-1', '0', '1', 'abc', '1e9', '99999999999', '%20'])}&metric=tps`,
      `from=${pick(['x', '-5', '1.5', '9'.repeat(30)])}`,
      'from=2000&to=1000',
      `to=${encodeURIComponent(junkText(20))}`,
      `metric=${MARK}`,
      `from=${MARK}`,
      `metric=tps&points=${pick(['%2D1', '%00', '1%2E5'])}`,
    ]);
    return {
      method: 'GET',
      path: `/api/history?${q}`,
      headers: { authorization: `Bearer ${READ}` },
      authFailure: false,
    };
  }
  if (kind === 6) {
    // Wrong methods on known paths.
    const method = pick(['PUT', 'DELETE', 'PATCH', 'FOO', 'OPTIONS']);
    const path = pick([
      '/api/load-test',
      '/api/load-test/stop',
      '/api/reset',
      '/api/transactions',
      '/api/metrics',
      '/api/history',
    ]);
    return {
      method,
      path,
      headers: { authorization: `Bearer ${ADMIN}` },
      body: method === 'OPTIONS' ? undefined : junk(int(64)),
      authFailure: false,
    };
  }
  // Unknown paths (valid read token).
  const path = pick([
    `/api/${junkText(1 + int(40)).replace(/[?#%]/g, 'x')}`,
    `/api/${MARK}`,
    `/${MARK}.html`,
    `/api/transactions?${MARK}=${MARK}`,
    `/api/${'a/'.repeat(int(200))}`,
    '/api/..%2f..%2fetc%2fpasswd',
    `/${'x'.repeat(1 + int(3000))}`,
    '/api/metrics/extra',
    `/api/%${pick(['', 'zz', 'c0%af', '00'])}`,
    '/assets/../../package.json',
    '/ws/x',
  ]);
  return {
    method: pick(['GET', 'POST', 'DELETE']),
    path,
    headers: { authorization: `Bearer ${ADMIN}` },
    authFailure: false,
  };
}

// ---------- checks ----------

interface Tally {
  requests: number;
  statuses: Map<number, number>;
  authFailures: number;
  bad: string[];
}
const tally: Tally = { requests: 0, statuses: new Map(), authFailures: 0, bad: [] };
function note(status: number): void {
  tally.requests++;
  tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
  if (status === 401 || status === 403) tally.authFailures++;
}
function problem(what: string): void {
  if (tally.bad.length < 20) tally.bad.push(what);
}

async function sendHttp(url: string, c: HttpCase): Promise<void> {
  let r: Response;
  try {
    r = await fetch(url + c.path, { method: c.method, headers: c.headers, body: c.body });
  } catch (err) {
    // The server closed the connection (e.g. a 413 mid-body): a clean close.
    tally.requests++;
    void err;
    return;
  }
  const text = await r.text().catch(() => '');
  note(r.status);
  if (text.toLowerCase().includes(MARK.toLowerCase()) || HOST_PORT.test(text))
    problem(`${c.method} ${c.path.slice(0, 80)} → echoed the request: ${text.slice(0, 120)}`);
  if (r.headers.get('x-content-type-options') !== 'nosniff')
    problem(`${c.method} ${c.path.slice(0, 80)} → ${r.status} without nosniff`);
  if (r.status < 400 || r.status >= 500) {
    problem(`${c.method} ${c.path.slice(0, 80)} → ${r.status} ${text.slice(0, 120)}`);
    return;
  }
  try {
    const body = JSON.parse(text) as { error?: { code?: string } };
    if (!/^PB_ERR_/.test(body.error?.code ?? ''))
      problem(`${c.method} ${c.path.slice(0, 80)} → ${r.status} without a code`);
  } catch {
    problem(`${c.method} ${c.path.slice(0, 80)} → ${r.status} not JSON: ${text.slice(0, 80)}`);
  }
  if ((r.status === 401 || r.status === 403) !== c.authFailure && c.authFailure) {
    problem(`${c.method} ${c.path} expected an auth failure, got ${r.status}`);
  }
}

async function pool<T>(
  items: T[],
  concurrency: number,
  fn: (x: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Raw bytes on a fresh connection: resolves with the reply's status (0 = none) once closed. */
function rawExchange(
  port: number,
  bytes: Buffer | string,
  waitMs: number,
): Promise<{ status: number; body: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    let data = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      resolve({
        status: m ? Number(m[1]) : 0,
        body: data.slice(data.indexOf('\r\n\r\n') + 4),
        closed,
      });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    s.on('data', (d) => {
      data += d.toString('latin1');
      // A complete response we can judge: stop waiting for the close.
      const head = data.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(data)?.[1];
      if (head !== -1 && len !== undefined && data.length >= head + 4 + Number(len)) finish(true);
    });
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
    s.write(bytes);
  });
}

function rawCase(port: number): Buffer | string {
  const host = `Host: 127.0.0.1:${port}\r\n`;
  switch (int(12)) {
    case 0:
      return junk(1 + int(500));
    case 1:
      return `${junkText(3 + int(10))} / HTTP/1.1\r\n${host}\r\n`;
    case 2:
      return `GET /api/metrics HTTP/1.1\r\n${host}${junkText(20)}\r\n\r\n`;
    case 3:
      return `POST /api/transactions HTTP/1.1\r\n${host}Authorization: Bearer ${INGEST}\r\nContent-Type: application/json\r\nContent-Length: ${pick(['-1', 'abc', '99999999999999999999', '1, 2'])}\r\n\r\n{}`;
    case 4:
      return `POST /api/transactions HTTP/1.1\r\n${host}Authorization: Bearer ${INGEST}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${pick(['zz', '-5', 'ffffffffffffffff'])}\r\n{}\r\n0\r\n\r\n`;
    case 5:
      return `GET /api/metrics HTTP/1.1\r\n${host}X-Big: ${'a'.repeat(64 * 1024 + int(64 * 1024))}\r\n\r\n`;
    case 6:
      return `GET /api/metrics HTTP/1.1\r\n${host}${Array.from({ length: 200 }, (_, k) => `X-H${k}: v`).join('\r\n')}\r\n\r\n`;
    case 7:
      return 'GET /api/metrics\r\n\r\n';
    case 8:
      return `GET /api/metrics HTTP/9.9\r\n${host}\r\n`;
    case 9:
      return `GET /api/me\u0000trics HTTP/1.1\r\n${host}\r\n`;
    case 10:
      return `POST /api/transactions HTTP/1.1\r\n${host}Authorization: Bearer ${INGEST}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"ref":`;
    default:
      return `GET /ws HTTP/1.1\r\n${host}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${pick(['', 'short', junkText(24)])}\r\nSec-WebSocket-Version: ${pick(['13', '8', 'x'])}\r\n\r\n`;
  }
}

/** A masked client frame with arbitrary opcode/flags (RFC 6455 §5.2), optionally broken. */
function wsFrame(
  opcode: number,
  payload: Buffer,
  opts: { fin?: boolean; rsv?: number; mask?: boolean } = {},
): Buffer {
  const fin = opts.fin ?? true;
  const masked = opts.mask ?? true;
  const len = payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode];
  if (len < 126) head.push((masked ? 0x80 : 0) | len);
  else if (len < 65536) head.push((masked ? 0x80 : 0) | 126, len >> 8, len & 255);
  else {
    head.push(
      (masked ? 0x80 : 0) | 127,
      0,
      0,
      0,
      0,
      (len >>> 24) & 255,
      (len >> 16) & 255,
      (len >> 8) & 255,
      len & 255,
    );
  }
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const mask = randomBytes(4);
  const out = Buffer.from(payload);
  for (let i = 0; i < out.length; i++) out[i]! ^= mask[i & 3]!;
  return Buffer.concat([Buffer.from(head), mask, out]);
}

// ---------- the run ----------

let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  db = await createTestDatabase();
  server = await startServer(
    ['--sim-tps', '0', '--ingest-rate-limit', '0', '--ws-idle-timeout-s', '8'],
    {
      MYSQL_URL: db.url,
      PERSISTENCE: 'required',
      INGEST_TOKEN: INGEST,
      ADMIN_TOKEN: ADMIN,
      READ_TOKEN: READ,
    },
  );
});
t.teardown(async () => {
  await server?.stop();
  await db?.drop();
});

const VALID_POSTS = 5;

t.test(`fuzz (seed ${SEED})`, async (t) => {
  // Control: a few valid posts that must be written, counted and visible afterwards.
  for (let i = 0; i < VALID_POSTS; i++) {
    const r = await fetch(`${server.url}/api/transactions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' },
      body: JSON.stringify(validItem(i, 'ok')),
    });
    t.equal(r.status, 200, `valid post ${i}: ${await r.text()}`);
  }

  // 1. HTTP requests with malformed bodies, headers, methods, paths, query strings.
  const httpCases = Array.from({ length: 8000 }, (_, i) => httpCase(i));
  const t0 = Date.now();
  await pool(httpCases, 24, (c) => sendHttp(server.url, c));
  t.comment(`8,000 HTTP requests in ${Date.now() - t0} ms`);

  // 2. Raw malformed HTTP and slowloris, at once. uWS answers or closes (its idle timeout
  //    closes stalled requests after ~10 s); the server keeps serving meanwhile.
  const slowloris: Promise<boolean>[] = Array.from(
    { length: 50 },
    () =>
      new Promise<boolean>((resolve) => {
        const s: Socket = connect({ host: '127.0.0.1', port: server.port });
        let sent = 0;
        const partial = `POST /api/transactions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${INGEST}\r\nX-Slow: ${'a'.repeat(200)}`;
        const drip = setInterval(() => {
          if (sent < partial.length) s.write(partial[sent++]!);
        }, 250);
        const giveUp = setTimeout(() => {
          clearInterval(drip);
          s.destroy();
          resolve(false);
        }, 30_000);
        s.on('error', () => {});
        s.on('close', () => {
          clearInterval(drip);
          clearTimeout(giveUp);
          resolve(true);
        });
      }),
  );
  const raws = Array.from({ length: 1000 }, () => rawCase(server.port));
  const t1 = Date.now();
  let rawBad = 0;
  const healthDuring: number[] = [];
  const prober = setInterval(() => {
    const start = Date.now();
    void fetch(`${server.url}/healthz`).then(
      (r) => healthDuring.push(r.status === 200 ? Date.now() - start : -1),
      () => healthDuring.push(-1),
    );
  }, 500);
  await pool(raws, 500, async (bytes) => {
    const r = await rawExchange(server.port, bytes, 20_000);
    tally.requests++;
    if (r.status !== 0) {
      tally.statuses.set(r.status, (tally.statuses.get(r.status) ?? 0) + 1);
      if (r.status === 401 || r.status === 403) tally.authFailures++;
    }
    const ok = (r.status >= 400 && r.status < 500) || (r.status === 0 && r.closed);
    if (!ok) {
      rawBad++;
      problem(
        `raw ${JSON.stringify(String(bytes).slice(0, 60))} → ${r.status} closed=${r.closed} ${r.body.slice(0, 80)}`,
      );
    }
  });
  const closedLoris = await Promise.all(slowloris);
  clearInterval(prober);
  tally.requests += slowloris.length;
  t.comment(`1,000 raw requests + 50 slowloris in ${Date.now() - t1} ms`);
  t.equal(rawBad, 0, 'raw malformed HTTP: a 4xx or a clean close');
  t.ok(
    closedLoris.every(Boolean),
    `the server closed all ${closedLoris.filter(Boolean).length}/50 slowloris connections`,
  );
  t.ok(
    healthDuring.length > 0 && healthDuring.every((ms) => ms >= 0),
    `/healthz kept answering (${healthDuring.length} probes, max ${Math.max(...healthDuring)} ms)`,
  );

  // 3. WebSocket upgrades with bad tokens and origins.
  for (let i = 0; i < 200; i++) {
    const good = rand() < 0.5;
    const url = `${server.wsUrl}?topics=${encodeURIComponent(pick(['metrics', junkText(10), '%%', 'tx,'.repeat(50)]))}${good ? '' : `&token=${encodeURIComponent(pick(['', 'x', READ + 'x', INGEST]))}`}`;
    const headers: Record<string, string> = good
      ? { authorization: `Bearer ${READ}`, origin: 'https://evil.example' }
      : {};
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => {
        ws.close();
        resolve(101);
      });
      ws.once('unexpected-response', (_q, res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      ws.once('error', () => resolve(0));
    });
    note(status);
    if (status !== 401 && status !== 403) problem(`upgrade ${url.slice(0, 80)} → ${status}`);
  }

  // 4. Control messages over accepted sockets: every one gets an error reply.
  const sockets = await Promise.all(
    Array.from(
      { length: 10 },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`${server.wsUrl}?token=${READ}`);
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
  let replies = 0;
  let okReplies = 0;
  for (const ws of sockets) {
    ws.on('message', (raw) => {
      const f = JSON.parse(raw.toString()) as {
        topic: string;
        data: { ok: boolean; error?: { code: string } };
      };
      if (f.topic !== 'control') return;
      replies++;
      if (f.data.ok || !/^PB_ERR_WS_/.test(f.data.error?.code ?? '')) okReplies++;
    });
  }
  const CONTROL = 1500;
  const controlFrames: (string | Buffer)[] = Array.from({ length: CONTROL }, () => {
    switch (int(9)) {
      case 0:
        return junkText(1 + int(200));
      case 1:
        return JSON.stringify(pick(WEIRD_VALUES));
      case 2:
        return JSON.stringify({
          op: pick(['', 'SUBSCRIBE', 'sub', null, 1, 'publish']),
          topics: ['metrics'],
        });
      case 3:
        return JSON.stringify({
          op: 'subscribe',
          topics: pick([[], 'metrics', [1], [null], Array(70).fill('metrics'), {}]),
        });
      case 4:
        return JSON.stringify({
          op: pick(['subscribe', 'unsubscribe']),
          topics: [junkText(12), 'metrics'],
        });
      case 5:
        return junk(1 + int(100)); // binary
      case 6:
        return JSON.stringify({ op: 'subscribe', topics: ['source/' + junkText(5)] });
      case 7:
        return `{"op":"subscribe","topics":["metrics"]${'}'.repeat(int(3))}`.slice(0, 20 + int(10));
      default:
        return JSON.stringify({
          op: 'unsubscribe',
          topics: [pick(['../', 'control', 'source/', '*', '#'])],
        });
    }
  });
  for (const [i, frame] of controlFrames.entries()) {
    const ws = sockets[i % sockets.length]!;
    ws.send(frame, { binary: Buffer.isBuffer(frame) });
  }
  tally.requests += CONTROL;
  await waitFor('a reply to every control frame', async () => replies >= CONTROL, 20_000);
  t.equal(replies, CONTROL, 'every malformed control frame got a reply');
  t.equal(okReplies, 0, 'and every reply is a PB_ERR_WS_* error');
  for (const ws of sockets) ws.close();

  // 5. Raw malformed WebSocket frames: each connection must be closed cleanly.
  const RAW_WS = 300;
  const rawWs = await Promise.all(
    Array.from(
      { length: RAW_WS },
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect({ host: '127.0.0.1', port: server.port });
          let upgraded = false;
          const timer = setTimeout(() => {
            s.destroy();
            resolve(false);
          }, 40_000);
          s.on('connect', () =>
            s.write(
              `GET /ws?token=${READ} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
            ),
          );
          s.on('data', (d) => {
            if (upgraded || !d.toString('latin1').startsWith('HTTP/1.1 101')) return;
            upgraded = true;
            const payload = junk(int(200));
            s.write(
              pick([
                () => wsFrame(0x1, payload, { mask: false }), // clients must mask
                () => wsFrame(pick([0x3, 0x4, 0x5, 0xb, 0xf]), payload), // reserved opcodes
                () => wsFrame(0x1, payload, { rsv: 1 + int(7) }), // RSV bits without an extension
                () => wsFrame(0x9, junk(126 + int(100))), // control frame > 125 bytes
                () => wsFrame(0x8, junk(1)), // close with a 1-byte body
                () => wsFrame(0x0, payload), // continuation with nothing to continue
                () => wsFrame(0x9, junk(10), { fin: false }), // fragmented control frame
                () => wsFrame(0x1, Buffer.alloc(70 * 1024, 0x61)), // over 64 KB
                () => Buffer.concat([wsFrame(0x1, Buffer.from('{"op":')), junk(50)]),
                () => Buffer.from([0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // 2^64 length
              ])(),
            );
          });
          s.on('error', () => {});
          s.on('close', () => {
            clearTimeout(timer);
            resolve(upgraded);
          });
        }),
    ),
  );
  tally.requests += RAW_WS;
  t.ok(
    rawWs.every(Boolean),
    `malformed frames: ${rawWs.filter(Boolean).length}/${RAW_WS} closed by the server`,
  );

  // ---------- verdict ----------
  t.comment(
    `${tally.requests} malformed requests; statuses ${JSON.stringify(Object.fromEntries([...tally.statuses].sort()))}`,
  );
  t.ok(tally.requests >= 10_000, `${tally.requests} ≥ 10,000 requests`);
  t.same(
    tally.bad,
    [],
    'every HTTP answer was a 4xx JSON error with a PB_ERR_ code and nosniff, echoing nothing',
  );
  t.equal(server.proc.exitCode, null, 'the server is still running');
  t.equal((await fetch(`${server.url}/healthz`)).status, 200, 'and answers');

  // No row from a rejected request; the valid ones exactly once.
  const [rows] = await db.conn.query(
    "SELECT SUM(ref LIKE 'fz-%') AS fuzz, SUM(ref LIKE 'ok-%') AS ok, COUNT(*) AS n FROM transactions",
  );
  const r = (rows as { fuzz: string | null; ok: string | null; n: string }[])[0]!;
  t.equal(Number(r.fuzz ?? 0), 0, 'no row written by a rejected request');
  t.equal(Number(r.ok ?? 0), VALID_POSTS, 'the valid posts are there');
  t.equal(Number(r.n), VALID_POSTS, 'and nothing else');
  const [refs] = await db.conn.query("SELECT COUNT(*) AS n FROM ingest_refs WHERE ref LIKE 'fz-%'");
  t.equal(Number((refs as { n: string }[])[0]!.n), 0, 'no idempotency key from a rejected request');

  // Metrics still right: counters equal what we observed.
  const read = { headers: { authorization: `Bearer ${READ}` } };
  const snap = await waitFor(
    'a settled snapshot',
    async () => {
      const s = (await (await fetch(`${server.url}/api/metrics`, read)).json()) as any;
      return s.clients === 0 && s.pipeline.completed === VALID_POSTS && s;
    },
    15_000,
  );
  t.equal(snap.clients, 0, 'no client left open');
  t.equal(snap.pipeline.completed, VALID_POSTS, 'completed counts only the valid posts');
  const rejected = snap.pipeline.rejected;
  t.equal(
    rejected.auth + rejected.origin + rejected.httpOrigin + rejected.host,
    tally.authFailures,
    `token (${rejected.auth}), Origin (${rejected.origin} + ${rejected.httpOrigin}) and Host (${rejected.host}) rejections equal the ${tally.authFailures} 401/403s seen`,
  );
  const prom = await (await fetch(`${server.url}/metrics`, read)).text();
  t.match(
    prom,
    new RegExp(`\\npulseboard_auth_rejected_total ${rejected.auth}\\n`),
    '/metrics agrees',
  );
  t.match(prom, /\npulseboard_ws_clients 0\n/);
  t.match(prom, new RegExp(`\\npulseboard_transactions_completed_total ${VALID_POSTS}\\n`));
  void getJson;
});
