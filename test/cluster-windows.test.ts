import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import t from 'tap';
import { MIGRATIONS } from '../src/db/schema.js';
import { startCluster, type TestCluster, waitForClusterView } from './helpers/cluster-nodes.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { drainPipeline, getJson, waitFor } from './helpers/wait-for.js';

/**
 * Three real nodes on the shared NATS and one MySQL (DESIGN §8): every node's global
 * windows equal the sum of the nodes' own figures and MySQL's row count exactly, once the
 * load stops; each node's transactions carry its NODE_ID in their ids; a second live node
 * with a taken NODE_ID is refused (exit 2); a node killed with -9 is marked down.
 */

let db: TestDatabase;
let cluster: TestCluster;

t.before(async () => {
  db = await createTestDatabase('pb_cluster');
  cluster = await startCluster(
    3,
    ['--sim-tps', '300', '--shards', '1', '--db-writers', '1', '--persistence', 'required'],
    { MYSQL_URL: db.url },
  );
});

t.teardown(async () => {
  await cluster?.remove();
  await db?.drop();
});

const count1h = (body: { windows: { '1h': { count: number } } }) => body.windows['1h'].count;

t.test('every node serves the cluster view with the three nodes', async (t) => {
  const ids = new Set<number>();
  for (const node of cluster.nodes) {
    const body = await waitForClusterView(node, 3);
    t.equal(body.scope, 'cluster');
    t.same(
      body.nodes.map((n: { id: number }) => n.id),
      [0, 1, 2],
    );
    ids.add(body.node);
    t.ok(node.logs.some((l) => l.nodeId === body.node && /cluster node/.test(String(l.msg))));
  }
  t.same([...ids].sort(), [0, 1, 2], 'ids derived, one each');
});

t.test('the partial each node sends is small; one it cannot read is counted', async (t) => {
  const { body } = await getJson(`${cluster.nodes[0]!.url}/api/metrics`);
  t.ok(body.backplane.partialsSent > 0);
  // 1–3 seconds of fixed-width rows, (165 + 3 × (6 sources + 1)) × 8 B each, and a header.
  t.ok(body.backplane.meanPartialBytes < 8000, `${body.backplane.meanPartialBytes} B`);
  t.equal(body.backplane.partialsRefused, 0, 'every partial read');
  // What a node of another version (another wire format) or a corrupt message looks like.
  const nc = await connect({ servers: cluster.natsUrl });
  await nc.jetstream().publish(`${cluster.name}.partial.9`, new Uint8Array([1, 0, 0, 0, 123]));
  await nc.close();
  const refused = await waitFor('the unreadable partial counted', async () => {
    const r = await getJson(`${cluster.nodes[0]!.url}/api/metrics`);
    return r.body.backplane.partialsRefused > 0 && r.body;
  });
  t.equal(refused.backplane.partialsRefused, 1, 'counted once, in backplane.partialsRefused');
  t.same(
    refused.nodes.map((n: { id: number }) => n.id),
    [0, 1, 2],
    'and no node 9 appears',
  );
});

t.test('a second live node with a taken NODE_ID is refused with exit 2', async (t) => {
  const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
  const run = spawnSync(
    process.execPath,
    [main, '--port', '0', '--persistence', 'off', '--rules-file', '', '--log-pretty', 'false'],
    {
      env: {
        ...process.env,
        NATS_URL: cluster.natsUrl,
        CLUSTER_NAME: cluster.name,
        NODE_ID: '1',
        SHARDS: '1',
      },
      encoding: 'utf8',
      timeout: 20_000,
    },
  );
  t.equal(run.status, 2, 'exit code');
  const fatal = run.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { code?: string; msg: string })
    .find((l) => l.code !== undefined);
  t.equal(fatal?.code, 'PB_ERR_CLUSTER_NODE_ID_TAKEN');
  t.match(fatal?.msg, /NODE_ID 1 is held by a live node/);
});

t.test('migrations ran once although the nodes started together', async (t) => {
  const [rows] = await db.conn.query(
    'SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version ORDER BY version',
  );
  const got = rows as { version: number; n: string }[];
  t.same(
    got.map((r) => Number(r.version)),
    MIGRATIONS.map((m) => m.version),
  );
  t.ok(got.every((r) => Number(r.n) === 1));
});

t.test('one (source, ref) posted to two nodes at once: one row, one id', async (t) => {
  const [a, b] = cluster.nodes;
  const post = (url: string, ref: string) =>
    fetch(`${url}/api/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ref,
        source: 'cluster-race',
        account: 'a-1',
        amount: 1000,
        currency: 'USD',
      }),
    }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { items: { id: string }[] },
    }));
  for (let i = 0; i < 20; i++) {
    const ref = `race-${i}`;
    const [x, y] = await Promise.all([post(a!.url, ref), post(b!.url, ref)]);
    t.equal(x.status, 200, JSON.stringify(x.body));
    t.equal(y.status, 200, JSON.stringify(y.body));
    t.equal(x.body.items[0]!.id, y.body.items[0]!.id, `${ref}: the same id from both nodes`);
  }
  const [rows] = await db.conn.query(
    "SELECT COUNT(*) AS n, COUNT(DISTINCT ref) AS refs FROM transactions WHERE source = 'cluster-race'",
  );
  const r = (rows as { n: string; refs: string }[])[0]!;
  t.equal(Number(r.n), 20, 'one row per ref');
  t.equal(Number(r.refs), 20);
});

t.test('after the load stops, global windows = Σ nodes = MySQL rows', async (t) => {
  await waitFor(
    'rows from every node',
    async () => {
      const [r] = await db.conn.query('SELECT COUNT(*) AS n FROM transactions');
      return Number((r as { n: string }[])[0]!.n) > 600;
    },
    30_000,
  );
  await Promise.all(cluster.nodes.map((n) => drainPipeline(n.url)));
  // Every node's last seconds close (2 s) and reach the others (a tick or two).
  await waitFor(
    'every node to agree on the 1 h count',
    async () => {
      const bodies = await Promise.all(
        cluster.nodes.map(async (n) => (await getJson(`${n.url}/api/metrics`)).body),
      );
      const local = bodies.reduce((s, b) => s + b.pipeline.completed, 0);
      return bodies.every((b) => b.scope === 'cluster' && count1h(b) === local);
    },
    20_000,
    250,
  );
  const bodies = await Promise.all(
    cluster.nodes.map(async (n) => (await getJson(`${n.url}/api/metrics`)).body),
  );
  const local = bodies.reduce((s, b) => s + b.pipeline.completed, 0);
  const [rows] = await db.conn.query(
    `SELECT COUNT(*) AS n, SUM(status = 'failed') AS failed,
            SUM(CASE WHEN status = 'completed' AND currency = 'USD' THEN amount ELSE 0 END) AS usd
       FROM transactions`,
  );
  const r = (rows as { n: string; failed: string; usd: string }[])[0]!;
  t.ok(local > 600, `${local} transactions`);
  for (const b of bodies) {
    t.equal(count1h(b), local, `node ${b.node}: global 1h = Σ nodes' completed`);
    t.equal(count1h(b), Number(r.n), `node ${b.node}: global 1h = MySQL rows`);
    t.equal(b.windows['1h'].failed, Number(r.failed), `node ${b.node}: failed`);
    t.equal(b.windows['1h'].volume.USD ?? 0, Number(r.usd), `node ${b.node}: USD volume`);
    const bySource = b.topSources['1h'].reduce((s: number, x: { count: number }) => s + x.count, 0);
    t.equal(bySource, local, `node ${b.node}: sources add up`);
  }
  // GET /api/history's last hour is the cluster's too (the global ring), on any node.
  await waitFor(
    'the history of node 0 to hold the transactions of every node',
    async () => {
      const h = await getJson(
        `${cluster.nodes[0]!.url}/api/history?metric=tps&from=${Date.now() - 600_000}`,
      );
      const sum = (h.body.series.tps as (number | null)[]).reduce<number>(
        (s, x) => s + (x ?? 0),
        0,
      );
      return !h.body.downsampled && sum === local;
    },
    10_000,
    250,
  );
  // Several nodes' writers upsert the same seconds: the rollups add up to the rows.
  const [rollups] = await db.conn.query('SELECT SUM(count) AS n FROM rollup_seconds');
  t.equal(Number((rollups as { n: string }[])[0]!.n), Number(r.n), 'rollups = rows');
  // The node part of each id is the NODE_ID of the node that minted it (tx-id.ts).
  const [parts] = await db.conn.query(
    "SELECT DISTINCT ((id >> 12) & 1023) DIV 64 AS node FROM transactions WHERE source <> 'cluster-race' ORDER BY node",
  );
  t.same(
    (parts as { node: string }[]).map((p) => Number(p.node)),
    [0, 1, 2],
  );
  // Each node's writers own their rollup rows (src/db/rollup-writers.ts: node × 1024 + local),
  // so two nodes never wait on each other's row locks.
  const [writers] = await db.conn.query(
    'SELECT DISTINCT writer DIV 1024 AS node FROM rollup_seconds ORDER BY node',
  );
  t.same(
    (writers as { node: string }[]).map((w) => Number(w.node)),
    [0, 1, 2],
    'rollup writer ids carry the node',
  );
});

t.test('a node killed with -9 is marked down within the down delay', async (t) => {
  const victim = cluster.nodes[2]!;
  const { body } = await getJson(`${victim.url}/api/metrics`);
  await victim.stop('SIGKILL');
  const killedAt = Date.now();
  const after = await waitFor(
    'the survivors to mark it down',
    async () => {
      const { body: b } = await getJson(`${cluster.nodes[0]!.url}/api/metrics`);
      const n = b.nodes.find((x: { id: number }) => x.id === body.node);
      return n?.status === 'down' ? b : undefined;
    },
    10_000,
    100,
  );
  // CLUSTER_DOWN_TICKS 3 × 500 ms, plus a tick for the view to notice (generous on a busy box).
  t.ok(Date.now() - killedAt < 3000, `${Date.now() - killedAt} ms`);
  t.equal(after.scope, 'cluster');
  t.equal(after.nodes.filter((n: { status: string }) => n.status === 'up').length, 2);
});
