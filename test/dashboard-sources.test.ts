import t from 'tap';
import { launchBrowser, recordErrors } from './helpers/browser.js';
import { createTestDatabase } from './helpers/database.js';
import { startServer } from './helpers/server.js';

/**
 * The dashboard copes with sources that appear while it is open (issue 12 §1): a name a
 * producer sends for the first time shows in the top sources panel, in a real browser,
 * and the live feed shows the transaction under that name, without a reload.
 */

t.test('a new source appears in the open dashboard', async (t) => {
  const db = await createTestDatabase('pb_src_dash');
  const server = await startServer(['--sim-tps', '0', '--shards', '1', '--tick-ms', '200'], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
  });
  t.teardown(async () => {
    await server.stop();
    await db.drop();
  });
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const log = recordErrors(page);
  await page.goto(`${server.url}/`);
  await page.locator('pb-connection-status [role=status]', { hasText: 'Live' }).waitFor();

  const r = await fetch(`${server.url}/api/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([
      { ref: 'k-1', source: 'kiosk-7', account: 'C-1', amount: 500, currency: 'USD' },
      { ref: 'k-2', source: 'kiosk-7', account: 'C-2', amount: 700, currency: 'USD' },
    ]),
  });
  t.equal(r.status, 200);

  const row = page.locator('pb-top-sources li[data-source="kiosk-7"]');
  await row.waitFor({ timeout: 10_000 });
  t.match(await row.textContent(), /kiosk-7/, 'the top sources panel lists kiosk-7');
  const feedRow = page.locator('pb-tx-list[mode=feed] .row', { hasText: 'kiosk-7' }).first();
  await feedRow.waitFor({ timeout: 10_000 });
  t.pass('the live feed shows a kiosk-7 transaction');
  t.same(log.errors, [], 'no console errors or page errors');
});
