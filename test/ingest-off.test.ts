import t from 'tap';
import { startServer } from './helpers/server.js';

/** Without a database ingest cannot be durable: 503 with Retry-After, never a fake 200. */

t.test('ingest answers 503 + Retry-After when persistence is off', async (t) => {
  const server = await startServer(['--sim-tps', '0'], { PERSISTENCE: 'off' });
  try {
    const r = await fetch(`${server.url}/api/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ref: 'x', source: 'ach', account: 'a', amount: 1, currency: 'USD' }),
    });
    t.equal(r.status, 503);
    t.ok(Number(r.headers.get('retry-after')) > 0);
    t.equal(((await r.json()) as any).error.code, 'PB_ERR_INGEST_OFF');
  } finally {
    await server.stop();
  }
});

t.test('a wrong ingest token is 403, a missing one 401 (src/http/auth.ts)', async (t) => {
  const server = await startServer(['--sim-tps', '0'], {
    PERSISTENCE: 'off',
    INGEST_TOKEN: 'sekret-0123456789abcdef-0123456789',
  });
  try {
    const r = await fetch(`${server.url}/api/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer nope' },
      body: '{}',
    });
    t.equal(r.status, 403);
    t.equal(((await r.json()) as any).error.code, 'PB_ERR_AUTH_INVALID');
    const none = await fetch(`${server.url}/api/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    t.equal(none.status, 401);
    t.equal(((await none.json()) as any).error.code, 'PB_ERR_AUTH_MISSING');
  } finally {
    await server.stop();
  }
});
