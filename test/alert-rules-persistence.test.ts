import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * Rules and alert events with persistence (MariaDB): the rules file seeds `alert_rules`,
 * API changes survive a restart (an unchanged file does not undo them), a changed file is
 * applied again, and every state change lands in `alert_events`, readable over
 * GET /api/alerts across restarts.
 */

const ADMIN = 'persist-admin-token-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'pb-rules-db-'));
const FILE = join(dir, 'rules.yaml');
const fileV1 = `rules:
  - alert: Busy
    metric: inFlight
    op: ">"
    threshold: 0
  - alert: SlowP95
    metric: p95Ms
    window: 1m
    op: ">"
    threshold: 1500
  - alert: Unwanted
    kind: absence
    absentFor: 10m
`;

let db: TestDatabase;
t.before(async () => {
  db = await createTestDatabase('pb_rules');
  writeFileSync(FILE, fileV1);
});
t.teardown(async () => {
  await db?.drop();
});

const start = () =>
  startServer([
    '--sim-tps',
    '0',
    '--persistence',
    'required',
    '--rules-file',
    FILE,
    '--admin-token',
    ADMIN,
    '--mysql-url',
    db.url,
  ]);

async function call(server: TestServer, method: string, path: string, body?: unknown) {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as any };
}

async function rules(server: TestServer): Promise<Record<string, any>> {
  const { body } = await getJson(`${server.url}/api/rules`);
  return Object.fromEntries(body.rules.map((r: any) => [r.rule.alert, r.rule]));
}

async function loadTest(server: TestServer, tps: number): Promise<void> {
  await call(server, 'POST', '/api/load-test', { tps });
}

t.test('rules survive a restart; events are stored and read back', async (t) => {
  let server = await start();
  t.teardown(() => server.stop());
  t.same(Object.keys(await rules(server)), ['Busy', 'SlowP95', 'Unwanted'], 'the file seeded them');
  const [seeded] = await db.conn.query('SELECT name, origin FROM alert_rules ORDER BY name');
  t.same(
    (seeded as any[]).map((r) => `${r.name}:${r.origin}`),
    ['Busy:file', 'SlowP95:file', 'Unwanted:file'],
  );

  t.equal(
    (
      await call(server, 'POST', '/api/rules', {
        alert: 'AchQuiet',
        kind: 'absence',
        source: 'ach',
        absentFor: '5m',
      })
    ).status,
    201,
  );
  t.equal(
    (
      await call(server, 'PUT', '/api/rules/SlowP95', {
        metric: 'p95Ms',
        window: '5m',
        op: '>',
        threshold: 1800,
      })
    ).status,
    200,
  );
  t.equal((await call(server, 'DELETE', '/api/rules/Unwanted')).status, 200);

  // One episode of Busy: fires (for 0), resolves; both changes go to alert_events.
  const since = Date.now();
  await loadTest(server, 50);
  await waitFor('Busy firing', () => firing(server));
  await loadTest(server, 0);
  await waitFor(
    'Busy resolved, stored',
    async () => {
      const [rows] = await db.conn.query(
        "SELECT state FROM alert_events WHERE rule = 'Busy' ORDER BY id",
      );
      return (rows as any[]).map((r) => r.state).join(',') === 'firing,resolved';
    },
    20_000,
  );
  const [row] = await db.conn.query("SELECT * FROM alert_events WHERE rule = 'Busy' LIMIT 1");
  t.match((row as any[])[0], {
    previous: 'inactive',
    state: 'firing',
    severity: 'warning',
    expr: 'inFlight > 0',
    labels: '{"alertname":"Busy","severity":"warning"}',
  });

  await server.stop();
  server = await start();
  const after = await rules(server);
  t.same(Object.keys(after), ['AchQuiet', 'Busy', 'SlowP95'], 'API changes survived the restart');
  t.equal(after.SlowP95.threshold, 1800, 'the replacement, not the file, is in force');
  t.equal(after.SlowP95.window, '5m');

  const history = await getJson(
    `${server.url}/api/alerts?rule=Busy&from=${since}&to=${Date.now()}`,
  );
  t.same(
    history.body.items.map((e: any) => `${e.previous}→${e.state}`),
    ['firing→resolved', 'inactive→firing'],
    'events from before the restart, newest first',
  );
  const onlyFiring = await getJson(`${server.url}/api/alerts?state=firing&from=${since}`);
  t.same(
    onlyFiring.body.items.map((e: any) => e.state),
    ['firing'],
  );
  const before = await getJson(`${server.url}/api/alerts?to=${since - 1}`);
  t.same(before.body.items, [], 'nothing before the range');

  // The file changes: it is applied again (its rules written), API-only rules stay.
  writeFileSync(FILE, `${fileV1.replace('threshold: 1500', 'threshold: 1700')}`);
  await server.stop();
  server = await start();
  const reseeded = await rules(server);
  t.same(Object.keys(reseeded), ['AchQuiet', 'Busy', 'SlowP95', 'Unwanted']);
  t.equal(reseeded.SlowP95.threshold, 1700, 'the changed file wins for its rules');
  t.equal(reseeded.SlowP95.window, '1m');

  const [version] = await db.conn.query('SELECT MAX(version) AS v FROM schema_migrations');
  t.ok(Number((version as any[])[0].v) >= 4, 'migration 4 applied');
});

async function firing(server: TestServer): Promise<boolean> {
  const { body } = await getJson(`${server.url}/api/rules/Busy`);
  return body.series[0].state === 'firing';
}
