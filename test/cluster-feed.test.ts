import t from 'tap';
import { startCluster, type TestCluster, waitForClusterView } from './helpers/cluster-nodes.js';
import { TestClient } from './helpers/ws-client.js';
import { wsThreadsArgs } from './helpers/ws-threads.js';

/**
 * The `tx` feed and `alerts` of a node's clients are the cluster's: items of every node,
 * FEED_PER_TICK at most per frame, and no item twice. The second node serves its clients
 * from two fan-out threads (WS_THREADS=2), so the cluster's frames are checked through the
 * threads' hand-off too, and its `metrics` frames must carry the cluster scope.
 */

let cluster: TestCluster;
const FEED_PER_TICK = 20;

t.before(async () => {
  cluster = await startCluster(1, [
    '--sim-tps',
    '400',
    '--shards',
    '1',
    '--feed-per-tick',
    String(FEED_PER_TICK),
    '--unusual-pair-rate',
    '0.05',
  ]);
  await cluster.add(wsThreadsArgs(2));
  for (const n of cluster.nodes) await waitForClusterView(n, 2);
});

t.teardown(async () => {
  await cluster?.remove();
});

/** The node part of a transaction id (tx-id.ts: 12 bits of sequence, then node × 64 + slot). */
const nodeOf = (id: string) => Number(((BigInt(id) >> 12n) & 1023n) / 64n);

t.test('tx and alerts on one node carry every node, bounded, without duplicates', async (t) => {
  const client = await TestClient.connect(`${cluster.nodes[1]!.wsUrl}?topics=tx,alerts,metrics`);
  t.teardown(() => client.socket.close());
  await client.until((c) => c.of('tx').length >= 8, 15_000, 'eight tx frames');
  await client.until(
    (c) =>
      new Set(
        c
          .of('alerts')
          .flatMap((f) => (f.data as { items: { id: string }[] }).items.map((i) => nodeOf(i.id))),
      ).size === 2,
    15_000,
    'alerts of both nodes',
  );
  const ids: string[] = [];
  for (const f of client.of('tx')) {
    const data = f.data as { items: { id: string }[]; omitted: number };
    t.ok(data.items.length <= FEED_PER_TICK, `${data.items.length} items in one frame`);
    ids.push(...data.items.map((i) => i.id));
  }
  t.equal(new Set(ids).size, ids.length, 'no transaction twice in the feed');
  t.same([...new Set(ids.map(nodeOf))].sort(), [0, 1], 'the feed holds both nodes');
  const alertIds = client
    .of('alerts')
    .flatMap((f) => ((f.data as { items?: { id: string }[] }).items ?? []).map((i) => i.id));
  t.ok(alertIds.length > 0);
  t.equal(new Set(alertIds).size, alertIds.length, 'no alert twice');
  const metrics = client.of('metrics').at(-1)?.data as
    | { scope?: string; nodes?: { id: string; status: string }[] }
    | undefined;
  t.equal(metrics?.scope, 'cluster', 'metrics through the fan-out threads: cluster scope');
  t.equal(metrics?.nodes?.filter((n) => n.status === 'up').length, 2, 'and both nodes up');
});
