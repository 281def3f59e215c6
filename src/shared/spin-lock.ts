/**
 * A lock word in shared memory for critical sections of a few dozen loads and stores
 * (connection-slots.ts, token-buckets.ts). The word holds 0 when free, else the holder's
 * id + 1, so the primary can take over the lock of a thread that died holding it.
 *
 * It spins: a thread must never block on it with Atomics.wait (that stops its event loop,
 * and a fan-out thread's uWS App with it), and the holder is a few stores from done, on
 * another core or after a reschedule. Nothing inside a critical section calls out.
 */
export function spinLock(i32: Int32Array, at: number, holder: number): void {
  while (Atomics.compareExchange(i32, at, 0, holder + 1) !== 0) {
    // Spin.
  }
}

/**
 * Frees the lock if `holder` holds it: its own unlock, and the primary's after thread
 * `holder` exited (it may have died holding it).
 */
export function spinUnlock(i32: Int32Array, at: number, holder: number): void {
  Atomics.compareExchange(i32, at, holder + 1, 0);
}
