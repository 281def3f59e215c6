import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { stringify } from 'yaml';
import { describeProblem, type RuleProblem, validateRule } from '../src/alerts/rule-schema.js';
import { DEFAULT_RULES_FILE, loadRulesFile } from '../src/alerts/rules-file.js';
import { DEFAULT_SOURCES } from '../src/shared/catalog.js';
import { startServer } from './helpers/server.js';

/**
 * Alert rules over the API and from the file: one validation table run through both (the
 * same problems, word for word, with the rule and the field named), an invalid file stops
 * the server with exit 2, the default rules file loads, and the API's create / read /
 * replace / delete with the admin token.
 */

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'pb-rules-'));
const ADMIN = 'rules-admin-token-0123456789abcdef';

const ok = { metric: 'failureRate', window: '1m', op: '>', threshold: 0.1 };
/** [rule, the field of its (first) problem, what the message says]. */
const CASES: [Record<string, unknown>, string, RegExp][] = [
  [{ ...ok }, 'alert', /is required/],
  [{ ...ok, alert: '9lives' }, 'alert', /must start with a letter/],
  [{ ...ok, alert: 'Kind', kind: 'trend' }, 'kind', /threshold, change, absence/],
  [{ ...ok, alert: 'Metric', metric: 'nope' }, 'metric', /must be one of count/],
  [{ ...ok, alert: 'Window', window: '2m' }, 'window', /must be one of 1m, 5m, 1h/],
  [{ alert: 'NoWindow', metric: 'failureRate', op: '>', threshold: 0.1 }, 'window', /required/],
  [
    { alert: 'GaugeWindow', metric: 'inFlight', window: '1m', op: '>', threshold: 1 },
    'window',
    /instantaneous/,
  ],
  [{ ...ok, alert: 'P99Source', metric: 'p99Ms', source: 'ach' }, 'source', /not held per source/],
  [{ ...ok, alert: 'Source', source: 'No Where' }, 'source', /a source name, 1–32 characters/],
  [{ ...ok, alert: 'Op', op: '=>' }, 'op', /must be one of >/],
  [{ ...ok, alert: 'Threshold', threshold: '5' }, 'threshold', /finite number/],
  [{ ...ok, alert: 'For', for: '5 minutes' }, 'for', /duration/],
  [{ ...ok, alert: 'Typo', treshold: 1 }, 'treshold', /not a field of a threshold rule/],
  [
    {
      alert: 'Base',
      kind: 'change',
      metric: 'tps',
      window: '1m',
      baseline: '1m',
      op: '<',
      ratio: 0.5,
    },
    'baseline',
    /another window/,
  ],
  [
    {
      alert: 'Ratio',
      kind: 'change',
      metric: 'tps',
      window: '1m',
      baseline: '5m',
      op: '<',
      ratio: 0,
    },
    'ratio',
    /above 0/,
  ],
  [
    { alert: 'ChangeGauge', kind: 'change', metric: 'inFlight', baseline: '5m', op: '<', ratio: 1 },
    'metric',
    /windowed metric/,
  ],
  [{ alert: 'Absent', kind: 'absence', source: 'ach' }, 'absentFor', /required/],
  [{ ...ok, alert: 'Labels', labels: { alertname: 'x' } }, 'labels.alertname', /set by the rule/],
  [{ ...ok, alert: 'Severity', severity: 'page' }, 'severity', /critical, warning, info/],
  [
    { alert: 'MinCount', metric: 'inFlight', op: '>', threshold: 1, minCount: 5 },
    'minCount',
    /no window/,
  ],
];

async function api(url: string, method: string, path: string, body?: unknown, token = ADMIN) {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as any };
}

t.test('the validation table: the API and the file give the same errors', async (t) => {
  const server = await startServer(['--sim-tps', '0', '--admin-token', ADMIN]);
  t.teardown(() => server.stop());

  const fromApi: string[][] = [];
  for (const [i, [rule, field, message]] of CASES.entries()) {
    const r = await api(server.url, 'POST', '/api/rules', rule);
    t.equal(r.status, 400, `case ${i} (${field}): 400`);
    t.equal(r.body.error.code, 'PB_ERR_RULES_INVALID', `case ${i}: code`);
    t.equal(r.body.error.field, field, `case ${i}: names the field`);
    t.match(r.body.error.message, message, `case ${i}: says why`);
    const problems = r.body.error.problems as RuleProblem[];
    t.equal(problems[0]!.rule, (rule.alert as string) === '9lives' ? null : (rule.alert ?? null));
    fromApi.push(problems.map(describeProblem));
  }
  const listed = await api(server.url, 'GET', '/api/rules');
  t.same(listed.body.rules, [], 'no refused rule was stored');

  // The same rules in one file: every problem of every rule, then exit 2.
  const file = join(dir, 'invalid.yaml');
  writeFileSync(file, stringify({ rules: CASES.map(([rule]) => rule) }));
  const failed = (await run(process.execPath, [MAIN, '--rules-file', file, '--port', '0']).catch(
    (e: unknown) => e,
  )) as { code: number; stderr: string };
  t.equal(failed.code, 2, 'an invalid rules file exits 2');
  const lines = failed.stderr.split('\n').map((l) => l.trim());
  for (const [i, expected] of fromApi.entries()) {
    const got = lines
      .filter((l) => l.startsWith(`rules[${i}] `))
      .map((l) => l.slice(`rules[${i}] `.length));
    t.same(got, expected, `rules[${i}]: the file reports what the API did`);
  }
});

t.test('files: JSON, YAML errors with the line, duplicates, the default file', async (t) => {
  const json = join(dir, 'rules.json');
  writeFileSync(
    json,
    JSON.stringify({
      rules: [
        { alert: 'Fine', ...ok },
        { alert: 'Fine', ...ok },
      ],
    }),
  );
  const dup = (await run(process.execPath, [MAIN, '--rules-file', json]).catch(
    (e: unknown) => e,
  )) as {
    code: number;
    stderr: string;
  };
  t.equal(dup.code, 2);
  t.match(
    dup.stderr,
    /rules\[1\] rule "Fine": field "alert" is already the name of an earlier rule/,
  );

  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'rules:\n  - alert: A\n    metric: [unclosed\n');
  const yamlErr = (await run(process.execPath, [MAIN, '--rules-file', broken]).catch(
    (e: unknown) => e,
  )) as { code: number; stderr: string };
  t.equal(yamlErr.code, 2);
  t.match(yamlErr.stderr, /not valid YAML \(line \d+\)/);

  const missing = (await run(process.execPath, [
    MAIN,
    '--rules-file',
    join(dir, 'nope.yaml'),
  ]).catch((e: unknown) => e)) as { code: number; stderr: string };
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read it: ENOENT/);

  const shipped = loadRulesFile(DEFAULT_RULES_FILE, { sources: DEFAULT_SOURCES });
  t.ok(shipped.rules.length >= 5, `${shipped.rules.length} default rules`);
  t.same(
    new Set(shipped.rules.map((r) => r.kind)),
    new Set(['threshold', 'change', 'absence']),
    'the default file has every kind',
  );
  t.ok(
    shipped.rules.some((r) => r.source === '*'),
    'and a per-source rule',
  );
  for (const rule of shipped.rules) {
    const back = validateRule(JSON.parse(JSON.stringify(rule)), { sources: DEFAULT_SOURCES });
    t.same(back, { ok: true, rule }, `${rule.alert}: a normalized rule validates as itself`);
  }

  const server = await startServer(['--sim-tps', '0', '--rules-file', DEFAULT_RULES_FILE]);
  t.teardown(() => server.stop());
  const listed = await api(server.url, 'GET', '/api/rules');
  t.same(
    listed.body.rules.map((r: any) => r.rule.alert),
    shipped.rules.map((r) => r.alert),
    'the server serves the default rules',
  );
});

t.test('create, read, replace, delete; changes need the admin token', async (t) => {
  const server = await startServer(['--sim-tps', '0', '--admin-token', ADMIN]);
  t.teardown(() => server.stop());
  const rule = {
    alert: 'AchFailing',
    ...ok,
    source: 'ach',
    for: '30s',
    labels: { team: 'payments' },
  };

  const anonymous = await api(server.url, 'POST', '/api/rules', rule, '');
  t.equal(anonymous.status, 401, 'no token: 401');
  t.equal(anonymous.body.error.code, 'PB_ERR_AUTH_MISSING');
  const wrong = await api(server.url, 'DELETE', '/api/rules/AchFailing', undefined, 'nope');
  t.equal(wrong.status, 403);

  const created = await api(server.url, 'POST', '/api/rules', rule);
  t.equal(created.status, 201);
  t.match(created.body, {
    rule: {
      alert: 'AchFailing',
      kind: 'threshold',
      source: 'ach',
      for: '30s',
      severity: 'warning',
    },
    expr: 'failureRate[1m] of ach > 0.1 for 30s',
    series: [{ source: 'ach', state: 'inactive' }],
  });
  const again = await api(server.url, 'POST', '/api/rules', rule);
  t.equal(again.status, 409);
  t.equal(again.body.error.code, 'PB_ERR_RULES_EXISTS');

  const replaced = await api(server.url, 'PUT', '/api/rules/AchFailing', {
    ...rule,
    threshold: 0.2,
    alert: undefined,
  });
  t.equal(replaced.status, 200);
  t.equal(replaced.body.rule.threshold, 0.2);
  const mismatch = await api(server.url, 'PUT', '/api/rules/AchFailing', {
    ...rule,
    alert: 'Other',
  });
  t.equal(mismatch.status, 400);
  t.equal(mismatch.body.error.field, 'alert');
  const badPut = await api(server.url, 'PUT', '/api/rules/AchFailing', { ...rule, window: '9m' });
  t.equal(badPut.status, 400);
  t.equal(badPut.body.error.field, 'window');

  const one = await api(server.url, 'GET', '/api/rules/AchFailing', undefined, '');
  t.equal(one.status, 200, 'reading needs no token without READ_TOKEN');
  t.equal(one.body.rule.threshold, 0.2, 'the replacement is what is served');

  t.equal((await api(server.url, 'DELETE', '/api/rules/AchFailing')).status, 200);
  const gone = await api(server.url, 'GET', '/api/rules/AchFailing');
  t.equal(gone.status, 404);
  t.equal(gone.body.error.code, 'PB_ERR_RULES_NOT_FOUND');
  t.equal((await api(server.url, 'DELETE', '/api/rules/AchFailing')).status, 404);

  const malformed = await api(server.url, 'GET', '/api/rules/%zz');
  t.equal(malformed.status, 404, 'a malformed escape in the name is just an unknown rule');
  const badQuery = await api(server.url, 'GET', '/api/alerts?state=burning');
  t.equal(badQuery.status, 400);
  t.equal(badQuery.body.error.field, 'state');
});
