import t from 'tap';
import { startCluster, type TestCluster, waitForClusterView } from './helpers/cluster-nodes.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * Scenario control reaches the whole cluster (a JetStream KV record every node watches):
 * a load test started on one node runs on all, each node running its share of the rate,
 * rebalanced when a node joins; stop and reset on another node apply everywhere.
 */

let cluster: TestCluster;

t.before(async () => {
  cluster = await startCluster(2, ['--sim-tps', '0', '--shards', '1']);
  for (const n of cluster.nodes) await waitForClusterView(n, 2);
});

t.teardown(async () => {
  await cluster?.remove();
});

function post(url: string, path: string, body?: unknown) {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
}

/** The cluster's completions per second over `seconds`, from one node's 1 h window. */
async function clusterRate(url: string, seconds: number): Promise<number> {
  const before = (await getJson(`${url}/api/metrics`)).body.windows['1h'].count;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = (await getJson(`${url}/api/metrics`)).body.windows['1h'].count;
  return (after - before) / seconds;
}

t.test('a load test started on one node runs on every node, shared', async (t) => {
  const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
  const r = await post(a.url, '/api/load-test', { tps: 400 });
  t.equal(r.status, 200);
  t.equal(((await r.json()) as { state: string }).state, 'running');
  const status = (await getJson(`${b.url}/api/load-test`)).body;
  t.equal(status.state, 'running', 'node B runs it too');
  t.equal(status.currentTps, 400, 'the scenario shows the cluster rate');
  t.ok(b.logs.some((l) => /cluster command applied: load-test/.test(String(l.msg))));
  t.ok(a.logs.some((l) => /2 live nodes: this node runs 1\/2/.test(String(l.msg))));
  // Processing takes 0.1–2 s: the first seconds ramp up.
  await new Promise((r) => setTimeout(r, 3000));
  const rate = await clusterRate(a.url, 4);
  t.ok(rate > 300 && rate < 500, `cluster rate ${rate}/s for 400 asked`);
});

t.test('a node that joins takes its share and runs the scenario too', async (t) => {
  const c = await cluster.add();
  await waitForClusterView(c, 3);
  t.equal((await getJson(`${c.url}/api/load-test`)).body.state, 'running', 'joined the scenario');
  const a = cluster.nodes[0]!;
  await waitFor('node A to rebalance', async () =>
    a.logs.some((l) => /3 live nodes: this node runs 1\/3/.test(String(l.msg))),
  );
  await new Promise((r) => setTimeout(r, 2500));
  const rate = await clusterRate(a.url, 4);
  t.ok(rate > 300 && rate < 500, `cluster rate ${rate}/s for 400 asked, three nodes`);
});

t.test('stop and reset on another node apply everywhere', async (t) => {
  const b = cluster.nodes[1]!;
  const r = await post(b.url, '/api/load-test/stop');
  t.equal(r.status, 200);
  for (const n of cluster.nodes)
    t.equal((await getJson(`${n.url}/api/load-test`)).body.state, 'stopped', n.url);
  // Let the in-flight transactions finish, then clear every node at once.
  await waitFor('in-flight drained', async () => {
    const { body } = await getJson(`${b.url}/api/metrics`);
    return body.inFlight.pending + body.inFlight.processing === 0;
  });
  const reset = await post(b.url, '/api/reset');
  t.equal(reset.status, 200);
  await waitFor(
    'every node to show empty windows',
    async () => {
      const bodies = await Promise.all(
        cluster.nodes.map(async (n) => (await getJson(`${n.url}/api/metrics`)).body),
      );
      return bodies.every((x) => x.windows['1h'].count === 0 && x.pipeline.completed === 0);
    },
    10_000,
    200,
  );
  t.pass('reset everywhere');
});
