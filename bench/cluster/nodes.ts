import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { clusterStreams } from '../../src/cluster/cluster-names.js';
import { startServer, type TestServer } from '../lib/server-process.js';

/**
 * A bench cluster: `count` nodes of the real server under one fresh CLUSTER_NAME on the
 * box's NATS, started together. A node that fails to start stops the others; stopAll is
 * bounded (SIGTERM, then SIGKILL) so a node draining a long backlog cannot hang the bench,
 * and then deletes the cluster's streams and buckets, which the shared NATS would otherwise
 * keep (the partials stream for its hour, the buckets for good).
 */

export const NATS_URL = process.env.NATS_URL || 'nats://127.0.0.1:4222';
const STOP_WAIT_MS = 30_000;

/** What every bench node runs with: the simulator at `tps` in total, one shard, no rules. */
export function nodeArgs(tps: number, persistence: 'off' | 'required', extra: string[] = []) {
  return [
    '--sim-tps',
    String(tps),
    '--shards',
    '1',
    '--persistence',
    persistence,
    '--rules-file',
    '',
    ...extra,
  ];
}

export interface BenchCluster {
  name: string;
  nodes: TestServer[];
  stopAll(): Promise<void>;
}

export async function startCluster(
  count: number,
  args: string[],
  env: Record<string, string> = {},
): Promise<BenchCluster> {
  const name = `pbbench_${randomBytes(3).toString('hex')}`;
  const started = await Promise.allSettled(
    Array.from({ length: count }, () =>
      startServer(args, { NATS_URL, CLUSTER_NAME: name, ...env }),
    ),
  );
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stopAll = async () => {
    await Promise.all(nodes.map(stopBounded));
    await deleteStreams(name);
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stopAll();
    throw (failed as PromiseRejectedResult).reason;
  }
  return { name, nodes, stopAll };
}

async function stopBounded(node: TestServer): Promise<void> {
  const timer = setTimeout(() => node.proc.kill('SIGKILL'), STOP_WAIT_MS);
  await node.stop();
  clearTimeout(timer);
}

async function deleteStreams(name: string): Promise<void> {
  const nc = await connect({ servers: NATS_URL, timeout: 2000 });
  try {
    const jsm = await nc.jetstreamManager();
    for (const stream of clusterStreams(name)) await jsm.streams.delete(stream).catch(() => {});
  } finally {
    await nc.close();
  }
}
