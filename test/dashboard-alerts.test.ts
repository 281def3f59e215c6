import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import t from 'tap';
import { launchBrowser, recordErrors } from './helpers/browser.js';
import { startServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * Alert rules in the dashboard, in headless Chromium against the real server: a rule made
 * in the rules panel (the form refuses what the API refuses, with the same words) fires
 * under a scenario that breaks it (a failure-rate scenario), the banner shows it, the
 * charts mark it, and editing it in the panel resolves it (the marker closes, the history
 * lists the changes).
 */

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

declare const __pulseboard: {
  state(): {
    connection: string;
    snapshotTs: number | null;
    chartMarkers: number[];
    firing: string[];
  };
};
const state = (page: Page) => page.evaluate(() => __pulseboard.state());

t.test('a rule created in the panel fires, shows in the banner and on the charts', async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const server = await startServer(['--sim-tps', '150', '--persistence', 'off']);
  t.teardown(() => server.stop());
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const log = recordErrors(page);
  await page.goto(`${server.url}/`);
  await waitFor('live', async () => {
    const s = await state(page);
    return s.connection === 'live' && s.snapshotTs !== null;
  });

  const panel = page.locator('pb-rules-panel');
  await panel.locator('[data-action=new-rule]').click();
  const form = panel.locator('pb-rule-form form.rule-form');
  await form.locator('input[name=alert]').fill('CardPosFailing');
  await form.locator('select[name=source]').selectOption('card-pos');
  await form.locator('select[name=severity]').selectOption('critical');
  await form.locator('input[name=for]').fill('2s');

  // No threshold: refused in the page, with the API's own words, and nothing is stored.
  await form.locator('[data-action=save-rule]').click();
  const error = form.locator('[data-error=threshold]');
  await error.waitFor({ timeout: 5000 });
  const api = await fetch(`${server.url}/api/rules`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      alert: 'CardPosFailing',
      metric: 'failureRate',
      window: '1m',
      source: 'card-pos',
      op: '>',
      for: '2s',
    }),
  });
  const refused = (await api.json()) as {
    error: { field: string; problems: { message: string }[] };
  };
  t.equal(refused.error.field, 'threshold');
  t.equal(
    await error.textContent(),
    refused.error.problems[0]!.message,
    'the form says what the API says',
  );
  t.same((await getJson(`${server.url}/api/rules`)).body.rules, [], 'nothing stored');

  await form.locator('input[name=threshold]').fill('0.3');
  await form.locator('[data-action=save-rule]').click();
  const row = panel.locator('tr[data-rule=CardPosFailing]');
  await row.waitFor({ timeout: 10_000 });
  const stored = (await getJson(`${server.url}/api/rules/CardPosFailing`)).body;
  t.match(stored.rule, {
    kind: 'threshold',
    metric: 'failureRate',
    window: '1m',
    source: 'card-pos',
    op: '>',
    threshold: 0.3,
    for: '2s',
    severity: 'critical',
  });
  t.equal(await row.getAttribute('data-state'), 'inactive');

  // The scenario that breaks it: most transactions fail.
  const scenario = await fetch(`${server.url}/api/load-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tps: 300, failureRate: 0.9 }),
  });
  t.equal(scenario.status, 200);
  const banner = page.locator('pb-alert-banner [data-rule=CardPosFailing]');
  await banner.waitFor({ timeout: 30_000 });
  t.match(await banner.textContent(), /critical[\s\S]*CardPosFailing[\s\S]*card-pos/);
  await page
    .locator('pb-rules-panel tr[data-rule=CardPosFailing][data-state=firing]')
    .waitFor({ timeout: 10_000 });
  const marked = await waitFor('a marker on every chart', async () => {
    const s = await state(page);
    return s.chartMarkers.length === 3 && s.chartMarkers.every((n) => n >= 1) && s;
  });
  t.same(marked.firing, ['CardPosFailing']);
  const marker = page.locator('pb-time-chart .marker[data-rule=CardPosFailing]').first();
  t.match(await marker.getAttribute('class'), /critical firing/, 'an open band while firing');
  t.ok(((await marker.boundingBox())?.width ?? 0) >= 2, 'it is drawn on the chart');
  await page.locator('pb-alert-banner').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${ARTIFACTS}dashboard-alert-firing.png` });

  // Edit it in the panel: the replaced rule's alert resolves; the marker closes.
  await panel.locator('tr[data-rule=CardPosFailing] [data-action=edit-rule]').click();
  await form.locator('input[name=threshold]').fill('0.99');
  await form.locator('[data-action=save-rule]').click();
  await page.locator('pb-time-chart .marker.resolved[data-rule=CardPosFailing]').first().waitFor({
    timeout: 10_000,
  });
  t.equal(await page.locator('pb-alert-banner [data-rule]').count(), 0, 'the banner is gone');
  const history = await panel.locator('ol.history li').allTextContents();
  t.ok(
    history.some((h) => /CardPosFailing · card-pos\s+firing →\s+resolved/.test(h)),
    'the history lists the resolution',
  );
  t.ok(
    history.some((h) => /pending →\s+firing/.test(h)),
    'and the firing',
  );
  t.equal((await getJson(`${server.url}/api/rules/CardPosFailing`)).body.rule.threshold, 0.99);
  await page.screenshot({ path: `${ARTIFACTS}dashboard-alert-resolved.png` });
  t.same(log.errors, [], 'no console errors');
});
