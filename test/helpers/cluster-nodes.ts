import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { startServer, type TestServer } from './server.js';
import { getJson, waitFor } from './wait-for.js';

/**
 * Pulseboard nodes of one cluster as real child processes on the shared NATS (NATS_URL, or
 * 127.0.0.1:4222 as .ci/run starts it), each cluster under its own CLUSTER_NAME so that
 * parallel tests never see each other's subjects, stream or lease bucket; `remove()`
 * deletes those from NATS afterwards.
 */

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

export interface TestCluster {
  name: string;
  nodes: TestServer[];
  /** Starts one more node of this cluster. */
  add(args?: string[], env?: Record<string, string>): Promise<TestServer>;
  /** Stops every node and deletes the cluster's stream and bucket from NATS. */
  remove(): Promise<void>;
}

/** Fails with how to get one when no NATS with JetStream answers. */
export async function assertNats(): Promise<void> {
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 2000 });
    await nc.jetstreamManager();
    await nc.close();
  } catch (err) {
    throw new Error(
      `no NATS with JetStream at ${NATS_URL} (${(err as Error).message}): start one with ` +
        '`nats-server -js` (Debian: apt-get install nats-server), or set NATS_URL',
    );
  }
}

export async function startCluster(
  count: number,
  args: string[] = [],
  env: Record<string, string> = {},
  natsUrl = NATS_URL,
): Promise<TestCluster> {
  if (natsUrl === NATS_URL) await assertNats();
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
    nodes,
    add,
    async remove() {
      await Promise.all(nodes.map((n) => n.stop()));
      const nc = await connect({ servers: natsUrl, timeout: 2000 });
      const jsm = await nc.jetstreamManager();
      for (const stream of [`${name}_partials`, `KV_${name}_nodes`])
        await jsm.streams.delete(stream).catch(() => {});
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
