import type { Worker } from 'node:worker_threads';
import type { FeedSampleBuffer } from '../shared/feed-sample.js';
import type { ShardMetrics } from '../shared/metric-buckets.js';
import type { TxRing } from '../shared/tx-ring.js';

/**
 * A thread whose finished transactions the primary shows live: it adds them to its own
 * per-second metric buckets, keeps a uniform sample of each tick's for the feed, and puts
 * every flagged one on its alert ring. Simulator shards are such threads, and so is the
 * ingest thread (both doors, HTTP and stream, lead to it). The snapshot, the live feed and
 * the alert drain read these three and nothing else; tick, reset and stop reach the thread
 * through `metrics.control`.
 */
export interface WindowThread {
  readonly index: number;
  readonly worker: Worker;
  readonly metrics: ShardMetrics;
  /** The live feed's per-tick sample (src/shared/feed-sample.ts). */
  readonly feed: FeedSampleBuffer;
  readonly alertRing: TxRing;
}
