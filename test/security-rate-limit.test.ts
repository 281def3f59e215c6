import t from 'tap';
import type { Options } from '../src/config/option-specs.js';
import { parseOptions } from '../src/config/parse-options.js';
import { AccessControl, accessFor, bearerToken } from '../src/http/auth.js';
import { HostOriginPolicy } from '../src/security/host-origin-policy.js';
import { SourceRegistry } from '../src/shared/source-registry.js';
import { ConnectionSlots } from '../src/ws/connection-slots.js';
import { createFanoutShared } from '../src/ws/fanout-layout.js';
import { MAX_TOPICS_QUERY_CHARS, planInitialTopics } from '../src/ws/initial-topics.js';
import { MAX_TOPICS_PER_REQUEST, TopicCatalog } from '../src/ws/topics.js';
import { bearerSubprotocol, offeredProtocols, WS_PROTOCOL } from '../src/ws/ws-subprotocol.js';

/** The defaults, with some options replaced (unvalidated: units may use short tokens). */
function accessOptions(over: Partial<Options> = {}): Options {
  return { ...parseOptions([], {}).options, ...over };
}

/**
 * Units of the access rules, the Host/Origin policy, the wrong-token throttle, the
 * per-address WebSocket slots and the upgrade's topic list (the end-to-end paths:
 * security-*.test.ts; the token buckets themselves: token-buckets.test.ts).
 */

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
  t.equal(accessFor('get', '/'), 'open', 'the dashboard');
  t.equal(accessFor('get', '/assets/app-X.js'), 'open');
});

t.test('Bearer parsing and comparison', async (t) => {
  t.equal(bearerToken('Bearer abc'), 'abc');
  t.equal(bearerToken('bearer   abc  '), 'abc');
  t.equal(bearerToken('Basic abc'), '');
  t.equal(bearerToken('Bearer a b'), '');
  t.equal(bearerToken(''), '');
  const none = new AccessControl(accessOptions(), { holder: 1 });
  t.equal(none.check('admin', '', 'x'), null, 'no token configured: open');
  const ac = new AccessControl(accessOptions({ ingestToken: 'i', adminToken: 'a' }), { holder: 1 });
  t.equal(ac.check('read', '', 'x'), null, 'reads open without READ_TOKEN');
  t.equal(ac.check('admin', '', 'x')?.code, 'PB_ERR_AUTH_MISSING');
  t.equal(
    ac.check('admin', 'i', 'x')?.code,
    'PB_ERR_AUTH_INVALID',
    'the ingest token is not admin',
  );
  t.equal(ac.check('admin', 'a', 'x'), null);
  t.equal(ac.counters.authRejected, 2);
  // Regression (issue 15 §2): without READ_TOKEN any origin could open /ws.
  t.notOk(
    ac.originAllowed('https://anywhere.example', 'h:1'),
    'a foreign origin is refused even when reads are open',
  );
  const ro = new AccessControl(accessOptions({ readToken: 'r' }), { holder: 1 });
  t.ok(ro.originAllowed('http://h:1', 'h:1'), 'same origin');
  t.notOk(ro.originAllowed('http://h:2', 'h:1'), 'another port is another origin');
  t.notOk(ro.originAllowed('null', 'h:1'), 'opaque origin');
  t.ok(ro.originAllowed('', 'h:1'), 'no Origin: not a browser');
});

t.test('failed tokens are throttled per address, unchecked once over the limit', async (t) => {
  const ac = new AccessControl(
    accessOptions({ adminToken: 'a', authFailureLimit: 3, loopbackLimits: false }),
    { holder: 1 },
  );
  const far = '203.0.113.7';
  for (let i = 0; i < 3; i++)
    t.equal(ac.check('admin', 'wrong', 'x', far)?.code, 'PB_ERR_AUTH_INVALID', `guess ${i + 1}`);
  const throttled = ac.check('admin', 'a', 'x', far);
  t.equal(throttled?.code, 'PB_ERR_AUTH_THROTTLED', 'even the right token is not checked now');
  t.equal(throttled?.status, 429);
  t.ok(Number(throttled?.detail?.retryAfterS) >= 1, 'with a Retry-After');
  t.equal(ac.check('admin', 'a', 'x', '203.0.113.8'), null, 'another address is not affected');
  t.equal(ac.counters.authThrottled, 1);
  for (let i = 0; i < 10; i++) ac.check('admin', 'wrong', 'x', '127.0.0.1');
  t.equal(ac.check('admin', 'a', 'x', '127.0.0.1'), null, 'loopback is exempt by default');
  const strict = new AccessControl(
    accessOptions({ adminToken: 'a', authFailureLimit: 1, loopbackLimits: true }),
    { holder: 1 },
  );
  strict.check('admin', 'wrong', 'x', '::1');
  t.equal(strict.check('admin', 'a', 'x', '::1')?.code, 'PB_ERR_AUTH_THROTTLED', 'LOOPBACK_LIMITS');
  const off = new AccessControl(accessOptions({ adminToken: 'a', authFailureLimit: 0 }), {
    holder: 1,
  });
  for (let i = 0; i < 50; i++) off.check('admin', 'wrong', 'x', far);
  t.equal(off.check('admin', 'a', 'x', far), null, '0 = unlimited');
});

t.test('allowed hosts: loopback names, IP literals, HOST, ALLOWED_HOSTS', async (t) => {
  const policy = (over: Partial<Options> = {}) => new HostOriginPolicy(accessOptions(over));
  const p = policy();
  for (const h of [
    'localhost',
    'localhost:8080',
    'LOCALHOST.:1',
    'app.localhost:3000',
    '127.0.0.1:8080',
    '10.1.2.3',
    '[::1]:8080',
    '[fe80::1]',
  ])
    t.ok(p.hostAllowed(h), `${h} allowed by default`);
  for (const h of [
    'evil.example',
    'evil.example:8080',
    'localhost.evil.example',
    '127.0.0.1.nip.io',
    '',
    ':8080',
    'localhost:x',
    '[::1',
    '[nope]:1',
    'a b',
  ])
    t.notOk(p.hostAllowed(h), `${JSON.stringify(h)} refused by default`);
  t.ok(policy({ host: 'box.lan' }).hostAllowed('box.lan:8080'), 'the bound HOST name');
  t.notOk(policy({ host: '0.0.0.0' }).hostAllowed('0.0.0.0.example'), 'wildcard binds add nothing');
  const listed = policy({ allowedHosts: ['ops.example.com', '.corp.example'] });
  t.ok(listed.hostAllowed('ops.example.com'));
  t.ok(listed.hostAllowed('corp.example:443'), '.domain covers the domain');
  t.ok(listed.hostAllowed('a.b.corp.example'), 'and its subdomains');
  t.notOk(listed.hostAllowed('evilcorp.example'), 'not a suffix of another name');
  t.notOk(listed.hostAllowed('www.ops.example.com'), 'a plain entry is that name only');
  t.ok(policy({ allowedHosts: ['*'] }).hostAllowed('anything.example'), '* = any');
});

t.test('allowed origins: same origin, ALLOWED_ORIGINS, Sec-Fetch-Site', async (t) => {
  const p = new HostOriginPolicy(accessOptions());
  t.ok(p.originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080'), 'same origin');
  t.ok(p.originAllowed('https://LOCALHOST:8080', 'localhost:8080'), 'case-insensitive');
  t.notOk(p.originAllowed('http://127.0.0.1:3000', '127.0.0.1:8080'), 'another local port');
  t.notOk(p.originAllowed('https://evil.example', '127.0.0.1:8080'));
  t.notOk(p.originAllowed('null', '127.0.0.1:8080'), 'opaque');
  t.ok(p.originAllowed('', 'h', ''), 'no Origin, no Sec-Fetch-Site: not a browser');
  t.ok(p.originAllowed('', 'h', 'same-origin'));
  t.ok(p.originAllowed('', 'h', 'none'), 'typed by the user');
  t.notOk(p.originAllowed('', 'h', 'cross-site'));
  t.notOk(p.originAllowed('', 'h', 'same-site'), 'a sibling subdomain is not us');
  const listed = new HostOriginPolicy(
    accessOptions({ allowedOrigins: ['https://ops.example.com'] }),
  );
  t.ok(listed.originAllowed('https://ops.example.com', '127.0.0.1:8080'), 'listed');
  t.ok(listed.originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080'), 'own origin still');
  t.notOk(listed.originAllowed('http://ops.example.com', '127.0.0.1:8080'), 'scheme matters');
  const old = new HostOriginPolicy(
    accessOptions({ wsAllowedOrigins: ['https://ops.example.com'] }),
  );
  t.ok(old.originAllowed('https://ops.example.com', 'h'), 'WS_ALLOWED_ORIGINS still read');
  const any = new HostOriginPolicy(accessOptions({ allowedOrigins: ['*'] }));
  t.ok(any.originAllowed('https://evil.example', 'h'), '* = any');
});

t.test('WebSocket connection slots: per address and in total, across threads', async (t) => {
  const shared = createFanoutShared({ threads: 2, topics: 3, maxConnections: 64 });
  const slots = (thread: number, perAddress = 2, loopback = false) =>
    new ConnectionSlots(shared, thread, 64, perAddress, loopback);
  const [s0, s1] = [slots(0), slots(1)];
  const a = s0.keyOf('203.0.113.7');
  t.equal(s0.keyOf('127.0.0.1'), '', 'loopback is not counted by default');
  t.equal(s0.keyOf('::ffff:127.0.0.1'), '');
  t.equal(slots(0, 2, true).keyOf('127.0.0.1'), '127.0.0.1', 'LOOPBACK_LIMITS');
  t.equal(slots(0, 0, true).keyOf('203.0.113.7'), '', '0 = no cap');
  t.equal(s0.tryOpen(a), null);
  t.equal(s1.tryOpen(a), null, 'the second one on another thread');
  t.equal(s0.tryOpen(a), 'address', 'full at the cap, whichever thread holds the sockets');
  s1.close(a);
  t.equal(s0.tryOpen(a), null, 'a close on one thread frees a slot for another');
  s0.close(a);
  s0.close(a);
  t.equal(s0.addresses, 0, 'an address with nothing open is forgotten');
  // Many addresses (probe runs, backward-shift deletion), then a thread dies holding some.
  const keys = Array.from({ length: 60 }, (_, i) => `198.51.100.${i}`);
  for (const [i, k] of keys.entries()) t.equal((i % 2 ? s1 : s0).tryOpen(k), null);
  t.equal(s0.tryOpen(''), null, 'an uncounted key still takes a slot in the total');
  t.equal(s0.tryOpen(''), null);
  t.equal(s0.tryOpen(''), null);
  t.equal(s0.tryOpen(''), null);
  t.equal(s0.tryOpen(''), 'total', 'WS_MAX_CONNECTIONS holds across threads');
  for (const k of keys.slice(0, 20)) (keys.indexOf(k) % 2 ? s1 : s0).close(k);
  t.equal(s0.addresses, 40);
  s0.releaseThread(1, 20);
  t.equal(s0.addresses, 20, "a dead thread's share is taken out of every address");
  for (const k of keys.slice(20).filter((_, i) => i % 2 === 0)) t.equal(s0.tryOpen(k), null);
  t.equal(s0.addresses, 20, 'the survivors are still found after the rebuild');
});

t.test('the ?topics= of an upgrade: bounded, and only what is granted is kept', async (t) => {
  const catalog = new TopicCatalog(SourceRegistry.create(4, ['ach', 'wire']));
  t.same(planInitialTopics('', catalog, 16), { topics: [], error: null });
  t.same(planInitialTopics('metrics,tx,metrics', catalog, 16), {
    topics: ['metrics', 'tx'],
    error: null,
  });
  const unknown = planInitialTopics('metrics,nope', catalog, 16);
  t.same(unknown.topics, ['metrics'], 'known topics are kept');
  t.equal(unknown.error?.code, 'PB_ERR_WS_UNKNOWN_TOPIC');
  const tooMany = planInitialTopics('metrics,tx,alerts', catalog, 2);
  t.same(tooMany.topics, [], 'nothing from a list over WS_MAX_SUBSCRIPTIONS');
  t.equal(tooMany.error?.code, 'PB_ERR_WS_TOO_MANY_SUBSCRIPTIONS');
  t.throws(
    () => planInitialTopics('x,'.repeat(MAX_TOPICS_QUERY_CHARS), catalog, 16),
    { code: 'PB_ERR_HTTP_BAD_QUERY' },
    'a query longer than the bound',
  );
  t.throws(
    () => planInitialTopics('tx,'.repeat(MAX_TOPICS_PER_REQUEST + 1), catalog, 16),
    { code: 'PB_ERR_HTTP_BAD_QUERY' },
    'more topics than one request may name',
  );
});

t.test('the WebSocket token subprotocol', async (t) => {
  const token = 'r3ad-t0ken/with+odd=chars~ünï';
  const offered = `${WS_PROTOCOL}, ${bearerSubprotocol(token)}`;
  t.match(bearerSubprotocol(token), /^pulseboard\.bearer\.[A-Za-z0-9_-]+$/, 'an HTTP token');
  t.same(offeredProtocols(offered), { token, answer: WS_PROTOCOL });
  t.same(offeredProtocols(bearerSubprotocol(token)), { token, answer: '' }, 'never echoed');
  t.same(offeredProtocols(''), { token: '', answer: '' });
  t.same(offeredProtocols('chat, pulseboard'), { token: '', answer: WS_PROTOCOL });
  t.equal(offeredProtocols('pulseboard.bearer.%%%').token, 'pulseboard.bearer.%%%', 'undecodable');
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
