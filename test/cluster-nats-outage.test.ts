import t from 'tap';
import { type PrivateNats, startPrivateNats } from './helpers/cluster-nats.js';
import { startCluster, type TestCluster, waitForClusterView } from './helpers/cluster-nodes.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * NATS stopped for 20 s, then started again (a private nats-server: its memory stream and
 * buckets are gone after the restart): every node keeps serving its own view, marked
 * `scope: "local"`, sends nothing meanwhile, and returns to the cluster view by itself;
 * the seconds closed during the outage are sent afterwards, so the global windows still
 * equal the sum of the nodes' own.
 */

let nats: PrivateNats;
let cluster: TestCluster;

t.before(async () => {
  nats = await startPrivateNats();
  cluster = await startCluster(2, ['--sim-tps', '200', '--shards', '1'], {}, nats.url);
  for (const n of cluster.nodes) await waitForClusterView(n, 2);
});

t.teardown(async () => {
  await nats?.start().catch(() => {});
  await cluster?.remove().catch(() => {});
  await nats?.destroy();
});

const metrics = async (url: string) => (await getJson(`${url}/api/metrics`)).body;

t.test('NATS away for 20 s: local views, then the cluster view again', async (t) => {
  await nats.stop();
  for (const n of cluster.nodes)
    await waitFor('scope local', async () => (await metrics(n.url)).scope === 'local', 5000, 100);
  const sentAtStart = await Promise.all(
    cluster.nodes.map(async (n) => (await metrics(n.url)).backplane.partialsSent),
  );
  const outageEnds = Date.now() + 20_000;
  while (Date.now() < outageEnds) {
    for (const n of cluster.nodes) {
      const m = await metrics(n.url);
      t.equal(m.scope, 'local');
      if (m.scope !== 'local') return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const during = await Promise.all(cluster.nodes.map((n) => metrics(n.url)));
  for (const [i, m] of during.entries()) {
    t.ok(m.tps > 0, `node ${m.node} keeps its own pipeline (${m.tps}/s)`);
    t.equal(m.backplane.partialsSent, sentAtStart[i], 'nothing sent (nothing queued) meanwhile');
    t.ok(cluster.nodes[i]!.proc.exitCode === null, 'still running');
  }
  await nats.start();
  for (const n of cluster.nodes) await waitForClusterView(n, 2, 30_000);
  t.pass('cluster view back by itself');
});

t.test('after the outage, the global windows still add up exactly', async (t) => {
  const a = cluster.nodes[0]!;
  const stop = await fetch(`${a.url}/api/load-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tps: 0 }),
  });
  t.equal(stop.status, 200);
  await waitFor(
    'every node to agree with the sum of the nodes',
    async () => {
      const bodies = await Promise.all(cluster.nodes.map((n) => metrics(n.url)));
      const local = bodies.reduce((s, b) => s + b.pipeline.completed, 0);
      return bodies.every(
        (b) =>
          b.scope === 'cluster' &&
          b.inFlight.pending + b.inFlight.processing === 0 &&
          b.windows['1h'].count === local,
      );
    },
    30_000,
    250,
  );
  t.pass('global 1 h = Σ nodes');
});
