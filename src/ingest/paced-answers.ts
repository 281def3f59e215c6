import { performance } from 'node:perf_hooks';

/**
 * Answers of the ingest thread's group commits, written a bounded slice per loop turn.
 *
 * One group commit answers every request that waited for it: at 256 keep-alive connections,
 * up to 256 at once. Writing an answer costs the primary ~20–28 µs (the corked write and
 * its send() on that socket), so a whole group in one turn held the loop 5–7 ms: part of
 * the primary's event-loop delay p99 (bar: < 5 ms), the young generation's scavenges being
 * the larger part (profiles/README.md). Here a turn writes answers for at most SLICE_MS,
 * then yields with setImmediate: timers, the WebSocket tick and the sockets' reads (uWS
 * polls between two immediates) run in between. The total work is the same; the last
 * answer of a group leaves a few turns later.
 *
 *   results message ─► queue [r r r r r r r r r r r r …]
 *                              └ turn 1 ┘└ turn 2 ┘└ …   each ≤ SLICE_MS, setImmediate between
 *
 * The first slice is written in the turn the message arrives in, so a small group (the
 * common case below saturation) is answered exactly as before.
 */

/** Longest a turn writes answers for (the loop's other work runs between two slices). */
export const SLICE_MS = 1;
/** Answers written between two looks at the clock (performance.now() is cheap, not free). */
const CLOCK_EVERY = 8;

export class PacedAnswers<T> {
  /**
   * One array for the life of the service, its written places cleared: a fresh array per
   * group, once promoted, kept every answer it had held alive through the young
   * generation's scavenges until the next mark-compact (pending-requests.ts explains why).
   */
  private readonly queue: (T | undefined)[] = [];
  private head = 0;
  private scheduled = false;

  constructor(
    private readonly write: (result: T) => void,
    private readonly sliceMs = SLICE_MS,
  ) {}

  /** Queues a group's answers and writes the first slice now (unless a slice is pending). */
  add(results: readonly T[]): void {
    for (const r of results) this.queue.push(r);
    if (!this.scheduled) this.drain();
  }

  /** Writes every queued answer now (the thread failed: nothing more will come). */
  writeAll(): void {
    while (this.head < this.queue.length) {
      const r = this.queue[this.head]!;
      this.queue[this.head++] = undefined;
      this.write(r);
    }
    this.clear();
  }

  private clear(): void {
    this.queue.length = 0;
    this.head = 0;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  private readonly next = () => {
    this.scheduled = false;
    if (this.head < this.queue.length) this.drain();
  };

  private drain(): void {
    const end = performance.now() + this.sliceMs;
    let written = 0;
    while (this.head < this.queue.length) {
      // Advanced before the write: a write that throws is not written twice.
      const r = this.queue[this.head]!;
      this.queue[this.head++] = undefined;
      this.write(r);
      if (++written % CLOCK_EVERY === 0 && performance.now() >= end) break;
    }
    if (this.head < this.queue.length) {
      this.scheduled = true;
      setImmediate(this.next);
    } else {
      this.clear();
    }
  }
}
