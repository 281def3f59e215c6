import t from 'tap';
import { launchBrowser, recordErrors } from './helpers/browser.js';
import { startCluster, type TestCluster, waitForClusterView } from './helpers/cluster-nodes.js';
import { getJson } from './helpers/wait-for.js';

/**
 * The dashboard of a cluster node (real Chromium): the connection badge names the node it
 * is on and says it shows the cluster; the nodes panel lists every node with its status,
 * and shows a node killed with -9 as down.
 */

let cluster: TestCluster;

t.before(async () => {
  cluster = await startCluster(2, ['--sim-tps', '100', '--shards', '1']);
  for (const n of cluster.nodes) await waitForClusterView(n, 2);
});

t.teardown(async () => {
  await cluster?.remove();
});

t.test('badge names the node, nodes panel lists the cluster', async (t) => {
  const [a, b] = cluster.nodes;
  const self = (await getJson(`${a!.url}/api/metrics`)).body.node as number;
  const other = (await getJson(`${b!.url}/api/metrics`)).body.node as number;
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const log = recordErrors(page);
  await page.goto(`${a!.url}/`);
  await page.locator('pb-connection-status [role=status]', { hasText: 'Live' }).waitFor();
  const badge = page.locator('pb-connection-status .node');
  await badge.filter({ hasText: `node ${self} · cluster` }).waitFor({ timeout: 10_000 });
  t.pass(`the badge says node ${self} · cluster`);
  const rows = page.locator('pb-nodes-panel tr[data-node]');
  await page.locator('pb-nodes-panel tr[data-status=up]').nth(1).waitFor({ timeout: 10_000 });
  t.equal(await rows.count(), 2, 'two nodes listed');
  t.ok(
    await page.locator(`pb-nodes-panel tr[data-node="${self}"][data-self]`).count(),
    'this node marked',
  );

  await b!.stop('SIGKILL');
  await page
    .locator(`pb-nodes-panel tr[data-node="${other}"][data-status=down]`)
    .waitFor({ timeout: 10_000 });
  t.pass('the killed node shows as down');
  t.same(log.errors, [], 'no console errors or page errors');
});
