import { TX_ID_EPOCH_MS, TX_ID_SEQUENCE_BITS, TX_ID_WORKER_BITS } from '../shared/tx-id.js';

/**
 * Ids are time-ordered (tx-id.ts: the time a transaction completed, or for an ingested one
 * reached the server), so a time range is an id range: the transactions table is
 * partitioned by id ranges that correspond to days, and time filters use the primary key.
 */

const SHIFT = BigInt(TX_ID_SEQUENCE_BITS + TX_ID_WORKER_BITS);

/** The smallest id minted at epoch ms `ms` (or later). */
export function firstIdAt(ms: number): bigint {
  const since = Math.max(0, Math.floor(ms) - TX_ID_EPOCH_MS);
  return BigInt(since) << SHIFT;
}
