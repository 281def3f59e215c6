import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import WebSocket from 'ws';
import { parseOptions } from '../src/config/parse-options.js';
import { startServer } from './helpers/server.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * Access control (issue 6 §1): tokens per endpoint class with 401 (missing) / 403 (wrong)
 * JSON errors, the WebSocket upgrade's token and Origin, tokens never in the logs, and the
 * start-up refusal to expose an unauthenticated server to the network.
 */

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const INGEST = 'ingest-secret-4f1c9a';
const ADMIN = 'admin-secret-77ab02';
const READ = 'read-secret-0c3d5e';

async function call(
  url: string,
  init: { method?: string; token?: string; body?: string; type?: string } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = init.type ?? 'application/json';
  const r = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body });
  const text = await r.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Prometheus text
  }
  return { status: r.status, headers: r.headers, body };
}

/** Opens /ws; resolves to 101 on success or the refusal's status and JSON body. */
function upgrade(
  url: string,
  headers: Record<string, string> = {},
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

t.test('exposure: a non-loopback HOST without write tokens refuses to start', async (t) => {
  for (const host of ['0.0.0.0', '::', '192.168.1.20', 'example.com']) {
    t.throws(() => parseOptions(['--host', host], {}), /INGEST_TOKEN and ADMIN_TOKEN/, host);
  }
  t.throws(
    () => parseOptions(['--host', '0.0.0.0', '--admin-token', ADMIN], {}),
    /INGEST_TOKEN is not set/,
  );
  for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]']) {
    t.doesNotThrow(() => parseOptions(['--host', host], {}), `${host} is loopback`);
  }
  t.doesNotThrow(() =>
    parseOptions(['--host', '0.0.0.0'], { INGEST_TOKEN: INGEST, ADMIN_TOKEN: ADMIN }),
  );
  t.doesNotThrow(() => parseOptions(['--host', '0.0.0.0', '--allow-unauthenticated', 'true'], {}));

  // The real CLI: exit code 2 and a message that says what to do (nothing is bound).
  const r = spawnSync(process.execPath, [MAIN, '--host', '0.0.0.0', '--port', '0'], {
    encoding: 'utf8',
    env: { ...process.env, INGEST_TOKEN: INGEST, ADMIN_TOKEN: '' },
    timeout: 15_000,
  });
  t.equal(r.status, 2, 'exit code 2');
  t.match(r.stderr, /ADMIN_TOKEN is not set/);
  t.match(r.stderr, /--allow-unauthenticated true/);
  t.notMatch(r.stderr + r.stdout, INGEST, 'the token is not echoed');
});

t.test('tokens: 401 missing, 403 wrong, open probes, per-class tokens', async (t) => {
  const server = await startServer([], {
    INGEST_TOKEN: INGEST,
    ADMIN_TOKEN: ADMIN,
    READ_TOKEN: READ,
  });
  t.teardown(() => server.stop());
  const u = server.url;

  t.equal((await call(`${u}/healthz`)).status, 200, '/healthz is open');
  t.not((await call(`${u}/readyz`)).status, 401, '/readyz is open');

  for (const path of ['/api/metrics', '/api/load-test', '/api/history', '/metrics', '/api/nope']) {
    const missing = await call(`${u}${path}`);
    t.equal(missing.status, 401, `${path} without a token`);
    t.equal(missing.body.error.code, 'PB_ERR_AUTH_MISSING');
    t.match(missing.headers.get('www-authenticate'), /^Bearer/);
    const wrong = await call(`${u}${path}`, { token: 'nope' });
    t.equal(wrong.status, 403, `${path} with a wrong token`);
    t.equal(wrong.body.error.code, 'PB_ERR_AUTH_INVALID');
    t.equal((await call(`${u}${path}`, { token: INGEST })).status, 403, `${path}: ingest token`);
  }
  t.equal((await call(`${u}/api/metrics`, { token: READ })).status, 200, 'read token reads');
  t.equal((await call(`${u}/api/metrics`, { token: ADMIN })).status, 200, 'admin token reads');
  const prom = await call(`${u}/metrics`, { token: READ });
  t.equal(prom.status, 200);
  t.match(prom.body, /pulseboard_auth_rejected_total \d+/);

  // Ingest: INGEST_TOKEN only. Persistence is off here, so a passing request gets 503.
  const tx = JSON.stringify({ ref: 'a', source: 'ach', account: 'x', amount: 1, currency: 'USD' });
  const post = (token?: string) =>
    call(`${u}/api/transactions`, { method: 'POST', token, body: tx });
  t.equal((await post()).status, 401);
  t.equal((await post(READ)).status, 403);
  t.equal((await post(ADMIN)).status, 403);
  const through = await post(INGEST);
  t.equal(through.body.error.code, 'PB_ERR_INGEST_OFF', 'the ingest token gets past auth');

  // Admin: ADMIN_TOKEN only.
  for (const path of ['/api/load-test', '/api/load-test/stop', '/api/reset']) {
    const body = path === '/api/load-test' ? '{"tps": 5}' : undefined;
    t.equal((await call(`${u}${path}`, { method: 'POST', body })).status, 401, `${path} none`);
    t.equal(
      (await call(`${u}${path}`, { method: 'POST', body, token: READ })).status,
      403,
      `${path} read token`,
    );
    t.equal(
      (await call(`${u}${path}`, { method: 'POST', body, token: ADMIN })).status,
      200,
      `${path} admin token`,
    );
  }
  t.equal(
    (await call(`${u}/api/metrics`, { token: `${READ}x` })).status,
    403,
    'a longer token with the right prefix is wrong',
  );
  const lower = await fetch(`${u}/api/metrics`, { headers: { authorization: `bearer ${READ}` } });
  t.equal(lower.status, 200, 'the Bearer scheme is case-insensitive');

  const snap = await waitFor('the rejections in the snapshot', async () => {
    const s = await call(`${u}/api/metrics`, { token: READ });
    return s.body.pipeline.rejected.auth >= 20 && s;
  });
  t.ok(snap.body.pipeline.rejected.auth >= 20, 'rejections counted in the snapshot');

  // The tokens never reach the log.
  const logged = JSON.stringify(server.logs);
  for (const secret of [INGEST, ADMIN, READ]) t.notOk(logged.includes(secret), 'not logged');
});

t.test('websocket upgrade: token by query or header, Origin checked', async (t) => {
  const server = await startServer([], { READ_TOKEN: READ, ADMIN_TOKEN: ADMIN });
  t.teardown(() => server.stop());
  const ws = `${server.wsUrl}?topics=metrics`;
  const host = `127.0.0.1:${server.port}`;

  const none = await upgrade(ws);
  t.equal(none.status, 401);
  t.equal(none.body.error.code, 'PB_ERR_AUTH_MISSING');
  const wrong = await upgrade(`${ws}&token=wrong`);
  t.equal(wrong.status, 403);
  t.equal(wrong.body.error.code, 'PB_ERR_AUTH_INVALID');
  t.equal((await upgrade(`${ws}&token=${READ}`)).status, 101, '?token=');
  t.equal((await upgrade(ws, { authorization: `Bearer ${READ}` })).status, 101, 'header');
  t.equal(
    (await upgrade(`${ws}&token=${encodeURIComponent(ADMIN)}`)).status,
    101,
    'admin token reads',
  );
  t.equal(
    (await upgrade(`${ws}&token=${READ}`, { origin: `http://${host}` })).status,
    101,
    'same origin',
  );
  const cross = await upgrade(`${ws}&token=${READ}`, { origin: 'https://evil.example' });
  t.equal(cross.status, 403, 'another origin is refused when READ_TOKEN is set');
  t.equal(cross.body.error.code, 'PB_ERR_AUTH_ORIGIN');

  const snap = await waitFor('the refusals in the snapshot', async () => {
    const s = await call(`${server.url}/api/metrics`, { token: READ });
    return s.body.pipeline.rejected.origin > 0 && s;
  });
  t.equal(snap.body.pipeline.rejected.origin, 1);
  t.ok(snap.body.pipeline.rejected.auth >= 2);
});

t.test('WS_ALLOWED_ORIGINS lists origins; loopback without tokens stays open', async (t) => {
  const server = await startServer(['--ws-allowed-origins', 'https://ops.example.com']);
  t.teardown(() => server.stop());
  t.equal((await call(`${server.url}/api/metrics`)).status, 200, 'no token needed');
  t.equal(
    (await call(`${server.url}/api/reset`, { method: 'POST' })).status,
    200,
    'admin open on loopback without ADMIN_TOKEN',
  );
  t.equal((await upgrade(server.wsUrl)).status, 101, 'no Origin: not a browser');
  t.equal((await upgrade(server.wsUrl, { origin: 'https://ops.example.com' })).status, 101);
  t.equal((await upgrade(server.wsUrl, { origin: 'https://evil.example' })).status, 403);
});
