import type { FaultSpec } from './fault-switch.js';

/**
 * The shard protocol: what the primary hands a shard thread at start (workerData), the
 * control words and rate parameters it then changes in the shard's shared memory, and the
 * few messages they exchange. Everything per-transaction goes through shared memory
 * (tx-ring.ts, metric-buckets.ts), never through postMessage. The ingest thread speaks the
 * same protocol (it is merged like a shard).
 *
 * Control words (Int32Array at the start of the shard's metrics SAB, metric-buckets.ts),
 * each changed with Atomics:
 *
 *   C_SEQ        writer   seqlock over buckets, totals and the writer's gauges (bucket-seqlock.ts)
 *   C_STOP       primary  1 = stop: finish what is in flight, post 'stopped', exit
 *   C_WAKE       primary  bumped (and notified) to wake a sleeping shard: rate change, stop
 *   C_TICK       primary  tick epoch: the shard hands its feed sample over when it changes
 *   C_RESET      primary  reset epoch asked for; the writer clears its rows and totals, then
 *   C_RESET_ACK  writer   stores the epoch it applied
 *   C_SOURCE_MASK primary bit i = simulator source i enabled for generation
 *   C_SEALED     primary  last second folded into the windows, − SECOND_BASE
 *
 * Rate parameters (float64 gauges G_RATE, G_FAILURE_RATE, G_PAIRING_RATE of the same SAB):
 * written by the primary, then C_WAKE bumped; the shard reads them at its next loop.
 */

export const C_SEQ = 0;
export const C_STOP = 1;
export const C_WAKE = 2;
export const C_TICK = 3;
export const C_RESET = 4;
export const C_RESET_ACK = 5;
export const C_SOURCE_MASK = 6;
export const C_SEALED = 7;
export const CONTROL_INTS = 16;

/** C_SEALED counts seconds from here (2020-09-13), so an int32 holds them until 2088. */
export const SECOND_BASE = 1_600_000_000;
/** C_SEALED before the primary sealed anything: earlier than any second a writer uses. */
export const NOTHING_SEALED = -0x80000000;

/** Param: target tx/s for this shard (Infinity = as fast as possible). */
export const G_RATE = 0;
/** Param: share of failed transactions. */
export const G_FAILURE_RATE = 1;
/** Param: share of unusual source/currency pairs. */
export const G_PAIRING_RATE = 2;

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
