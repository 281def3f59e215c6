import { request } from 'node:http';
import t from 'tap';
import WebSocket from 'ws';
import { startServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * What a web page can make a default server (loopback, no tokens) do (issue 15 §2): CSRF
 * through form-compatible content types and foreign Origins, DNS rebinding through a
 * foreign Host, and cross-site WebSocket hijacking. Each regression test says what the
 * code before the fix answered.
 */

interface Answer {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

/** An HTTP request with full control of the headers (fetch cannot set Host). */
function send(
  server: TestServer,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, method, path, headers, agent: false },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => {
          let parsed: any = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // the dashboard's HTML, Prometheus text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** Opens /ws with these headers; resolves to 101 or the refusal's status and JSON body. */
function upgrade(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body?: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

t.test('a default server', async (t) => {
  const server = await startServer(['--sim-tps', '0']);
  t.teardown(() => server.stop());
  const own = `http://127.0.0.1:${server.port}`;
  const scenario = async () => (await send(server, 'GET', '/api/load-test')).body.state;

  // Regression: POST /api/reset with text/plain (what a plain HTML form can send) was 200.
  await t.test('state-changing routes take JSON only (415)', async (t) => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      const r = await send(server, 'POST', '/api/reset', { 'content-type': type }, 'x=1');
      t.equal(r.status, 415, `reset as ${type}`);
      t.equal(r.body.error.code, 'PB_ERR_HTTP_CONTENT_TYPE');
    }
    // Regression: without a Content-Type (a no-cors fetch), {"scenario":"max"} started and ran
    // until someone stopped it.
    const max = await send(server, 'POST', '/api/load-test', {}, '{"scenario":"max"}');
    t.equal(max.status, 415, 'load-test without a content type');
    t.equal(await scenario(), 'idle', 'and nothing started');
    const form = await send(
      server,
      'POST',
      '/api/load-test',
      { 'content-type': 'text/plain' },
      '{"scenario":"max"}',
    );
    t.equal(form.status, 415, 'load-test as text/plain');
    t.equal((await send(server, 'POST', '/api/load-test/stop')).status, 415, 'stop without one');
    const ingest = await send(
      server,
      'POST',
      '/api/transactions',
      { 'content-type': 'text/plain' },
      '{}',
    );
    t.equal(ingest.status, 415, 'ingest as text/plain');

    // What the dashboard and the README send: JSON, an empty body being fine for stop/reset.
    t.equal((await send(server, 'POST', '/api/load-test/stop', JSON_TYPE)).status, 200);
    t.equal((await send(server, 'POST', '/api/reset', JSON_TYPE)).status, 200);
    const json = await send(
      server,
      'POST',
      '/api/load-test',
      { 'content-type': 'application/json; charset=utf-8' },
      '{"tps": 5}',
    );
    t.equal(json.status, 200, 'JSON with a charset starts a scenario');
    t.equal((await send(server, 'POST', '/api/load-test/stop', JSON_TYPE)).status, 200);
  });

  await t.test('state-changing routes refuse a foreign Origin (403)', async (t) => {
    for (const path of [
      '/api/reset',
      '/api/load-test',
      '/api/load-test/stop',
      '/api/transactions',
    ]) {
      const r = await send(
        server,
        'POST',
        path,
        { ...JSON_TYPE, origin: 'https://evil.example' },
        '{"scenario":"max"}',
      );
      t.equal(r.status, 403, `${path} from evil.example`);
      t.equal(r.body.error.code, 'PB_ERR_AUTH_ORIGIN');
    }
    t.not(await scenario(), 'running', 'nothing started');
    const opaque = await send(server, 'POST', '/api/reset', { ...JSON_TYPE, origin: 'null' });
    t.equal(opaque.status, 403, 'Origin: null (sandboxed frame, no-referrer page)');
    const otherPort = await send(server, 'POST', '/api/reset', {
      ...JSON_TYPE,
      origin: 'http://127.0.0.1:1',
    });
    t.equal(otherPort.status, 403, 'another local port is another origin');
    const site = await send(server, 'POST', '/api/reset', {
      ...JSON_TYPE,
      'sec-fetch-site': 'cross-site',
    });
    t.equal(site.status, 403, 'no Origin but Sec-Fetch-Site: cross-site');
    const same = await send(server, 'POST', '/api/reset', { ...JSON_TYPE, origin: own });
    t.equal(same.status, 200, 'the dashboard on its own origin');
    const reads = await send(server, 'GET', '/api/metrics', { origin: 'https://evil.example' });
    t.equal(reads.status, 200, 'reads are not checked (no CORS headers: a page cannot read them)');
  });

  // Regression: no Host check; a page on a name rebound to 127.0.0.1 read and wrote freely.
  await t.test('a foreign Host is refused everywhere but the probes (403)', async (t) => {
    const evil = { host: `evil.example:${server.port}` };
    for (const [method, path] of [
      ['GET', '/api/transactions'],
      ['GET', '/api/metrics'],
      ['GET', '/metrics'],
      ['GET', '/'],
      ['GET', '/nowhere'],
      ['POST', '/api/transactions'],
      ['POST', '/api/reset'],
    ] as const) {
      const r = await send(server, method, path, { ...evil, ...JSON_TYPE }, '{}');
      t.equal(r.status, 403, `${method} ${path}`);
      t.equal(r.body.error.code, 'PB_ERR_HTTP_HOST');
    }
    const ws = await upgrade(server.wsUrl, evil);
    t.equal(ws.status, 403, '/ws');
    t.equal(ws.body.error.code, 'PB_ERR_HTTP_HOST');
    t.equal((await send(server, 'GET', '/healthz', evil)).status, 200, '/healthz answers any Host');
    t.not((await send(server, 'GET', '/readyz', evil)).status, 403, '/readyz too');
    for (const host of [
      `localhost:${server.port}`,
      `127.0.0.1:${server.port}`,
      'app.localhost',
      '[::1]',
    ])
      t.equal((await send(server, 'GET', '/api/metrics', { host })).status, 200, host);
  });

  // Regression: without READ_TOKEN any Origin could open /ws and read the live feed.
  await t.test('the WebSocket checks Origin without READ_TOKEN', async (t) => {
    const evil = await upgrade(`${server.wsUrl}?topics=tx`, { origin: 'https://evil.example' });
    t.equal(evil.status, 403);
    t.equal(evil.body.error.code, 'PB_ERR_AUTH_ORIGIN');
    t.equal((await upgrade(server.wsUrl, { origin: own })).status, 101, 'same origin');
    t.equal((await upgrade(server.wsUrl, {})).status, 101, 'no Origin: not a browser');
  });

  await t.test('the refusals are counted', async (t) => {
    const snap = await waitFor('the refusals in the snapshot', async () => {
      const s = (await send(server, 'GET', '/api/metrics')).body;
      return s.pipeline.rejected.host >= 8 && s;
    });
    t.equal(snap.pipeline.rejected.host, 8, 'Host');
    t.equal(snap.pipeline.rejected.httpOrigin, 7, 'Origin of POSTs');
    t.equal(snap.pipeline.rejected.origin, 1, 'Origin of /ws');
    const prom = (await send(server, 'GET', '/metrics')).body as string;
    t.match(prom, /\npulseboard_host_rejected_total 8\n/);
    t.match(prom, /\npulseboard_http_origin_rejected_total 7\n/);
    t.match(prom, /\npulseboard_ws_origin_rejected_total 1\n/);
  });
});

t.test('ALLOWED_HOSTS and ALLOWED_ORIGINS open what they list', async (t) => {
  const server = await startServer([
    '--sim-tps',
    '0',
    '--allowed-hosts',
    'ops.example.com,.corp.example',
    '--allowed-origins',
    'https://ops.example.com',
  ]);
  t.teardown(() => server.stop());
  for (const host of ['ops.example.com', 'box.corp.example:8443'])
    t.equal((await send(server, 'GET', '/api/metrics', { host })).status, 200, host);
  t.equal((await send(server, 'GET', '/api/metrics', { host: 'evil.example' })).status, 403);
  const listed = await send(server, 'POST', '/api/reset', {
    ...JSON_TYPE,
    host: 'pulseboard.internal.corp.example',
    origin: 'https://ops.example.com',
  });
  t.equal(listed.status, 200, 'a listed Origin may POST');
  t.equal(
    (await upgrade(server.wsUrl, { origin: 'https://ops.example.com' })).status,
    101,
    'and open /ws',
  );

  const any = await startServer(['--sim-tps', '0', '--allowed-hosts', '*']);
  t.teardown(() => any.stop());
  t.equal(
    (await send(any, 'GET', '/api/metrics', { host: 'anything.example' })).status,
    200,
    '* turns the Host check off',
  );
});

// WS_THREADS > 1 (issue 14 §1): /ws is on the fan-out threads' WS_PORT; the Host and Origin
// checks and their counters must be those of the primary.
t.test('WS_THREADS=2: the fan-out threads check Host and Origin, and count', async (t) => {
  const server = await startServer(['--sim-tps', '0', '--ws-threads', '2']);
  t.teardown(() => server.stop());
  const ws = `ws://127.0.0.1:${server.wsPort}/ws`;
  const foreign = await upgrade(ws, { host: `evil.example:${server.wsPort}` });
  t.equal(foreign.status, 403, 'a foreign Host');
  t.equal(foreign.body.error.code, 'PB_ERR_HTTP_HOST');
  const evil = await upgrade(`${ws}?topics=tx`, { origin: 'https://evil.example' });
  t.equal(evil.status, 403, 'a foreign Origin');
  t.equal(evil.body.error.code, 'PB_ERR_AUTH_ORIGIN');
  const page = `http://127.0.0.1:${server.port}`;
  t.equal((await upgrade(ws, { origin: page })).status, 101, "the dashboard's page on PORT");
  const otherPort = `http://127.0.0.1:${server.port + 1 === server.wsPort ? server.port + 2 : server.port + 1}`;
  t.equal(
    (await upgrade(ws, { origin: otherPort })).status,
    403,
    'another port of that host is not',
  );
  const snap = await waitFor('the refusals in the snapshot', async () => {
    const s = (await send(server, 'GET', '/api/metrics')).body;
    return s.pipeline.rejected.origin >= 2 && s;
  });
  t.equal(snap.pipeline.rejected.host, 1, 'Host, counted by the fan-out thread');
  t.equal(snap.pipeline.rejected.origin, 2, 'Origin of /ws');
  const prom = (await send(server, 'GET', '/metrics')).body as string;
  t.match(prom, /\npulseboard_ws_origin_rejected_total 2\n/);
});
