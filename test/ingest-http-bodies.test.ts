import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startHaproxyFor } from './helpers/haproxy.js';
import { startServer, type TestServer } from './helpers/server.js';

/**
 * The HTTP door's body formats: NDJSON streamed in chunks (lines cut across chunks), gzip
 * (bounded inflate: a zip bomb is a 413, not memory), keep-alive, pipelining (closed by
 * uWS, served behind deploy/haproxy.cfg), and bad input (a malformed line names its line,
 * bad gzip, an encoding we do not decode): each a clear 4xx JSON error with nothing written.
 */

const BODY_LIMIT = 65_536;
let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  db = await createTestDatabase('pb_test_httpin');
  server = await startServer(
    ['--sim-tps', '0', '--shards', '1', '--ingest-body-limit', String(BODY_LIMIT)],
    { MYSQL_URL: db.url, PERSISTENCE: 'required' },
  );
});
t.teardown(async () => {
  await server?.stop();
  await db?.drop();
});

const item = (ref: string) =>
  JSON.stringify({ ref, source: 'ach', account: 'acct-1', amount: 1999, currency: 'USD' });

async function post(body: string | Buffer, headers: Record<string, string>) {
  const r = await fetch(`${server.url}/api/transactions`, { method: 'POST', headers, body });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, body: json };
}

async function stored(prefix: string): Promise<number> {
  const [rows] = await db.conn.query('SELECT COUNT(*) AS n FROM transactions WHERE ref LIKE ?', [
    `${prefix}%`,
  ]);
  return Number((rows as { n: string }[])[0]!.n);
}

/** Sends `chunks` as a chunked body, one write per chunk with a pause between. */
function postChunked(
  chunks: Buffer[],
  headers: Record<string, string>,
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}/api/transactions`,
      { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    void (async () => {
      for (const c of chunks) {
        req.write(c);
        await new Promise((r) => setTimeout(r, 20));
      }
      req.end();
    })();
  });
}

/** Cuts `body` into pieces of `size` bytes: lines (and UTF-8 characters) end up split. */
function cut(body: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) out.push(body.subarray(i, i + size));
  return out;
}

const NDJSON = { 'content-type': 'application/x-ndjson' };

t.test('NDJSON streamed in 7-byte chunks: every line stored, in order', async (t) => {
  // 16 lines, ~200 chunks 20 ms apart: about 4 s. uWS drops a request whose body is still
  // arriving ~10 s after it began (its idle timeout is not renewed by body data), and 40
  // lines (~10 s) made this test fail on a loaded machine.
  const n = 16;
  const lines = Array.from({ length: n }, (_, i) => item(`nd-stream-${i}`));
  // CRLF line ends and a blank line in the middle are fine.
  const body = Buffer.from(
    `${lines.slice(0, n / 2).join('\r\n')}\r\n\n${lines.slice(n / 2).join('\n')}`,
  );
  const r = await postChunked(cut(body, 7), NDJSON);
  t.equal(r.status, 200);
  t.equal(r.body.accepted, n);
  t.same(
    r.body.items.map((x: { index: number }) => x.index),
    Array.from({ length: n }, (_, i) => i),
  );
  t.equal(await stored('nd-stream-'), n);
});

t.test('a malformed NDJSON line: 400 naming the line, nothing of the body stored', async (t) => {
  const body = [item('nd-bad-1'), item('nd-bad-2'), '', '{"ref":"nd-bad-3",', item('nd-bad-4')];
  const r = await postChunked(cut(Buffer.from(body.join('\n')), 11), NDJSON);
  t.equal(r.status, 400);
  t.equal(r.body.error.code, 'PB_ERR_INGEST_INVALID');
  t.equal(r.body.error.line, 4, 'the physical line, blank lines counted');
  t.match(r.body.error.message, /line 4/);
  t.equal(r.body.accepted, 0);
  t.equal(r.body.rejected[0].index, 2, 'the third item');
  t.equal(await stored('nd-bad-'), 0);
});

t.test('gzip: a JSON item, a JSON array and NDJSON, whole or in chunks', async (t) => {
  const one = await post(gzipSync(item('gz-1')), {
    'content-type': 'application/json',
    'content-encoding': 'gzip',
  });
  t.equal(one.status, 200);
  t.equal(one.body.accepted, 1);
  const arr = await post(gzipSync(`[${item('gz-2')},${item('gz-3')}]`), {
    'content-type': 'application/json',
    'content-encoding': 'gzip',
  });
  t.equal(arr.body.accepted, 2);
  const lines = Array.from({ length: 300 }, (_, i) => item(`gz-nd-${i}`)).join('\n');
  const nd = await postChunked(cut(gzipSync(lines), 512), {
    ...NDJSON,
    'content-encoding': 'gzip',
  });
  t.equal(nd.status, 200);
  t.equal(nd.body.accepted, 300);
  t.equal(await stored('gz-'), 303);
});

t.test('bad gzip: 400, nothing stored', async (t) => {
  const headers = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
  const notGzip = await post(item('gz-bad-1'), headers);
  t.equal(notGzip.status, 400);
  t.equal(notGzip.body.error.code, 'PB_ERR_HTTP_BAD_GZIP');
  const whole = gzipSync(`${item('gz-bad-2')}\n${item('gz-bad-3')}`);
  const truncated = await post(whole.subarray(0, whole.length - 12), {
    ...headers,
    'content-type': 'application/x-ndjson',
  });
  t.equal(truncated.status, 400);
  t.equal(truncated.body.error.code, 'PB_ERR_HTTP_BAD_GZIP');
  t.equal(await stored('gz-bad-'), 0);
});

t.test('a zip bomb: 413 once the output passes the limit, no memory growth', async (t) => {
  const rss = () => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'));
    return Number(m![1]) * 1024;
  };
  // 64 MiB of spaces inflate from ~64 KiB: a thousand times the body limit.
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20), { level: 9 });
  t.ok(bomb.length < BODY_LIMIT, `the bomb itself fits the body limit (${bomb.length} bytes)`);
  const before = rss();
  for (let i = 0; i < 5; i++) {
    const r = await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    t.equal(r.status, 413);
    t.equal(r.body.error.code, 'PB_ERR_HTTP_BODY_TOO_LARGE');
  }
  // Many at once: each is refused (413 once inflated past the limit, or 503 + Retry-After when
  // the bytes being inflated together, or the compressed bytes, fill the queue bound).
  const many = await Promise.all(
    Array.from({ length: 40 }, () =>
      fetch(`${server.url}/api/transactions`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
        body: bomb,
      }).then(async (r) => ({
        status: r.status,
        retry: r.headers.get('retry-after'),
        body: (await r.json()) as any,
      })),
    ),
  );
  for (const r of many) {
    t.ok(r.status === 413 || r.status === 503, `refused: ${r.status} ${r.body.error.code}`);
    if (r.status === 503) t.ok(r.retry, 'with Retry-After');
  }
  const grown = rss() - before;
  t.ok(grown < 64 * 1024 * 1024, `RSS grew ${Math.round(grown / 1048576)} MiB (< 64 MiB)`);
  // A valid NDJSON body past the limit once inflated: refused whole.
  const big = Array.from({ length: 1000 }, (_, i) => item(`gz-big-${i}`)).join('\n');
  const r = await post(gzipSync(big), { ...NDJSON, 'content-encoding': 'gzip' });
  t.equal(r.status, 413);
  t.equal(await stored('gz-big-'), 0);
});

t.test('NDJSON is a content type of the ingest route only', async (t) => {
  const r = await fetch(`${server.url}/api/load-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: '{"tps": 1}\n',
  });
  t.equal(r.status, 415);
  t.equal(((await r.json()) as any).error.code, 'PB_ERR_HTTP_CONTENT_TYPE');
});

t.test('an encoding we do not decode: 415, nothing stored', async (t) => {
  for (const encoding of ['br', 'deflate', 'gzip, gzip', 'compress']) {
    const r = await post(item(`enc-${encoding.length}`), {
      'content-type': 'application/json',
      'content-encoding': encoding,
    });
    t.equal(r.status, 415, encoding);
    t.equal(r.body.error.code, 'PB_ERR_HTTP_CONTENT_ENCODING', encoding);
  }
  t.equal(await stored('enc-'), 0);
});

/**
 * One raw keep-alive connection (to the server, or to `port`); `send` writes requests and
 * resolves with the next `n` answers, parsed by Content-Length. `closed` tells whether the
 * server closed the socket.
 */
function rawConnection(port = server.port) {
  const s = connect(port, '127.0.0.1');
  let data = Buffer.alloc(0);
  let closed = false;
  let waiter: (() => void) | undefined;
  s.on('data', (d) => {
    data = Buffer.concat([data, d]);
    waiter?.();
  });
  s.on('error', () => {});
  s.on('close', () => {
    closed = true;
    waiter?.();
  });
  function take(): { status: number; body: any } | null {
    const head = data.indexOf('\r\n\r\n');
    if (head === -1) return null;
    const header = data.subarray(0, head).toString('latin1');
    const length = Number(/content-length: (\d+)/i.exec(header)?.[1] ?? 0);
    if (data.length < head + 4 + length) return null;
    const body = data.subarray(head + 4, head + 4 + length).toString('utf8');
    data = data.subarray(head + 4 + length);
    return { status: Number(header.split(' ')[1]), body: JSON.parse(body) };
  }
  return {
    get closed() {
      return closed;
    },
    get pendingBytes() {
      return data.length;
    },
    send(bytes: string, n: number, ms = 20_000): Promise<{ status: number; body: any }[]> {
      s.write(bytes);
      const out: { status: number; body: any }[] = [];
      return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          waiter = undefined;
          resolve(out);
        }
        waiter = () => {
          for (let a = take(); a !== null; a = take()) out.push(a);
          if (out.length >= n || closed) done();
        };
        waiter();
      });
    },
    end: () => s.end(),
  };
}

function rawPost(body: string, type = 'application/json'): string {
  return `POST /api/transactions HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

t.test('keep-alive: one connection, many requests, bad ones in between', async (t) => {
  const c = rawConnection();
  const bodies: [string, string, number][] = [
    [item('keep-1'), 'application/json', 200],
    [`${item('keep-2')}\n${item('keep-3')}`, 'application/x-ndjson', 200],
    ['{"ref":"keep-x",', 'application/json', 400],
    [item('keep-4'), 'application/json', 200],
    [item('keep-1'), 'application/json', 200],
  ];
  const answers = [];
  for (const [body, type] of bodies) answers.push(...(await c.send(rawPost(body, type), 1)));
  t.same(
    answers.map((a) => a.status),
    bodies.map((b) => b[2]),
  );
  t.notOk(c.closed, 'the connection stayed open');
  t.equal(answers[2]!.body.error.code, 'PB_ERR_HTTP_BAD_JSON');
  t.equal(answers[4]!.body.duplicates, 1, 'the repeated ref is the same transaction');
  t.equal(answers[4]!.body.items[0].id, answers[0]!.body.items[0].id);
  c.end();
  t.equal(await stored('keep-'), 4);
});

/**
 * uWebSockets.js serves pipelined requests only when each is answered before the next is
 * parsed; a request that arrives while the one before it waits for its COMMIT closes the
 * connection (upstream's choice, "denying async pipelining": uNetworking/uWebSockets.js
 * #277, #1301). What we guarantee: no answer is ever given to the wrong request, nothing
 * unanswered is acknowledged, a retry of the same refs is idempotent, and the server goes on.
 */
t.test('pipelined POSTs: the connection closes, no answer is misattributed', async (t) => {
  const c = rawConnection();
  const answers = await c.send(rawPost(item('pipe-1')) + rawPost(item('pipe-2')), 2);
  t.ok(c.closed, 'the server closed the connection');
  t.equal(answers.length, 0, 'no answer for either request');
  t.equal(c.pendingBytes, 0, 'no partial answer either');
  t.equal(await stored('pipe-2'), 0, 'the request behind never ran');
  // The producer retries, one request at a time: both stored once (pipe-1 may already be).
  for (const ref of ['pipe-1', 'pipe-2']) {
    const r = await post(item(ref), { 'content-type': 'application/json' });
    t.equal(r.status, 200);
  }
  t.equal(await stored('pipe-'), 2);
});

/**
 * Behind the shipped proxy, pipelining works: HAProxy parses a client's requests one at a
 * time and sends the backend the next only once the previous is answered, so uWS never sees
 * a request pipelined behind an unanswered one. N single-item POSTs in one write (more than
 * HAProxy's 16 KiB request buffer holds) get N answers on the one connection, in order.
 */
t.test('pipelined POSTs behind deploy/haproxy.cfg: N answers in order, N rows', async (t) => {
  const N = 200;
  const { port } = await startHaproxyFor(t, { PB_BACKEND: `127.0.0.1:${server.port}` });
  const refs = Array.from({ length: N }, (_, i) => `proxied-${i}`);
  const c = rawConnection(port);
  const answers = await c.send(refs.map((ref) => rawPost(item(ref))).join(''), N);
  t.equal(answers.length, N, `${N} answers`);
  t.notOk(c.closed, 'the connection stayed open');
  t.ok(
    answers.every((a) => a.status === 200 && a.body.accepted === 1),
    'each one 200, its item accepted',
  );
  const [rows] = await db.conn.query(
    "SELECT CAST(id AS CHAR) AS id, ref FROM transactions WHERE ref LIKE 'proxied-%'",
  );
  const idOf = new Map((rows as { id: string; ref: string }[]).map((r) => [r.ref, r.id]));
  t.equal(idOf.size, N, `${N} rows in MySQL`);
  t.same(
    answers.map((a) => a.body.items[0].id),
    refs.map((ref) => idOf.get(ref)),
    "each answer is its own request's, in the order sent",
  );
  c.end();
});
