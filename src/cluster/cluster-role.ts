import type { Options } from '../config/option-specs.js';
import type { ScenarioControl } from '../http/load-test-routes.js';
import type { Logger } from '../log/logger.js';
import type { SnapshotService } from '../metrics/snapshot-service.js';
import type { ShardPool } from '../pipeline/shard-pool.js';
import type { ScenarioRunner } from '../scenario/scenario-runner.js';
import type { SourceRegistry } from '../shared/source-registry.js';
import type { TickPublisher } from '../ws/tick-publisher.js';
import { ClusterControl } from './cluster-control.js';
import { ClusterFeed } from './cluster-feed.js';
import type { ClusterNode } from './cluster-node.js';
import { ClusterView } from './cluster-view.js';

/**
 * What cluster mode changes in a started node, in one place (server.ts calls this once):
 * - the snapshot becomes the cluster's (cluster-view.ts);
 * - the simulator runs this node's share of every rate: 1 / live nodes, rebalanced as nodes
 *   join or leave, so the cluster's total is the rate asked for;
 * - scenario commands and resets go to every node (cluster-control.ts);
 * - the `tx` feed and `alerts` are every node's (cluster-feed.ts).
 */

export interface ClusterRole {
  readonly view: ClusterView;
  readonly scenarios: ScenarioControl;
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function startClusterRole(
  node: ClusterNode,
  parts: {
    options: Options;
    log: Logger;
    pool: ShardPool;
    snapshots: SnapshotService;
    sources: SourceRegistry;
    runner: ScenarioRunner;
    publisher: TickPublisher;
    /** This node's own reset (threads, windows, feed). */
    resetLocal(): Promise<void>;
  },
): Promise<ClusterRole> {
  const { options, log, pool, snapshots, sources, runner, publisher } = parts;
  const view = new ClusterView(node, sources, options, snapshots.accumulator);
  snapshots.view = view;
  view.onLiveNodes = (n) => {
    pool.setShare(1 / n);
    log.info({ liveNodes: n, share: 1 / n }, `${n} live nodes: this node runs 1/${n} of the rate`);
  };
  const control = await ClusterControl.open(
    node,
    {
      start: (body, elapsedMs) => runner.start(body, elapsedMs),
      stop: () => runner.stop(),
      reset: async (at) => {
        await parts.resetLocal();
        view.global.clear(Math.floor(at / 1000));
      },
    },
    log,
  );
  node.onReconnect = () => control.refollow();
  const feed = new ClusterFeed(node, options);
  publisher.mixer = feed;
  return {
    view,
    scenarios: {
      async start(body) {
        await control.send('load-test', body);
        return runner.status();
      },
      async stop() {
        await control.send('stop');
        return runner.status();
      },
      status: () => runner.status(),
    },
    reset: () => control.send('reset'),
    async close() {
      control.close();
      feed.close();
      await node.close();
    },
  };
}
