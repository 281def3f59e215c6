import type { FaultSpec } from './fault-switch.js';

/**
 * What the primary hands a shard thread at start (workerData) and the few messages
 * they exchange. Everything per-transaction goes through shared memory (tx-ring.ts,
 * metric-buckets.ts), never through postMessage.
 */

export interface ShardInit {
  shardIndex: number;
  shardCount: number;
  /** Node part of the transaction id (for multi-node deployments), 0..15. */
  nodeId: number;
  metricsSab: SharedArrayBuffer;
  txRingSab: SharedArrayBuffer;
  txRingCapacity: number;
  /** The live feed's per-tick sample (feed-sample.ts), FEED_PER_TICK records per slot. */
  feedSab: SharedArrayBuffer;
  feedSize: number;
  alertRingSab: SharedArrayBuffer;
  alertRingCapacity: number;
  inflightCapacity: number;
  sourceCount: number;
  accounts: number;
  procMinMs: number;
  procMedianMs: number;
  procMaxMs: number;
  fraudAmountThreshold: number;
  fraudVelocityMax: number;
  /**
   * Set for a restarted shard: the highest id ms the failed thread minted (G_ID_MS). The new
   * thread mints only above it, so no (ms, slot, sequence) triple is ever minted twice.
   */
  idAfterMs?: number;
  /** Test-only fault switch (src/shared/fault-switch.ts); absent in production. */
  fault?: FaultSpec;
}

/** shard → primary */
export type ShardMessage =
  | { type: 'ready'; shardIndex: number }
  | { type: 'stopped'; shardIndex: number; inflight: number }
  | { type: 'error'; shardIndex: number; code: string; message: string };

/** Simulator shards per node: the id layout's slots minus the ingest thread's (tx-id.ts). */
export { MAX_SIMULATOR_SHARDS as MAX_SHARDS_PER_NODE } from './tx-id.js';
