import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { runHttpLoad } from '../bench/ingest/http-load-client.js';
import { ResponseReader } from '../bench/ingest/http-response-reader.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';

/**
 * The bench's HTTP load client (bench/ingest/http-load-client.ts) counts what it claims:
 * against the real server every ref it calls acknowledged is in MySQL exactly once, and no
 * row is there that it did not acknowledge or count as lost; against servers that refuse
 * (400, chunked) or close after every answer it counts non-2xx and closes, not successes.
 */

let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  db = await createTestDatabase('pb_test_loadgen');
  server = await startServer(['--sim-tps', '0', '--ingest-rate-loopback', 'false'], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
  });
});
t.teardown(async () => {
  await server?.stop();
  await db?.drop();
});

/** A plain node:http server on port 0 answering every request with `answer`. */
async function fake(answer: Parameters<Server['on']>[1]): Promise<{ url: string; close(): void }> {
  const s = createServer(answer as never);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    close: () => s.close(),
  };
}

t.test('every acknowledged ref is in MySQL exactly once', async (t) => {
  const r = await runHttpLoad({ url: server.url, connections: 16, seconds: 2, refPrefix: 'lg-' });
  t.ok(r.requests2xx > 0, `${r.requests2xx} answered 2xx`);
  t.equal(r.errors, 0, 'no errors');
  t.equal(r.timeouts, 0, 'no timeouts');
  t.equal(r.non2xx, 0, 'no refusals');
  t.ok(r.acknowledged >= r.requests2xx, 'the drain acknowledges the span and the stragglers');
  const [rows] = await db.conn.query(
    "SELECT ref, COUNT(*) AS n FROM transactions WHERE ref LIKE 'lg-%' GROUP BY ref",
  );
  const stored = new Map((rows as { ref: string; n: string }[]).map((x) => [x.ref, Number(x.n)]));
  let missing = 0;
  let twice = 0;
  for (const ref of r.ackedRefs()) {
    const n = stored.get(ref) ?? 0;
    if (n === 0) missing++;
    if (n > 1) twice++;
  }
  t.equal(missing, 0, 'no acknowledged ref missing');
  t.equal(twice, 0, 'no acknowledged ref stored twice');
  t.ok(stored.size <= r.acknowledged + r.unanswered, 'no row the client did not account for');
});

t.test('a server answering 400 (chunked) counts as non-2xx, nothing acknowledged', async (t) => {
  const f = await fake((req: any, res: any) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = 400;
      res.setHeader('content-type', 'application/json');
      res.write('{"error":');
      res.end('"bad"}');
    });
  });
  try {
    const r = await runHttpLoad({ url: f.url, connections: 4, seconds: 1, refPrefix: 'bad-' });
    t.ok(r.non2xx > 0, `${r.non2xx} non-2xx`);
    t.equal(r.requests2xx, 0);
    t.equal(r.errors, 0, 'chunked answers parsed');
    t.equal(r.acknowledged, 0);
  } finally {
    f.close();
  }
});

t.test('a server closing after every answer: counted, reopened, still loaded', async (t) => {
  const f = await fake((req: any, res: any) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(201, { 'content-length': '2', connection: 'close' });
      res.end('{}');
    });
  });
  try {
    const r = await runHttpLoad({ url: f.url, connections: 4, seconds: 1, refPrefix: 'cl-' });
    t.ok(r.requests2xx > 1, `${r.requests2xx} answered 2xx`);
    t.ok(r.closedByServer > 0, `${r.closedByServer} closes counted`);
    t.equal(r.errors, 0);
  } finally {
    f.close();
  }
});

t.test('responses cut anywhere between reads are read whole', async (t) => {
  const bytes = Buffer.from(
    'HTTP/1.1 100 Continue\r\n\r\n' +
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' +
      'HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n' +
      'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n',
  );
  for (let cut = 1; cut < bytes.length; cut++) {
    const seen: string[] = [];
    const reader = new ResponseReader({
      response: (status, close) => seen.push(`${status}${close ? ' close' : ''}`),
      malformed: (reason) => seen.push(reason),
    });
    // The reader may keep no reference to a read buffer: the socket overwrites it.
    const shared = Buffer.alloc(bytes.length);
    for (const [a, b] of [
      [0, cut],
      [cut, bytes.length],
    ] as const) {
      bytes.copy(shared, 0, a, b);
      reader.push(shared, 0, b - a);
      shared.fill(0);
    }
    if (seen.join() !== '200,400,204 close') {
      t.fail(`cut at ${cut}: ${seen.join()}`);
      return;
    }
  }
  t.pass('every cut');
});

t.test(
  'with no items it sends bodiless GETs of the path (the peers bench reads /api/metrics)',
  async (t) => {
    const seen = new Map<string, number>();
    const f = await fake((req: any, res: any) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      req.on('end', () => {
        const key = `${req.method} ${req.url} body=${bytes}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        res.end('{"ok":true}');
      });
    });
    try {
      const r = await runHttpLoad({
        url: f.url,
        path: '/api/metrics',
        connections: 4,
        seconds: 1,
        itemsPerRequest: 0,
        refPrefix: '',
      });
      t.ok(r.requests2xx > 0, `${r.requests2xx} answered 2xx`);
      t.equal(r.errors + r.non2xx + r.timeouts, 0, 'no failures');
      t.same(
        [...seen.keys()],
        ['GET /api/metrics body=0'],
        'every request a GET of the path, no body',
      );
    } finally {
      f.close();
    }
  },
);
