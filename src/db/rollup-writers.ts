/**
 * The `writer` column of rollup_seconds and rollup_latency (schema.ts): every thread that
 * upserts rollups owns its own rows, so two threads never wait on each other's row locks
 * (or deadlock on them). The nodes of a cluster share one database, so the id carries the
 * node too:
 *
 *   writer = node × 1024 + local     local: a batch writer's index 0…, or 1000 for the
 *                                    ingest thread
 *
 * SMALLINT UNSIGNED holds it for nodes 0…63 (ids allow 16 nodes: tx-id.ts). Readers sum
 * over the column (rollup-read.ts), so the ids never change what a reader sees.
 */
export const INGEST_LOCAL_WRITER = 1000;
const PER_NODE = 1024;

export function rollupWriterId(node: number, local: number): number {
  if (!Number.isInteger(node) || node < 0 || node > 63) throw new Error(`node ${node}: 0…63`);
  if (!Number.isInteger(local) || local < 0 || local >= PER_NODE) {
    throw new Error(`rollup writer ${local}: 0…${PER_NODE - 1}`);
  }
  return node * PER_NODE + local;
}
