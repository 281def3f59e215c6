import { G_ID_MS, type ShardMetrics } from '../shared/metric-buckets.js';
import { C_SEQ } from '../shared/shard-protocol.js';

/**
 * What a restarted producer thread (a simulator shard or the ingest thread) takes over from
 * the one that failed, all of it in the shared memory the primary owns:
 *
 *   seqlock (C_SEQ)  a thread that died inside a batch left it odd, and readers would retry
 *                    against it until they give up. The failed thread has exited, so nobody
 *                    writes the buckets now: bump it to even before the new thread starts.
 *   ids (G_ID_MS)    ids are (ms, worker slot, sequence) and the new thread has the same
 *                    slot; it mints only above the last ms the failed one used, so no triple
 *                    repeats even within the same millisecond (or a borrowed future one).
 *   rings, buckets   positions and rows are in the shared buffers: the new thread continues
 *                    at the published write position and in the current second's bucket.
 *
 * Call only after the failed thread's 'exit' (the supervisor restarts after it).
 */
export function prepareResume(metrics: ShardMetrics): { idAfterMs: number } {
  if ((Atomics.load(metrics.control, C_SEQ) & 1) === 1) Atomics.add(metrics.control, C_SEQ, 1);
  return { idAfterMs: metrics.gauges[G_ID_MS]! };
}
