/**
 * The seqlock and the seal that make the primary's reads of a writer thread's metric buckets
 * (metric-buckets.ts) exact. One writer thread per ShardMetrics (a simulator shard or the
 * ingest thread), one reader (the primary).
 *
 *   writer (publish, once per loop)          reader (primary)
 *   ───────────────────────────────          ─────────────────────────────────────────────
 *   Atomics.add(SEQ, 1)   → odd              s0 = Atomics.load(SEQ); odd → retry
 *   sealed = load(SEALED)                    copy open rows + gauges (plain reads)
 *   rows[second > sealed] += private delta   Atomics.add(SEQ, 0) === s0 ? consistent : retry
 *   totals += delta; gauges = counters
 *   Atomics.add(SEQ, 1)   → even             closing second s: store(SEALED, s), then one
 *                                            load(SEQ) that is even → rows ≤ s are final
 *
 * Why this is exact:
 * - A writer accumulates a batch in private memory and holds the lock only to add one
 *   delta row per second (microseconds, whatever the batch size), so readers rarely retry.
 * - Atomics operations are sequentially consistent and synchronize: the reader's first
 *   load of SEQ reads the value written by the writer's closing add, so every plain write
 *   of that and every earlier publish happens-before the reader's plain reads.
 * - The re-check is an Atomics read-modify-write (add 0), not a load: the ECMAScript memory
 *   model orders nothing between plain reads and a later atomic load, but V8 emits an RMW
 *   as `lock xadd` on x86-64 (a full fence) and as an ldaxr/stlxr loop on arm64 (its
 *   release half cannot complete before the plain reads above it), so an unchanged SEQ
 *   proves that no publish overlapped the copy. On those platforms a torn copy (rows from
 *   two publishes, or half a float64) is always detected; the reader then retries and, if
 *   no attempt succeeds, leaves this writer out of the snapshot (never a stale copy).
 * - Sealing: the primary stores SEALED = s before it folds second s into its windows. A
 *   publish loads SEALED after its opening add and moves any delta for a second ≤ SEALED
 *   to SEALED + 1 (counted as shifted). Once the primary has loaded an even SEQ after its
 *   store, every publish still to come starts after that load and so sees the seal, and
 *   every earlier one has finished: rows ≤ s are final and are read without retries.
 * - A reset rewrites every row (closed ones too) under the same lock, and only when the
 *   primary asked for it (RESET ≠ RESET_ACK until done), so the reader skips a writer while
 *   its reset is pending and never folds a half-cleared row.
 *
 * Epoch seconds do not fit an Int32Array past 2038, so SEALED holds seconds since
 * SECOND_BASE (2020-09-13; good until 2088).
 */

import { C_RESET, C_RESET_ACK, C_SEALED, C_SEQ, SECOND_BASE } from './shard-protocol.js';

/** Writer: opens a publish (SEQ odd). */
export function beginWrite(control: Int32Array): void {
  Atomics.add(control, C_SEQ, 1);
}

/** Writer: closes a publish (SEQ even again). */
export function endWrite(control: Int32Array): void {
  Atomics.add(control, C_SEQ, 1);
}

/**
 * Writer, at start: a previous thread on this memory may have died mid-publish and left
 * SEQ odd, which readers would take for a publish that never ends.
 */
export function repairAfterRestart(control: Int32Array): void {
  if ((Atomics.load(control, C_SEQ) & 1) === 1) Atomics.add(control, C_SEQ, 1);
}

/** Reader: the sequence to validate a copy against, or -1 while a publish is in progress. */
export function readStart(control: Int32Array): number {
  const seq = Atomics.load(control, C_SEQ);
  return (seq & 1) === 1 ? -1 : seq;
}

/** Reader: true when no publish overlapped the copy begun at `start` (see the header). */
export function readValid(control: Int32Array, start: number): boolean {
  return Atomics.add(control, C_SEQ, 0) === start;
}

/** True while the primary's reset request has not been applied by the writer. */
export function resetPending(control: Int32Array): boolean {
  return Atomics.load(control, C_RESET) !== Atomics.load(control, C_RESET_ACK);
}

/** Last second sealed by the primary: nothing may be added to it or to any before it. */
export function sealedThrough(control: Int32Array): number {
  return Atomics.load(control, C_SEALED) + SECOND_BASE;
}

/** Primary: seals every second up to `second` (never moves the seal back). */
export function seal(control: Int32Array, second: number): void {
  const v = second - SECOND_BASE;
  if (Atomics.load(control, C_SEALED) < v) Atomics.store(control, C_SEALED, v);
}
