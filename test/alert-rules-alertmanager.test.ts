import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  findAmtool,
  type Received,
  startAlertmanager,
  startRecorder,
} from './helpers/alertmanager.js';
import { freePort } from './helpers/free-port.js';
import { startServer, type TestServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';
import { type Frame, TestClient } from './helpers/ws-client.js';

/**
 * The whole alerting path with a real Alertmanager (0.25): a rule fires on the live
 * windows, the WebSocket `alerts` topic carries the state changes in their tick, Alertmanager
 * receives the alert in its v2 schema, routes it to a webhook (a small HTTP server here),
 * the condition clears and a resolved notification follows; a silence created in
 * Alertmanager stops the notification of the alert it matches. Then an unreachable
 * Alertmanager: retried with backoff, visible in /metrics and /readyz, the tick never
 * waits, and the alert arrives (and is re-sent) once something answers.
 *
 * The condition is `inFlight > 0`: with the simulator idle nothing is in flight, a scenario
 * at 50 tx/s makes it true at once, and stopping it makes it false within the longest
 * processing time (2 s).
 */

const dir = mkdtempSync(join(tmpdir(), 'pb-am-rules-'));
const RULES = join(dir, 'rules.yaml');
writeFileSync(
  RULES,
  `rules:
  - alert: Busy
    metric: inFlight
    op: ">"
    threshold: 0
    for: 1s
    severity: critical
    labels: {team: payments}
    annotations:
      summary: "{{ $value }} transactions in flight"
  - alert: Quiet
    metric: inFlight
    op: ">"
    threshold: 0
    for: 1s
`,
);

async function loadTest(server: TestServer, tps: number): Promise<void> {
  const r = await fetch(`${server.url}/api/load-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tps }),
  });
  if (r.status !== 200) throw new Error(`load-test answered ${r.status}`);
}

const ruleEvents = (c: TestClient) =>
  c
    .of('alerts')
    .filter((f) => f.data.kind === 'rule')
    .flatMap((f: Frame) => (f.data.events as any[]).map((e) => ({ ...e, frameTs: f.ts })));

const notifications = (hook: { received: Received[] }, alertname: string, status: string) =>
  hook.received.filter((r) =>
    (r.body?.alerts ?? []).some(
      (a: any) => a.labels.alertname === alertname && a.status === status,
    ),
  );

t.test('rule → WebSocket → Alertmanager → webhook; resolved; a silence holds', async (t) => {
  const hook = await startRecorder();
  t.teardown(() => hook.close());
  const am = await startAlertmanager(`${hook.url}/hook`);
  t.teardown(() => am.stop());
  const server = await startServer([
    '--sim-tps',
    '0',
    '--rules-file',
    RULES,
    '--alertmanager-url',
    am.url,
  ]);
  t.teardown(() => server.stop());
  const ws = await TestClient.connect(`${server.wsUrl}?topics=alerts,metrics`);
  t.teardown(() => ws.close());

  // Silence `Quiet` in Alertmanager before anything fires.
  const now = Date.now();
  const silence = await fetch(`${am.url}/api/v2/silences`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      matchers: [{ name: 'alertname', value: 'Quiet', isRegex: false, isEqual: true }],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      createdBy: 'pulseboard-test',
      comment: 'the silence test',
    }),
  });
  t.equal(silence.status, 200, 'silence created');
  const { silenceID } = (await silence.json()) as { silenceID: string };

  await loadTest(server, 50);
  await ws.until(
    (c) => ruleEvents(c).some((e) => e.rule === 'Busy' && e.state === 'firing'),
    15_000,
    'Busy firing on the alerts topic',
  );
  const busy = ruleEvents(ws).filter((e) => e.rule === 'Busy');
  t.same(
    busy.map((e) => `${e.previous}→${e.state}`),
    ['inactive→pending', 'pending→firing'],
    'pending, then firing, each published once',
  );
  const [pending, firing] = busy;
  // `for` counts ticks (README): 1 s is two 500 ms ticks after the one that went pending.
  // The ticks' own timestamps jitter, so two of them may be a few ms under 1,000 apart.
  const ticksPending = ws
    .of('metrics')
    .filter((f) => f.data.ts > pending.activeAt && f.data.ts <= firing.ts).length;
  t.ok(
    ticksPending >= 2,
    `fired only once \`for\` (1 s = 2 ticks) had passed: ${ticksPending} ticks`,
  );
  t.ok(firing.ts - pending.activeAt >= 750, 'and no sooner than half a tick under 1 s');
  const evaluated = ws.of('metrics').find((f) => f.data.ts === firing.ts);
  t.ok(evaluated, 'the snapshot it was evaluated on went out as a metrics frame');
  t.equal(evaluated?.ts, firing.frameTs, 'the state change went out in that same tick');
  t.comment(`fired ${firing.ts - pending.activeAt - 1000} ms after \`for\` elapsed (tick 500 ms)`);
  t.match(firing, {
    source: null,
    severity: 'critical',
    labels: { alertname: 'Busy', severity: 'critical', team: 'payments' },
    annotations: { summary: /^\d+ transactions in flight$/ },
    threshold: 0,
  });

  // Alertmanager has it, in its schema, and routes it to the webhook.
  const inAm = await waitFor('Busy in Alertmanager', async () => {
    const r = await getJson(`${am.url}/api/v2/alerts?filter=alertname%3D%22Busy%22`);
    return r.body.length > 0 && r.body[0];
  });
  t.match(inAm, {
    labels: { alertname: 'Busy', severity: 'critical', team: 'payments' },
    annotations: { summary: String },
    generatorURL: `${server.url}/?rule=Busy`,
    status: { state: 'active' },
  });
  t.ok(Date.parse(inAm.endsAt) > Date.now(), 'endsAt lies ahead while firing');
  await waitFor(
    'the firing notification',
    async () => notifications(hook, 'Busy', 'firing').length > 0,
  );
  const note = notifications(hook, 'Busy', 'firing')[0]!.body;
  t.equal(note.status, 'firing');
  t.equal(note.receiver, 'hook');
  t.match(note.commonLabels, { alertname: 'Busy', team: 'payments' });

  // The silenced alert reached Alertmanager too, and stays suppressed: no notification.
  const quiet = await waitFor('Quiet in Alertmanager', async () => {
    const r = await getJson(`${am.url}/api/v2/alerts?filter=alertname%3D%22Quiet%22&silenced=true`);
    return r.body.length > 0 && r.body[0];
  });
  t.equal(quiet.status.state, 'suppressed', 'Alertmanager holds Quiet as suppressed');
  t.same(quiet.status.silencedBy, [silenceID], 'by our silence');

  // The condition clears: resolved on the topic, then a resolved notification.
  await loadTest(server, 0);
  await ws.until(
    (c) => ruleEvents(c).some((e) => e.rule === 'Busy' && e.state === 'resolved'),
    15_000,
    'Busy resolved',
  );
  await waitFor(
    'the resolved notification',
    async () => notifications(hook, 'Busy', 'resolved').length > 0,
    15_000,
  );
  const resolved = notifications(hook, 'Busy', 'resolved')[0]!.body.alerts[0];
  t.ok(Date.parse(resolved.endsAt) <= Date.now(), 'endsAt is the resolution time');
  t.same(
    notifications(hook, 'Quiet', 'firing'),
    [],
    'the silence held: no notification for Quiet, while Busy was notified twice',
  );

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, /pulseboard_alertmanager_up 1/);
  t.match(metrics, /pulseboard_alertmanager_alerts_sent_total [1-9]/);
  t.match(metrics, /pulseboard_alerts\{state="resolved"\} 2/);

  const history = await getJson(`${server.url}/api/alerts?state=firing,resolved&rule=Busy`);
  t.same(
    history.body.items.map((e: any) => e.state),
    ['resolved', 'firing'],
    'GET /api/alerts lists the changes, newest first',
  );
});

t.test('an unreachable Alertmanager: retried, visible, never blocking the tick', async (t) => {
  const port = await freePort(); // nothing listens here yet
  const server = await startServer([
    '--sim-tps',
    '50',
    '--rules-file',
    RULES,
    '--alertmanager-url',
    `http://127.0.0.1:${port}`,
    '--alertmanager-resend-s',
    '1',
  ]);
  t.teardown(() => server.stop());
  const ws = await TestClient.connect(`${server.wsUrl}?topics=metrics,alerts`);
  t.teardown(() => ws.close());
  await ws.until((c) => ruleEvents(c).some((e) => e.state === 'firing'), 15_000, 'firing');

  const ready = await waitFor('readyz to show the failing push', async () => {
    const r = await getJson(`${server.url}/readyz`);
    return r.body.checks?.alertmanager?.up === false && r.body;
  });
  t.match(ready.checks.alertmanager, {
    up: false,
    errors: Number,
    queued: Number,
    problem: /Alertmanager at http:\/\/127\.0\.0\.1:\d+ failing/,
  });
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, /pulseboard_alertmanager_up 0/);
  t.match(metrics, /pulseboard_alertmanager_errors_total [1-9]/);

  const before = ws.of('metrics').length;
  await ws.until((c) => c.of('metrics').length >= before + 4, 10_000, 'ticks go on');
  const seqs = ws.of('metrics').map((f) => f.seq);
  t.same(
    seqs.slice(1).map((s, i) => s - seqs[i]!),
    seqs.slice(1).map(() => 1),
    'every metrics frame arrived, in order, while the push kept failing',
  );

  // Something answers at last: the queued alerts arrive, and firing ones are re-sent.
  const late = await startRecorder(port);
  t.teardown(() => late.close());
  const got = await waitFor(
    'the alerts, once the endpoint answers',
    async () => late.received.length >= 2 && late.received,
    40_000,
  );
  t.equal(got[0]!.path, '/api/v2/alerts');
  const first = got[0]!.body as any[];
  t.ok(Array.isArray(first) && first.length > 0, 'a JSON array of postable alerts');
  t.match(
    first.find((a) => a.labels.alertname === 'Busy'),
    {
      labels: { alertname: 'Busy', severity: 'critical', team: 'payments' },
      startsAt: String,
      endsAt: String,
      generatorURL: /\/\?rule=Busy$/,
    },
  );
  const sends = got.flatMap((r) => (r.body as any[]).filter((a) => a.labels.alertname === 'Busy'));
  const ends = sends.map((a) => Date.parse(a.endsAt));
  t.ok(sends.length >= 2, `Busy sent ${sends.length} times while firing (resend 1 s)`);
  t.ok(ends.at(-1)! > ends[0]!, 'each re-send moves endsAt forward (now + 4 × resend)');
  await waitFor('up again', async () =>
    (await (await fetch(`${server.url}/metrics`)).text()).includes('pulseboard_alertmanager_up 1'),
  );
});

t.test('the documented deploy/alertmanager.yml is a valid Alertmanager config', async (t) => {
  const config = new URL('../../deploy/alertmanager.yml', import.meta.url).pathname;
  const out = execFileSync(findAmtool(), ['check-config', config], { encoding: 'utf8' });
  t.match(out, /SUCCESS/);
  t.match(out, /2 receivers/);
});
