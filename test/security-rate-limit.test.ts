import t from 'tap';
import { AccessControl, accessFor, bearerToken } from '../src/http/auth.js';
import { RateLimiter } from '../src/http/rate-limit.js';

/** Units of the access rules and the token bucket (the end-to-end paths: security-*.test.ts). */

t.test('token bucket: burst, refill, Retry-After, per key', async (t) => {
  const rl = new RateLimiter(2, 3); // 2/s, burst 3
  const at = 1_000_000;
  t.same([rl.take('a', at), rl.take('a', at), rl.take('a', at)], [0, 0, 0], 'the burst passes');
  t.equal(rl.take('a', at), 1, 'then wait ≥ 1 s');
  t.equal(rl.take('b', at), 0, 'another client has its own bucket');
  t.equal(rl.take('a', at + 500), 0, 'half a second refills one at 2/s');
  t.equal(rl.take('a', at + 500), 1);
  t.equal(rl.take('a', at + 60_000), 0, 'refilled after idling');
  t.equal(new RateLimiter(0, 1).take('x'), 0, '0 = unlimited');
  const slow = new RateLimiter(0.1, 1);
  slow.take('s', at);
  t.equal(slow.take('s', at), 10, 'Retry-After rounds up to whole seconds');
});

t.test('token bucket memory is bounded', async (t) => {
  const rl = new RateLimiter(1, 1);
  for (let i = 0; i < 120_000; i++) rl.take(`10.0.${i >> 8}.${i & 255}:${i}`, i);
  const size = (rl as unknown as { buckets: Map<string, unknown> }).buckets.size;
  t.ok(size <= 50_000, `${size} buckets after 120,000 distinct clients`);
});

t.test('which routes need which token', async (t) => {
  t.equal(accessFor('get', '/healthz'), 'open');
  t.equal(accessFor('get', '/readyz'), 'open');
  t.equal(accessFor('post', '/api/transactions'), 'ingest');
  t.equal(accessFor('get', '/api/transactions'), 'read');
  for (const p of ['/api/load-test', '/api/load-test/stop', '/api/reset'])
    t.equal(accessFor('POST', p), 'admin', p);
  t.equal(accessFor('get', '/api/load-test'), 'read');
  t.equal(accessFor('get', '/metrics'), 'read');
  t.equal(accessFor('delete', '/api/reset'), 'read', 'a wrong method needs read (then 405)');
});

t.test('Bearer parsing and comparison', async (t) => {
  t.equal(bearerToken('Bearer abc'), 'abc');
  t.equal(bearerToken('bearer   abc  '), 'abc');
  t.equal(bearerToken('Basic abc'), '');
  t.equal(bearerToken('Bearer a b'), '');
  t.equal(bearerToken(''), '');
  const none = new AccessControl({
    ingestToken: '',
    adminToken: '',
    readToken: '',
    wsAllowedOrigins: [],
  });
  t.equal(none.check('admin', '', 'x'), null, 'no token configured: open');
  const ac = new AccessControl({
    ingestToken: 'i',
    adminToken: 'a',
    readToken: '',
    wsAllowedOrigins: [],
  });
  t.equal(ac.check('read', '', 'x'), null, 'reads open without READ_TOKEN');
  t.equal(ac.check('admin', '', 'x')?.code, 'PB_ERR_AUTH_MISSING');
  t.equal(
    ac.check('admin', 'i', 'x')?.code,
    'PB_ERR_AUTH_INVALID',
    'the ingest token is not admin',
  );
  t.equal(ac.check('admin', 'a', 'x'), null);
  t.equal(ac.counters.authRejected, 2);
  t.ok(ac.originAllowed('https://anywhere.example', 'h:1'), 'any origin when reads are open');
  const ro = new AccessControl({
    ingestToken: '',
    adminToken: '',
    readToken: 'r',
    wsAllowedOrigins: [],
  });
  t.ok(ro.originAllowed('http://h:1', 'h:1'), 'same origin');
  t.notOk(ro.originAllowed('http://h:2', 'h:1'), 'another port is another origin');
  t.notOk(ro.originAllowed('null', 'h:1'), 'opaque origin');
  t.ok(ro.originAllowed('', 'h:1'), 'no Origin: not a browser');
});

t.test('loopback addresses, as configured and as uWS reports peers', async (t) => {
  const { isLoopbackHost } = await import('../src/security/exposure.js');
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
    t.ok(isLoopbackHost(h), h);
  t.ok(isLoopbackHost('0000:0000:0000:0000:0000:ffff:127.0.0.1'));
  t.ok(isLoopbackHost('0000:0000:0000:0000:0000:0000:0000:0001'));
  for (const h of [
    '0.0.0.0',
    '::',
    '10.0.0.1',
    '::ffff:10.0.0.1',
    '128.0.0.1',
    'example.com',
    '127.0.0.1.example.com',
  ])
    t.notOk(isLoopbackHost(h), h);
});
