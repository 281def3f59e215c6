import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { type PrivateNats, startPrivateNats } from './helpers/cluster-nats.js';
import { createNodeNamespace, type NodeNamespace } from './helpers/cluster-netns.js';
import { startCluster, type TestCluster, waitForClusterView } from './helpers/cluster-nodes.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * A network partition (runs as root: `ip netns` with veth pairs): one node in its own
 * namespace is cut off from NATS but not from its clients. It degrades to its local view
 * and keeps answering; the other nodes drop it; when the link returns, everything heals
 * by itself.
 */

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
let ns: NodeNamespace;
let nats: PrivateNats;
let cluster: TestCluster;
let isolated: ChildProcess;
let isolatedUrl: string;

t.before(async () => {
  ns = createNodeNamespace();
  nats = await startPrivateNats('0.0.0.0');
  const port = new URL(nats.url).port;
  cluster = await startCluster(
    2,
    ['--sim-tps', '200', '--shards', '1'],
    {},
    `nats://127.0.0.1:${port}`,
  );
  isolated = spawn(
    ns.exec[0]!,
    [
      ...ns.exec.slice(1),
      process.execPath,
      MAIN,
      '--host',
      '0.0.0.0',
      '--port',
      '18480',
      '--shards',
      '1',
      '--persistence',
      'off',
      '--rules-file',
      '',
      '--log-pretty',
      'false',
      '--stats-interval-s',
      '0',
      // Bound beyond loopback (the namespace's client address): a test node without tokens.
      '--allow-unauthenticated',
      'true',
      '--allow-public-read',
      'true',
      '--nats-url',
      `nats://${ns.backplaneHost}:${port}`,
      '--cluster-name',
      cluster.name,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: process.env },
  );
  isolatedUrl = `http://${ns.clientAddress}:18480`;
  await waitFor(
    'the namespaced node to answer',
    async () => {
      if (isolated.exitCode !== null)
        throw new Error(`the namespaced node exited (${isolated.exitCode})`);
      return (await fetch(`${isolatedUrl}/healthz`).catch(() => null))?.status === 200;
    },
    45_000,
    250,
  );
  await waitForClusterView({ url: isolatedUrl } as never, 3, 30_000);
  for (const n of cluster.nodes) await waitForClusterView(n, 3);
});

t.teardown(async () => {
  isolated?.kill('SIGKILL');
  await cluster?.remove().catch(() => {});
  await nats?.destroy();
  ns?.remove();
});

t.test(
  'cut from NATS, not from clients: local view; the others drop it; then it heals',
  async (t) => {
    const self = (await getJson(`${isolatedUrl}/api/metrics`)).body.node as number;
    ns.cut();
    await waitFor(
      'the cut node to serve its local view',
      async () => {
        const { body } = await getJson(`${isolatedUrl}/api/metrics`);
        return body.scope === 'local';
      },
      10_000,
      200,
    );
    const local = (await getJson(`${isolatedUrl}/api/metrics`)).body;
    t.equal(local.scope, 'local', 'its clients still reach it, and see a local view');
    t.ok(local.pipeline.completed > 0, 'its own pipeline keeps running');
    await waitFor(
      'the others to drop it',
      async () => {
        const { body } = await getJson(`${cluster.nodes[0]!.url}/api/metrics`);
        return (
          body.scope === 'cluster' &&
          body.nodes.find((n: { id: number }) => n.id === self)?.status === 'down'
        );
      },
      10_000,
      200,
    );
    t.pass('the others mark it down and keep the cluster view');

    ns.heal();
    await waitForClusterView({ url: isolatedUrl } as never, 3, 45_000);
    for (const n of cluster.nodes) await waitForClusterView(n, 3, 30_000);
    t.pass('healed by itself: every node sees three up, scope cluster');
  },
);
