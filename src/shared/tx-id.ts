/**
 * 64-bit transaction ids, Snowflake-style, so ids from different shards and nodes never
 * collide and sort by the time they were minted:
 *
 *   63            22 21      12 11          0
 *   +---------------+----------+------------+
 *   | ms since epoch |  node ×  |  sequence  |
 *   |  (42 bits)     |  shard   |  (12 bits) |
 *   +---------------+----------+------------+
 *
 * That time is when the transaction completed (a simulator shard mints the id then, not at
 * creation) or, for an ingested one, when it reached the server — never before it
 * completed. So a thread's ids rise in the order its transactions complete, which is the
 * order the writers commit them in: they append at the right edge of the primary key
 * (profiles/README.md, "Persisted pipeline vs the LOAD DATA ceiling"). `created_ms` is a
 * column of its own.
 *
 * The worker keeps the id as two uint32 halves (no BigInt on the hot path); `txIdToString`
 * joins them only for records the primary encodes for clients.
 */

/** Our epoch: 2024-01-01T00:00:00Z. 42 bits of ms last until 2163. */
export const TX_ID_EPOCH_MS = 1_704_067_200_000;
export const TX_ID_SEQUENCE_BITS = 12;
export const TX_ID_WORKER_BITS = 10;
/** How many distinct (node, shard) pairs ids can tell apart. */
export const TX_ID_MAX_WORKERS = 1 << TX_ID_WORKER_BITS;

/**
 * The worker part is node × 64 + slot: 16 nodes, 64 slots per node. Each slot is one id
 * generator, and no two threads may share one (they would mint the same id in the same ms):
 *
 *   slot  0 … 62   simulator shards (shard index = slot), hence SHARDS ≤ 63
 *   slot 63        the node's HTTP ingest thread
 */
export const WORKER_SLOTS_PER_NODE = 64;
export const INGEST_WORKER_SLOT = WORKER_SLOTS_PER_NODE - 1;
export const MAX_SIMULATOR_SHARDS = INGEST_WORKER_SLOT;

/** The 10-bit worker part of the ids minted by thread `slot` of node `node`. */
export function txWorkerId(node: number, slot: number): number {
  if (
    node < 0 ||
    node >= TX_ID_MAX_WORKERS / WORKER_SLOTS_PER_NODE ||
    slot < 0 ||
    slot >= WORKER_SLOTS_PER_NODE
  )
    throw new RangeError(`no id worker for node ${node}, slot ${slot}`);
  return node * WORKER_SLOTS_PER_NODE + slot;
}

const LOW_SHIFT = TX_ID_SEQUENCE_BITS + TX_ID_WORKER_BITS; // 22
const TWO_POW_22 = 2 ** LOW_SHIFT;

/** High 32 bits of the id for a timestamp (ms since TX_ID_EPOCH_MS). */
export function idHigh(msSinceEpoch: number): number {
  return Math.floor(msSinceEpoch / 1024) >>> 0;
}

/** Low 32 bits: the 10 low bits of the ms, then worker, then sequence. */
export function idLow(msSinceEpoch: number, worker: number, sequence: number): number {
  return ((msSinceEpoch & 1023) * TWO_POW_22 + (worker << TX_ID_SEQUENCE_BITS) + sequence) >>> 0;
}

export function txIdToBigInt(high: number, low: number): bigint {
  return (BigInt(high) << 32n) | BigInt(low);
}

export function txIdToString(high: number, low: number): string {
  // high < 2^31 until 2091, so high * 2^32 + low exceeds 2^53; go through BigInt.
  return txIdToBigInt(high, low).toString();
}

export function txIdTimestamp(id: bigint): number {
  return Number(id >> BigInt(LOW_SHIFT)) + TX_ID_EPOCH_MS;
}
