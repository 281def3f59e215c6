import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import WebSocket from 'ws';
import { parseOptions } from '../src/config/parse-options.js';
import { bearerSubprotocol, WS_PROTOCOL } from '../src/ws/ws-subprotocol.js';
import { startServer } from './helpers/server.js';
import { waitFor } from './helpers/wait-for.js';
import { startServerWith, WS_THREAD_COUNTS } from './helpers/ws-threads.js';

/**
 * Access control (issue 6 §1, issue 15 §3): tokens per endpoint class with 401 (missing) /
 * 403 (wrong) JSON errors, the WebSocket upgrade's token (header, subprotocol, query) and
 * Origin, tokens never in the logs, the start-up refusal to expose an unauthenticated or
 * unreadable-by-token server to the network, the minimum token length, and the per-address
 * throttle of wrong tokens.
 */

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
// At least 32 characters (MIN_TOKEN_LENGTH).
const INGEST = 'ingest-secret-4f1c9a-0123456789abcdef';
const ADMIN = 'admin-secret-77ab02-0123456789abcdef';
const READ = 'read-secret-0c3d5e-0123456789abcdef';

async function call(
  url: string,
  init: { method?: string; token?: string; body?: string; type?: string } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  // Every POST is JSON (state-changing routes refuse anything else with 415).
  if (init.body !== undefined || init.method === 'POST')
    headers['content-type'] = init.type ?? 'application/json';
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

/** Opens /ws; resolves to 101 (and the protocol chosen) or the refusal's status, headers and body. */
function upgrade(
  url: string,
  headers: Record<string, string> = {},
  protocols: string[] = [],
): Promise<{ status: number; body?: any; protocol?: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, protocol: ws.protocol });
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(text),
          retryAfter: res.headers['retry-after'] as string | undefined,
        }),
      );
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
    () => parseOptions(['--host', '0.0.0.0', '--admin-token', ADMIN], { READ_TOKEN: READ }),
    /INGEST_TOKEN is not set/,
  );
  for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]']) {
    t.doesNotThrow(() => parseOptions(['--host', host], {}), `${host} is loopback`);
  }
  t.doesNotThrow(() =>
    parseOptions(['--host', '0.0.0.0'], {
      INGEST_TOKEN: INGEST,
      ADMIN_TOKEN: ADMIN,
      READ_TOKEN: READ,
    }),
  );
  t.doesNotThrow(() => parseOptions(['--host', '0.0.0.0', '--allow-unauthenticated', 'true'], {}));

  // The real CLI: exit code 2 and a message that says what to do (nothing is bound).
  const r = spawnSync(process.execPath, [MAIN, '--host', '0.0.0.0', '--port', '0'], {
    encoding: 'utf8',
    env: { ...process.env, INGEST_TOKEN: INGEST, ADMIN_TOKEN: '', READ_TOKEN: READ },
    timeout: 15_000,
  });
  t.equal(r.status, 2, 'exit code 2');
  t.match(r.stderr, /ADMIN_TOKEN is not set/);
  t.match(r.stderr, /--allow-unauthenticated true/);
  t.notMatch(r.stderr + r.stdout, INGEST, 'the token is not echoed');
});

// Regression (issue 15 §3): with INGEST and ADMIN tokens but no READ_TOKEN, a 0.0.0.0 bind
// started with /api/transactions open to anyone; checkExposure looked at the write tokens only.
t.test('exposure: a non-loopback HOST without READ_TOKEN refuses to start', async (t) => {
  const writeTokens = { INGEST_TOKEN: INGEST, ADMIN_TOKEN: ADMIN };
  for (const host of ['0.0.0.0', '::', '192.168.1.20']) {
    t.throws(
      () => parseOptions(['--host', host], writeTokens),
      { code: 'PB_ERR_OPTIONS_INVALID', message: /READ_TOKEN is not set/ },
      host,
    );
  }
  t.doesNotThrow(
    () => parseOptions(['--host', '0.0.0.0', '--allow-public-read', 'true'], writeTokens),
    'ALLOW_PUBLIC_READ opens reading deliberately',
  );
  t.throws(
    () => parseOptions(['--host', '0.0.0.0', '--allow-public-read', 'true'], {}),
    /INGEST_TOKEN and ADMIN_TOKEN/,
    'but not writing',
  );
  t.doesNotThrow(
    () => parseOptions(['--host', '0.0.0.0', '--allow-unauthenticated', 'true'], writeTokens),
    'ALLOW_UNAUTHENTICATED covers every token',
  );
  t.doesNotThrow(() => parseOptions([], writeTokens), 'loopback needs no READ_TOKEN');

  const r = spawnSync(process.execPath, [MAIN, '--host', '0.0.0.0', '--port', '0'], {
    encoding: 'utf8',
    env: { ...process.env, ...writeTokens, READ_TOKEN: '' },
    timeout: 15_000,
  });
  t.equal(r.status, 2, 'exit code 2');
  t.match(r.stderr, /READ_TOKEN is not set/);
  t.match(r.stderr, /--allow-public-read true/);
  t.notMatch(r.stderr + r.stdout, INGEST, 'no token is echoed');
});

// Regression (issue 15 §3): any non-empty token was accepted, 'x' included.
t.test('tokens shorter than 32 characters refuse to start, naming the option', async (t) => {
  for (const [env, name] of [
    ['INGEST_TOKEN', 'ingestToken'],
    ['ADMIN_TOKEN', 'adminToken'],
    ['READ_TOKEN', 'readToken'],
  ] as const) {
    t.throws(
      () => parseOptions([], { [env]: 'short-but-secret' }),
      {
        code: 'PB_ERR_OPTIONS_INVALID',
        message: new RegExp(`options\\.${name} \\(${env}\\) must be at least 32 characters`),
      },
      env,
    );
  }
  t.throws(() => parseOptions([], { READ_TOKEN: `${'a'.repeat(32)} b` }), {
    message: /readToken .* visible ASCII characters without spaces/,
  });
  t.doesNotThrow(() => parseOptions([], { READ_TOKEN: 'a'.repeat(32) }), '32 is enough');

  const secret = 'short-but-secret';
  const r = spawnSync(process.execPath, [MAIN, '--port', '0', '--admin-token', secret], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  t.equal(r.status, 2, 'exit code 2');
  t.match(r.stderr, /options\.adminToken \(--admin-token\) must be at least 32 characters/);
  t.match(r.stderr, /got 16 characters/, 'says how long it was');
  t.notMatch(r.stderr + r.stdout, secret, 'and never what it was');
});

t.test('ALLOWED_HOSTS and ALLOWED_ORIGINS are validated', async (t) => {
  for (const bad of ['example.com:8080', 'http://example.com', 'a/b', 'ex ample.com'])
    t.throws(() => parseOptions(['--allowed-hosts', bad], {}), /options\.allowedHosts/, bad);
  t.same(
    parseOptions(['--allowed-hosts', 'Ops.Example.com., .corp.example, *'], {}).options
      .allowedHosts,
    ['ops.example.com', '.corp.example', '*'],
  );
  for (const bad of ['ops.example.com', 'https://ops.example.com/path', 'null', 'ftp://x.example'])
    t.throws(() => parseOptions(['--allowed-origins', bad], {}), /options\.allowedOrigins/, bad);
  t.same(
    parseOptions(['--allowed-origins', 'https://Ops.example.com/, *'], {}).options.allowedOrigins,
    ['https://ops.example.com', '*'],
  );
  t.throws(
    () =>
      parseOptions([], {
        ALLOWED_ORIGINS: 'https://a.example',
        WS_ALLOWED_ORIGINS: 'https://b.example',
      }),
    /deprecated name of ALLOWED_ORIGINS; both are set/,
  );
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

for (const threads of WS_THREAD_COUNTS)
  t.test(
    `websocket upgrade: token by query or header, Origin checked (WS_THREADS=${threads})`,
    async (t) => {
      const server = await startServerWith(threads, [], { READ_TOKEN: READ, ADMIN_TOKEN: ADMIN });
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
      // The dashboard's way (issue 15 §3): the token in a subprotocol, out of the URL.
      const sub = await upgrade(ws, {}, [WS_PROTOCOL, bearerSubprotocol(READ)]);
      t.equal(sub.status, 101, 'subprotocol');
      t.equal(sub.protocol, WS_PROTOCOL, 'the answer names pulseboard, never the token entry');
      const subWrong = await upgrade(ws, {}, [WS_PROTOCOL, bearerSubprotocol(`${READ}x`)]);
      t.equal(subWrong.status, 403, 'a wrong token in the subprotocol');
      t.equal(subWrong.body.error.code, 'PB_ERR_AUTH_INVALID');
      t.equal(
        (await upgrade(ws, {}, [WS_PROTOCOL])).status,
        401,
        'the protocol alone is no credential',
      );
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
    },
  );

for (const threads of WS_THREAD_COUNTS)
  t.test(
    `ALLOWED_ORIGINS lists origins; loopback without tokens stays open (WS_THREADS=${threads})`,
    async (t) => {
      const server = await startServerWith(threads, [
        '--allowed-origins',
        'https://ops.example.com',
      ]);
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
      const post = await fetch(`${server.url}/api/reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://ops.example.com' },
      });
      t.equal(post.status, 200, 'a listed origin may POST');
    },
  );

t.test('WS_ALLOWED_ORIGINS still works, with a deprecation warning', async (t) => {
  const server = await startServer(['--ws-allowed-origins', 'https://ops.example.com']);
  t.teardown(() => server.stop());
  t.equal((await upgrade(server.wsUrl, { origin: 'https://ops.example.com' })).status, 101);
  t.equal((await upgrade(server.wsUrl, { origin: 'https://evil.example' })).status, 403);
  t.ok(
    server.logs.some((l) => /WS_ALLOWED_ORIGINS is deprecated/.test(String(l.msg))),
    'the log says to rename it',
  );
});

// Regression (issue 15 §3): wrong tokens were never throttled; every guess was checked.
// Half the guesses go to the WebSocket port: with WS_THREADS=2 those are checked by the
// fan-out threads, and the limit must still hold for the process (token-buckets.ts).
for (const threads of WS_THREAD_COUNTS)
  t.test(
    `wrong tokens are throttled per address: 429 unchecked, then usable again (WS_THREADS=${threads})`,
    async (t) => {
      const server = await startServerWith(
        threads,
        ['--auth-failure-limit', '60', '--loopback-limits', 'true'],
        { READ_TOKEN: READ, ADMIN_TOKEN: ADMIN },
      );
      t.teardown(() => server.stop());
      const u = server.url;
      for (let i = 0; i < 70; i++) {
        const r = await call(`${u}/api/metrics`);
        if (r.status !== 401) t.fail(`a missing token is no guess: got ${r.status}`);
      }
      const guesses: number[] = [];
      for (let i = 0; i < 30; i++) {
        guesses.push((await call(`${u}/api/metrics`, { token: `g${i}` })).status);
        guesses.push((await upgrade(`${server.wsUrl}?token=w${i}`)).status);
      }
      t.same(
        new Set(guesses),
        new Set([403]),
        'the first 60 guesses, HTTP and WebSocket, are checked (403)',
      );
      const right = await call(`${u}/api/metrics`, { token: READ });
      t.equal(right.status, 429, 'then even the right token is not checked');
      t.equal(right.body.error.code, 'PB_ERR_AUTH_THROTTLED');
      t.ok(Number(right.headers.get('retry-after')) >= 1, 'with Retry-After');
      const admin = await call(`${u}/api/reset`, { method: 'POST', token: ADMIN });
      t.equal(admin.status, 429, 'every route needing a token');
      const ws = await upgrade(`${server.wsUrl}?token=${READ}`);
      t.equal(ws.status, 429, 'and the WebSocket');
      t.equal(ws.body.error.code, 'PB_ERR_AUTH_THROTTLED');
      t.equal((await call(`${u}/healthz`)).status, 200, 'open routes are not affected');

      // 60 a minute: one guess comes back every second.
      const snap = await waitFor('the throttle to lift', async () => {
        const s = await call(`${u}/api/metrics`, { token: READ });
        return s.status === 200 && s;
      });
      t.ok(snap.body.pipeline.rejected.authThrottled >= 3, 'counted in the snapshot');
      const prom = await call(`${u}/metrics`, { token: READ });
      t.match(prom.body, /pulseboard_auth_throttled_total [1-9]/, 'and in /metrics');
    },
  );

t.test('loopback clients are not throttled by default', async (t) => {
  const server = await startServer([], { READ_TOKEN: READ });
  t.teardown(() => server.stop());
  const statuses = new Set<number>();
  for (let i = 0; i < 30; i++)
    statuses.add((await call(`${server.url}/api/metrics`, { token: 'x' })).status);
  t.same([...statuses], [403], 'over AUTH_FAILURE_LIMIT (20) and still checked');
  t.equal((await call(`${server.url}/api/metrics`, { token: READ })).status, 200);
});
