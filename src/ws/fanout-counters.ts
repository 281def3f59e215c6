import type { SecurityCounters } from '../http/auth.js';
import { type FanoutShared, STAT_FIELDS, type StatField } from './fanout-layout.js';

/**
 * Counters of the threads that serve /ws, in shared memory (fanout-layout.ts): each thread
 * writes only its own column, the primary sums the columns. So /metrics, the snapshot's
 * `clients` and the tick's "does anyone want this topic" read one figure for the process,
 * however many fan-out threads hold the sockets.
 */

/** One thread's column: what its /ws route counts. */
export class ThreadCounters {
  /** The security counters of this thread's AccessControl, stored in its column. */
  readonly security: SecurityCounters;

  constructor(
    private readonly shared: FanoutShared,
    readonly thread: number,
  ) {
    const security = {} as SecurityCounters;
    for (const field of SECURITY_FIELDS) {
      const at = shared.layout.stat(thread, field);
      Object.defineProperty(security, field, {
        enumerable: true,
        get: () => Atomics.load(shared.i32, at),
        set: (v: number) => Atomics.store(shared.i32, at, v),
      });
    }
    this.security = security;
  }

  add(field: StatField, delta = 1): void {
    Atomics.add(this.shared.i32, this.shared.layout.stat(this.thread, field), delta);
  }

  get(field: StatField): number {
    return Atomics.load(this.shared.i32, this.shared.layout.stat(this.thread, field));
  }

  /** A socket of this thread joined (+1) or left (-1) topic `topicIndex`. */
  subscribers(topicIndex: number, delta: number): void {
    Atomics.add(this.shared.i32, this.shared.layout.topic(this.thread, topicIndex), delta);
  }
}

/** The SecurityCounters fields a /ws route counts (the rest are HTTP-only). */
const SECURITY_FIELDS = STAT_FIELDS.filter(
  (f): f is StatField & keyof SecurityCounters =>
    f !== 'open' && f !== 'accepted' && f !== 'rejectedFrames',
);

/** The primary's sums over every thread's column. */
export class FanoutTotals {
  constructor(private readonly shared: FanoutShared) {}

  sum(field: StatField): number {
    const { i32, layout } = this.shared;
    let n = 0;
    for (let t = 0; t < layout.init.threads; t++) n += Atomics.load(i32, layout.stat(t, field));
    return n;
  }

  /** Open sockets on every thread. */
  get open(): number {
    return this.sum('open');
  }

  get accepted(): number {
    return this.sum('accepted');
  }

  get rejectedFrames(): number {
    return this.sum('rejectedFrames');
  }

  subscribers(topicIndex: number): number {
    const { i32, layout } = this.shared;
    let n = 0;
    for (let t = 0; t < layout.init.threads; t++)
      n += Atomics.load(i32, layout.topic(t, topicIndex));
    return n;
  }

  /** The primary's own counters plus every thread's /ws counters. */
  security(primary: SecurityCounters): SecurityCounters {
    const out = { ...primary };
    for (const field of SECURITY_FIELDS) out[field] += this.sum(field);
    return out;
  }

  /**
   * After thread `t` exited: its sockets are gone. Zeroes its open count and topic counts
   * (cumulative counters stay: the replacement continues them); returns how many were open.
   */
  clearThread(t: number): number {
    const { i32, layout } = this.shared;
    const open = Atomics.exchange(i32, layout.stat(t, 'open'), 0);
    for (let k = 0; k < layout.init.topics; k++) Atomics.store(i32, layout.topic(t, k), 0);
    return open;
  }
}
