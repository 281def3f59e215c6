import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import t from 'tap';
import { launchBrowser, recordErrors } from './helpers/browser.js';
import { freePort } from './helpers/free-port.js';
import { startServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * The dashboard in a real browser (Debian chromium + playwright-core) against the real
 * server: served assets, live KPIs and charts, alerts, the scenario panel, reconnecting
 * after a server restart on the same port, and the per-update render cost (reported, not
 * asserted: timing on a shared CI box is not a pass/fail signal).
 *
 * Screenshots go to test-artifacts/ (git-ignored).
 */

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
/** Tokens are at least 32 characters (MIN_TOKEN_LENGTH). */
const READ_TOKEN = 'dashboard-read-token-0123456789abcdef';
const ADMIN_TOKEN = 'dashboard-admin-token-0123456789abcdef';
/** A high flag rate so alerts arrive within a second or two. */
const SERVER_ARGS = ['--sim-tps', '200', '--unusual-pair-rate', '0.2', '--persistence', 'off'];

interface DebugState {
  connection: string;
  frames: number;
  reconnects: number;
  points: number;
  feedSize: number;
  alertsSize: number;
  feedDomRows: number;
  chartPoints: number[];
  recentTpsMax: number;
  snapshotTs: number | null;
}

interface RenderStats {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

// Browser globals used inside page.evaluate (the test build has no DOM lib).
declare const document: {
  documentElement: { dataset: Record<string, string | undefined>; scrollWidth: number };
};
declare const innerWidth: number;

// The page's test hook (web/src/components/pb-app.ts); evaluated in the browser.
declare const __pulseboard: {
  state(): DebugState;
  renderStats(): RenderStats;
  resetRenderStats(): void;
  seedSynthetic(n: number): number;
  setWindow(w: string): void;
};

const state = (page: Page) => page.evaluate(() => __pulseboard.state());

/** Every KPI card's value text, keyed by card. */
async function kpis(page: Page): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const card of await page.locator('pb-kpi-cards [data-kpi]').all()) {
    out[(await card.getAttribute('data-kpi')) ?? '?'] = ((await card.textContent()) ?? '').replace(
      /\s+/g,
      ' ',
    );
  }
  return out;
}

async function loadTest(server: TestServer): Promise<{ state: string; scenario: string | null }> {
  return (await fetch(`${server.url}/api/load-test`)).json() as Promise<{
    state: string;
    scenario: string | null;
  }>;
}

/** Resolves once the page has received `n` more frames than now. */
async function framesLater(page: Page, n: number): Promise<void> {
  const start = (await state(page)).frames;
  // Three topics tick every 500 ms: six frames a second, with room for a loaded machine.
  const timeoutMs = 10_000 + n * 250;
  await waitFor(`${n} more frames`, async () => (await state(page)).frames >= start + n, timeoutMs);
}

t.test('dashboard in a real browser', async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // A fixed port, not 0: uSockets sets SO_REUSEADDR only for an explicit port, and without
  // it the restart below could not bind again while the old connections sit in TIME_WAIT.
  const port = await freePort();
  let server: TestServer = await startServer([...SERVER_ARGS, '--port', String(port)]);
  t.teardown(() => server.stop());
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await browser.newPage({
    viewport: { width: 1440, height: 900 },
    colorScheme: 'dark',
  });
  const log = recordErrors(page);

  await t.test('serves the built dashboard without shadowing the API', async (t) => {
    const index = await fetch(`${server.url}/`, { headers: { 'accept-encoding': 'br, gzip' } });
    t.equal(index.status, 200);
    t.match(index.headers.get('content-type'), /^text\/html/);
    t.equal(index.headers.get('cache-control'), 'no-cache');
    t.equal(index.headers.get('vary'), 'Accept-Encoding');
    const html = await index.text();
    const js = /src="(\/assets\/app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    t.ok(js, 'index.html references a content-hashed bundle');

    const asset = await fetch(`${server.url}${js}`, { headers: { 'accept-encoding': 'gzip' } });
    t.equal(asset.status, 200);
    t.match(asset.headers.get('content-type'), /^text\/javascript/);
    t.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    t.equal(asset.headers.get('content-encoding'), 'gzip');
    // fetch() has already inflated the body: measure the gzipped size the bar is about
    // (DESIGN §7), not the inflated one.
    const bytes = gzipSync(Buffer.from(await asset.arrayBuffer())).byteLength;
    t.ok(bytes > 1000 && bytes < 150_000, `gzipped bundle is ${bytes} bytes`);

    const head = await fetch(`${server.url}${js}`, {
      method: 'HEAD',
      headers: { 'accept-encoding': 'br' },
    });
    t.equal(head.status, 200);
    t.equal(head.headers.get('content-encoding'), 'br');
    t.ok(Number(head.headers.get('content-length')) > 0, 'HEAD reports the length');

    const api = await fetch(`${server.url}/api/metrics`);
    t.match(api.headers.get('content-type'), /application\/json/);
    t.type(((await api.json()) as { tps: unknown }).tps, 'number');
  });

  await t.test('loads live with no console errors', async (t) => {
    await page.goto(`${server.url}/`);
    await waitFor('a live connection with a snapshot', async () => {
      const s = await state(page);
      return s.connection === 'live' && s.snapshotTs !== null;
    });
    t.match(await page.locator('pb-connection-status [role=status]').textContent(), /Live/);
    t.same(log.errors, [], 'no console errors or page errors');
  });

  await t.test('KPI values change between two ticks', async (t) => {
    await framesLater(page, 1);
    const before = await kpis(page);
    t.ok(before['tps'] && before['count'] && before['latency'], 'cards are rendered');
    await framesLater(page, 6); // two ticks of metrics + tx + alerts
    const after = await kpis(page);
    t.not(JSON.stringify(after), JSON.stringify(before), 'KPI text moved');
    t.not(after['count'], before['count'], 'transaction count moved');
  });

  await t.test('TPS chart has points', async (t) => {
    const s = await waitFor('chart points with traffic', async () => {
      const s = await state(page);
      return (s.chartPoints[0] ?? 0) > 2 && s.recentTpsMax > 0 && s;
    });
    t.ok(s.chartPoints[0]! > 2, `${s.chartPoints[0]} points in the TPS chart`);
    t.ok(s.recentTpsMax > 0, `latest seconds plot up to ${s.recentTpsMax} tx/s`);
    const canvas = page.locator('pb-time-chart').first().locator('canvas');
    t.equal(await canvas.count(), 1, 'the chart drew to a canvas');
  });

  await t.test('flagged transactions appear in alerts; the feed is virtualized', async (t) => {
    const alert = page.locator('pb-tx-list[mode=alerts] .row').first();
    await alert.waitFor({ timeout: 10_000 });
    t.match(await alert.textContent(), /Unusual pairing|Velocity|Amount over threshold/);
    // One in five simulated transactions is flagged here, so the feed shows flagged rows.
    const flaggedRows = await waitFor('a flagged row in the feed', async () => {
      const n = await page.locator('pb-tx-list[mode=feed] .row.flagged').count();
      return n > 0 && n;
    });
    t.ok(flaggedRows > 0, `${flaggedRows} flagged rows marked in the feed`);
    const s = await state(page);
    const viewport = await page
      .locator('pb-tx-list[mode=feed] .viewport')
      .evaluate((el) => el.clientHeight);
    t.ok(s.feedSize > s.feedDomRows, `${s.feedSize} feed items held`);
    t.ok(
      s.feedDomRows <= Math.ceil(viewport / 28) + 1,
      `only ${s.feedDomRows} DOM rows for ${viewport}px`,
    );
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png` });
  });

  await t.test('render time per update with an hour in every chart', async (t) => {
    const held = await page.evaluate(() => {
      const n = __pulseboard.seedSynthetic(3600);
      __pulseboard.setWindow('1h');
      return n;
    });
    t.ok(held >= 3600, `${held} points per series`);
    await framesLater(page, 3);
    await page.evaluate(() => __pulseboard.resetRenderStats());
    await framesLater(page, 90); // thirty ticks
    const stats = await page.evaluate(() => __pulseboard.renderStats());
    t.ok(stats.count > 0, 'updates were measured');
    t.comment(
      `render per update (${stats.count} updates, 3600 points/series): ` +
        `p50 ${stats.p50} ms, p95 ${stats.p95} ms, max ${stats.max} ms (bar: p95 < 4 ms)`,
    );
    await page.screenshot({ path: `${ARTIFACTS}dashboard-1h.png` });
    await page.evaluate(() => __pulseboard.setWindow('1m'));
  });

  await t.test('scenario panel starts and stops a scenario', async (t) => {
    const panel = page.locator('pb-scenario-panel');
    await panel.locator('[data-action=start-steady]').click();
    await panel.locator('.state[data-state=running]').waitFor({ timeout: 10_000 });
    const running = await loadTest(server);
    t.equal(running.state, 'running');
    t.equal(running.scenario, 'steady');
    t.match(await panel.locator('.run').textContent(), /steady/);

    await panel.locator('[data-action=stop]').click();
    await panel.locator('.state[data-state=stopped]').waitFor({ timeout: 10_000 });
    const stopped = await loadTest(server);
    t.equal(stopped.state, 'stopped');
  });

  await t.test('reconnects by itself after the server restarts', async (t) => {
    const errorsBefore = log.errors.length;
    await server.stop();
    await page.locator('pb-connection-status[data-state=waiting]').waitFor({ timeout: 10_000 });
    server = await startServer([...SERVER_ARGS, '--port', String(port)]);
    await waitFor(
      'the page to reconnect',
      async () => {
        const s = await state(page);
        return s.connection === 'live' && s.reconnects >= 1;
      },
      20_000,
    );
    const before = await kpis(page);
    await framesLater(page, 6);
    t.not((await kpis(page))['count'], before['count'], 'data flows again');
    await page.locator('[data-notice=reconnect]').waitFor({ timeout: 5_000 });
    t.match(await page.locator('[data-notice=reconnect]').textContent(), /Reconnected/);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-reconnected.png` });
    // While the server was down the browser logs refused connections; nothing else.
    const unexpected = log.errors
      .slice(errorsBefore)
      .filter(
        (e) =>
          !/ERR_CONNECTION_REFUSED|WebSocket connection to .* failed|Failed to load resource/.test(
            e,
          ),
      );
    t.same(unexpected, [], 'only connection-refused errors while the server was down');
  });

  await t.test('phone width, light theme', async (t) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('[data-action=theme]').click();
    t.equal(await page.evaluate(() => document.documentElement.dataset['theme']), 'light');
    await framesLater(page, 3);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
    t.equal(overflow, 0, 'no horizontal scrolling at 390 px');
    await page.screenshot({ path: `${ARTIFACTS}dashboard-phone.png`, fullPage: true });
  });

  await t.test('asks for the admin token when the server requires one', async (t) => {
    const guarded = await startServer([
      '--sim-tps',
      '20',
      '--persistence',
      'off',
      '--admin-token',
      ADMIN_TOKEN,
    ]);
    t.teardown(() => guarded.stop());
    const p2 = await browser.newPage();
    t.teardown(() => p2.close());
    await p2.goto(`${guarded.url}/`);
    const panel = p2.locator('pb-scenario-panel');
    await panel.locator('[data-action=start-steady]').click();
    await panel.locator('.msg.error').waitFor({ timeout: 10_000 });
    t.match(await panel.locator('.msg.error').textContent(), /admin token/);
    t.equal((await loadTest(guarded)).state, 'idle', 'nothing started without the token');

    await panel.locator('input[name=token]').fill(ADMIN_TOKEN);
    await panel.locator('form.token button').click();
    await panel.locator('[data-action=start-steady]').click();
    await panel.locator('.state[data-state=running]').waitFor({ timeout: 10_000 });
    t.equal((await loadTest(guarded)).state, 'running', 'started with the token');
  });
  // Regression (issue 15 §3): the page kept ?token= in the address bar and put the token
  // (the admin token too, once typed into the scenario panel) in the WebSocket URL, where
  // proxy logs keep it.
  await t.test('tokens stay out of URLs after the first load', async (t) => {
    const guarded = await startServer(['--sim-tps', '50', '--persistence', 'off'], {
      READ_TOKEN,
      ADMIN_TOKEN,
    });
    t.teardown(() => guarded.stop());
    const p3 = await browser.newPage();
    t.teardown(() => p3.close());
    const sockets: string[] = [];
    const requests: { method: string; url: string; authorization?: string }[] = [];
    p3.on('websocket', (ws) => sockets.push(ws.url()));
    p3.on('request', (r) =>
      requests.push({
        method: r.method(),
        url: r.url(),
        authorization: r.headers()['authorization'],
      }),
    );
    await p3.goto(`${guarded.url}/?token=${READ_TOKEN}`);
    await waitFor('a live connection with a snapshot', async () => {
      const s = await state(p3);
      return s.connection === 'live' && s.snapshotTs !== null && s;
    });
    await framesLater(p3, 3);
    t.pass('the dashboard receives data with READ_TOKEN set');
    t.equal(p3.url(), `${guarded.url}/`, 'the address bar no longer holds the token');
    t.ok(sockets.length > 0, 'a WebSocket was opened');
    t.notOk(
      sockets.some((u) => u.includes(READ_TOKEN) || /[?&]token=/.test(u)),
      `the WebSocket URL carries no token (${sockets.join(', ')})`,
    );

    const panel = p3.locator('pb-scenario-panel');
    await panel.locator('[data-action=start-steady]').click();
    await panel.locator('input[name=token]').waitFor({ timeout: 10_000 });
    await panel.locator('input[name=token]').fill(ADMIN_TOKEN);
    await panel.locator('form.token button').click();
    await panel.locator('[data-action=start-steady]').click();
    await panel.locator('.state[data-state=running]').waitFor({ timeout: 10_000 });
    t.pass('the typed admin token starts a scenario');
    // A reconnect after the admin token was typed: the new socket must not carry it either.
    await p3.reload();
    await waitFor('live again after a reload', async () => (await state(p3)).connection === 'live');
    t.equal(p3.url(), `${guarded.url}/`, 'the token came from sessionStorage, not the URL');
    t.ok(sockets.length >= 2, 'a second WebSocket was opened');

    const everyUrl = [...sockets, ...requests.slice(1).map((r) => r.url)];
    t.notOk(
      everyUrl.some((u) => u.includes(READ_TOKEN) || u.includes(ADMIN_TOKEN)),
      'no URL after the first load holds a token',
    );
    const adminUses = requests.filter((r) => r.authorization === `Bearer ${ADMIN_TOKEN}`);
    t.ok(adminUses.length > 0, 'the admin token was sent');
    t.same(
      [...new Set(adminUses.map((r) => r.method))],
      ['POST'],
      'in the Authorization header of POSTs only',
    );
    t.ok(
      requests.some((r) => r.method === 'GET' && r.authorization === `Bearer ${READ_TOKEN}`),
      'reads carry the read token',
    );
  });
});
