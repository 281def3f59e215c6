import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { clusterStreams } from '../../src/cluster/cluster-names.js';
import { startPrivateNats } from './cluster-nats.js';
import { startServer, type TestServer } from './server.js';
import { getJson, waitFor } from './wait-for.js';

/**
 * Pulseboard nodes of one cluster as real child processes on a real NATS with JetStream,
 * found like the database (helpers/database.ts): NATS_URL if set; the server on
 * 127.0.0.1:4222 if it answers with JetStream; otherwise a private nats-server from PATH
 * (helpers/cluster-nats.ts) for this test process; otherwise fail with how to install one.
 * Each cluster has its own CLUSTER_NAME so that parallel tests never see each other's
 * subjects, stream or buckets; `remove()` deletes those from NATS afterwards.
 */

export const SHARED_NATS_URL = 'nats://127.0.0.1:4222';

export interface TestCluster {
  name: string;
  natsUrl: string;
  nodes: TestServer[];
  /** Starts one more node of this cluster. */
  add(args?: string[], env?: Record<string, string>): Promise<TestServer>;
  /** Stops every node and deletes the cluster's stream and buckets from NATS. */
  remove(): Promise<void>;
}

async function hasJetStream(url: string): Promise<boolean> {
  try {
    const nc = await connect({ servers: url, timeout: 2000, reconnect: false });
    try {
      await nc.jetstreamManager({ timeout: 2000 });
      return true;
    } finally {
      await nc.close();
    }
  } catch {
    return false;
  }
}

let found: Promise<string> | undefined;

/** The NATS the cluster tests use (see the header). */
export function findNats(): Promise<string> {
  found ??= (async () => {
    const env = process.env.NATS_URL;
    if (env) {
      if (await hasJetStream(env)) return env;
      throw new Error(`NATS_URL=${env} does not answer with JetStream (nats-server -js)`);
    }
    if (await hasJetStream(SHARED_NATS_URL)) return SHARED_NATS_URL;
    return (await startPrivateNats()).url;
  })();
  return found;
}

export async function startCluster(
  count: number,
  args: string[] = [],
  env: Record<string, string> = {},
  nats?: string,
): Promise<TestCluster> {
  const natsUrl = nats ?? (await findNats());
  const name = `pbt_${randomBytes(4).toString('hex')}`;
  const nodes: TestServer[] = [];
  const add = async (more: string[] = [], moreEnv: Record<string, string> = {}) => {
    const node = await startServer(
      [...args, ...more, '--nats-url', natsUrl, '--cluster-name', name],
      { ...env, ...moreEnv },
    );
    nodes.push(node);
    return node;
  };
  // Together, as an operator's script would start them.
  await Promise.all(Array.from({ length: count }, () => add()));
  return {
    name,
    natsUrl,
    nodes,
    add,
    async remove() {
      await Promise.all(nodes.map((n) => n.stop()));
      const nc = await connect({ servers: natsUrl, timeout: 2000 });
      const jsm = await nc.jetstreamManager();
      for (const stream of clusterStreams(name)) await jsm.streams.delete(stream).catch(() => {});
      await nc.close();
    },
  };
}

/** Waits until `node` sees `up` live nodes and serves the cluster's view. */
export function waitForClusterView(node: TestServer, up: number, timeoutMs = 20_000) {
  return waitFor(
    `${node.url} to see ${up} live nodes`,
    async () => {
      const { body } = await getJson(`${node.url}/api/metrics`);
      const live = (body.nodes ?? []).filter((n: { status: string }) => n.status === 'up');
      return body.scope === 'cluster' && live.length === up ? body : undefined;
    },
    timeoutMs,
    200,
  );
}
