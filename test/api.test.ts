import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import { startServer } from './helpers/server.js';

/** HTTP API against the real server: snapshot shape, health, Prometheus, scenarios. */

const run = promisify(execFile);

async function json(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** A POST as the dashboard sends it: JSON (state-changing routes take nothing else). */
const post = (body?: unknown, contentType = 'application/json'): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': contentType },
  body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
});

t.test('http api', async (t) => {
  const server = await startServer(['--sim-tps', '200', '--persistence', 'off']);
  t.teardown(() => server.stop());
  const api = (p: string) => `${server.url}${p}`;

  await t.test('GET /api/metrics has the contract fields', async (t) => {
    await new Promise((r) => setTimeout(r, 2500));
    const { status, body, headers } = await json(api('/api/metrics'));
    t.equal(status, 200);
    t.match(headers.get('content-type'), /application\/json/);
    t.type(body.tps, 'number');
    for (const w of ['1m', '5m', '1h']) {
      t.match(
        body.windows[w],
        {
          count: Number,
          failed: Number,
          volume: Object,
          avgMs: Number,
          p50Ms: Number,
          p95Ms: Number,
          p99Ms: Number,
          flagged: Number,
        },
        `window ${w}`,
      );
    }
    t.ok(body.windows['1m'].count > 0, 'transactions are flowing');
    t.ok(
      body.windows['1m'].p50Ms <= body.windows['1m'].p95Ms &&
        body.windows['1m'].p95Ms <= body.windows['1m'].p99Ms,
    );
    t.match(body.inFlight, { pending: Number, processing: Number });
    t.ok(
      Array.isArray(body.topSources['1m']) && body.topSources['1m'].length > 1,
      'several sources',
    );
    t.equal(body.persistence, 'off');
    t.type(body.clients, 'number');
  });

  await t.test('GET /healthz and unknown routes', async (t) => {
    t.match((await json(api('/healthz'))).body, { status: 'ok' });
    const missing = await json(api('/api/nope'));
    t.equal(missing.status, 404);
    t.equal(missing.body.error.code, 'PB_ERR_HTTP_NOT_FOUND');
    const wrongMethod = await json(api('/api/reset'));
    t.equal(wrongMethod.status, 405);
    t.equal(wrongMethod.body.error.code, 'PB_ERR_HTTP_METHOD');
  });

  await t.test('GET /metrics is Prometheus text that promtool accepts', async (t) => {
    const res = await fetch(api('/metrics'));
    const text = await res.text();
    t.match(res.headers.get('content-type'), /text\/plain/);
    t.match(text, /^pulseboard_transactions_completed_total \d+/m);
    t.match(text, /^nodejs_eventloop_lag_p99_seconds /m);
    // `npm test` provisions promtool (scripts/provision-tests.sh): its absence is a failure.
    const promtool = process.env.PROMTOOL_PATH || '/usr/bin/promtool';
    t.ok(existsSync(promtool), `promtool at ${promtool} (apt-get install prometheus)`);
    const child = run(promtool, ['check', 'metrics']);
    child.child.stdin!.end(text);
    const { stdout, stderr } = await child;
    t.equal(`${stdout}${stderr}`.trim(), '', 'promtool check metrics: no problems');
  });

  await t.test('GET /api/history returns columnar per-second series', async (t) => {
    const { status, body } = await json(api('/api/history?metric=tps,p99Ms'));
    t.equal(status, 200);
    t.ok(body.t.length > 0, 'has points');
    t.equal(body.series.tps.length, body.t.length);
    t.equal(body.series.p99Ms.length, body.t.length);
    const bad = await json(api('/api/history?metric=bogus'));
    t.equal(bad.status, 400);
    t.equal(bad.body.error.field, 'metric');
  });

  await t.test('scenario API: staged run advances, stop and reset work', async (t) => {
    let res = await json(
      api('/api/load-test'),
      post({
        stages: [
          { tps: 100, seconds: 1 },
          { tps: 300, seconds: 1 },
          { tps: 50, seconds: 60 },
        ],
      }),
    );
    t.equal(res.status, 200);
    t.equal(res.body.state, 'running');
    t.equal(res.body.stageIndex, 0);
    await new Promise((r) => setTimeout(r, 2300));
    res = await json(api('/api/load-test'));
    t.equal(res.body.stageIndex, 2, 'advanced to the third stage');
    t.equal(res.body.currentTps, 50);
    t.ok(res.body.progress > 0 && res.body.progress < 1, `progress ${res.body.progress}`);
    res = await json(api('/api/load-test/stop'), post());
    t.equal(res.body.state, 'stopped');
    t.equal(res.body.currentTps, 200, 'back to the configured base rate');

    res = await json(api('/api/load-test'), post({ scenario: 'demo' }));
    t.equal(res.body.scenario, 'demo');
    t.equal(res.body.rampUpSeconds, 60);
    await new Promise((r) => setTimeout(r, 600));
    const ramping = (await json(api('/api/load-test'))).body.currentTps;
    t.ok(ramping > 200 && ramping < 1000, `ramping up from the base rate (${ramping})`);
    await json(api('/api/load-test/stop'), post());

    res = await json(api('/api/load-test'), post({ tps: 120, duration: 1 }));
    await new Promise((r) => setTimeout(r, 1400));
    t.equal(
      (await json(api('/api/load-test'))).body.state,
      'completed',
      'a timed run completes by itself',
    );

    const before = (await json(api('/api/metrics'))).body;
    t.ok(before.windows['1h'].count > 0);
    res = await json(api('/api/reset'), post());
    t.equal(res.status, 200);
    const after = (await json(api('/api/metrics'))).body;
    t.ok(
      after.windows['1h'].count < before.windows['1h'].count / 2,
      `windows cleared (${before.windows['1h'].count} → ${after.windows['1h'].count})`,
    );
    t.ok(after.pipeline.completed < before.pipeline.completed, 'counters cleared');
  });

  await t.test('bad scenario bodies are refused with the field named', async (t) => {
    const cases: [string, string, string, string | null][] = [
      ['not JSON', '{"tps":', 'PB_ERR_HTTP_BAD_JSON', null],
      ['empty object', '{}', 'PB_ERR_SCENARIO_INVALID', 'tps'],
      ['negative tps', '{"tps":-5}', 'PB_ERR_SCENARIO_INVALID', 'tps'],
      ['fractional tps', '{"tps":1.5}', 'PB_ERR_SCENARIO_INVALID', 'tps'],
      ['string tps', '{"tps":"fast"}', 'PB_ERR_SCENARIO_INVALID', 'tps'],
      [
        'stage without seconds',
        '{"stages":[{"tps":10}]}',
        'PB_ERR_SCENARIO_INVALID',
        'stages[0].seconds',
      ],
      ['empty stages', '{"stages":[]}', 'PB_ERR_SCENARIO_INVALID', 'stages'],
      ['unknown scenario', '{"scenario":"chaos"}', 'PB_ERR_SCENARIO_INVALID', 'scenario'],
      ['two forms', '{"tps":10,"scenario":"max"}', 'PB_ERR_SCENARIO_INVALID', 'stages'],
      // Unknown names are the client's text: not echoed (issue 15), so no field is named.
      ['unknown field', '{"tps":10,"speed":3}', 'PB_ERR_SCENARIO_INVALID', null],
      ['unknown source', '{"tps":10,"sources":["nowhere"]}', 'PB_ERR_SCENARIO_INVALID', 'sources'],
      ['failure rate > 1', '{"tps":10,"failureRate":2}', 'PB_ERR_SCENARIO_INVALID', 'failureRate'],
      ['array body', '[1]', 'PB_ERR_SCENARIO_INVALID', null],
    ];
    for (const [name, body, code, field] of cases) {
      const res = await json(api('/api/load-test'), post(body));
      t.equal(res.status, 400, `${name}: 400`);
      t.equal(res.body.error.code, code, `${name}: ${code}`);
      if (field) t.equal(res.body.error.field, field, `${name}: names ${field}`);
    }
    const wrongType = await json(api('/api/load-test'), post('tps=5', 'text/plain'));
    t.equal(wrongType.status, 415);
    t.equal(
      (await json(api('/api/load-test'))).body.state,
      'completed',
      'no refused body changed the state',
    );
  });
});
