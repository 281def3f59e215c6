import { PulseboardError } from '../errors.js';

/**
 * TEST-ONLY fault switch: makes a thread of one role throw after it has handled N records,
 * so the supervision tests (test/supervise-*.test.ts) can kill a real thread at a chosen
 * point of real work. Not an option and not in the README's table: nothing in production
 * sets it, and it is off by default.
 *
 *   PB_FAULT_THROW=<role>:<records>[:<times>][,<role>:<records>[:<times>]…]
 *     role     shard | writer | ingest | read | fanout (records: ticks published)
 *     records  the thread throws once it has handled this many (shard: completions, in the
 *              middle of a batch, with its seqlock held; writer: rows of committed batches,
 *              after the COMMIT and before the ring slots are released; ingest: items of
 *              committed groups, after the COMMIT and before the answers; read: tasks)
 *     times    how many threads of the role throw, in all (default 1): each new thread,
 *              restarted ones included, counts its own records, and the first `times` to
 *              reach `records` throw. A large value makes every restart fail (give-up test).
 *
 * The primary reads the variable once, at start (faultSwitchFromEnv), and hands each thread
 * its role's FaultSpec in workerData; the `times` budget is a shared Int32 so that restarted
 * threads and piscina's replacements draw from the same budget. When the switch is off the
 * threads get no spec and their check is a comparison with Infinity, once per batch.
 */

export const FAULT_ROLES = ['shard', 'writer', 'ingest', 'read', 'fanout'] as const;
export type FaultRole = (typeof FAULT_ROLES)[number];

export interface FaultSpec {
  role: FaultRole;
  records: number;
  /** Int32Array[1] over this: throws left for the role. */
  budget: SharedArrayBuffer;
}

export type FaultSwitch = Partial<Record<FaultRole, FaultSpec>>;

export const FAULT_ENV = 'PB_FAULT_THROW';

/** Parses PB_FAULT_THROW (once, in the primary). Unset or empty: no faults. */
export function faultSwitchFromEnv(env: NodeJS.ProcessEnv): FaultSwitch {
  const raw = env[FAULT_ENV];
  const out: FaultSwitch = {};
  if (raw === undefined || raw.trim() === '') return out;
  for (const part of raw.split(',')) {
    const m = /^(shard|writer|ingest|read|fanout):(\d{1,12})(?::(\d{1,6}))?$/.exec(part.trim());
    if (!m) {
      throw new PulseboardError(
        'PB_ERR_OPTIONS_INVALID',
        `${FAULT_ENV} (test only) must be <role>:<records>[:<times>] with role one of ${FAULT_ROLES.join(', ')} (got "${part}")`,
      );
    }
    const budget = new SharedArrayBuffer(4);
    new Int32Array(budget)[0] = m[3] === undefined ? 1 : Number(m[3]);
    const role = m[1] as FaultRole;
    out[role] = { role, records: Number(m[2]), budget };
  }
  return out;
}

/**
 * A thread's side of the switch. `remaining` is how many more records it may handle before
 * it must throw (Infinity when off or when the role's budget is spent); `count(n)` records
 * n more and throws when the threshold is reached and this thread wins a share of the budget.
 */
export class FaultTrigger {
  private left: number;

  constructor(private readonly spec: FaultSpec | undefined) {
    this.left = spec === undefined ? Number.POSITIVE_INFINITY : spec.records;
  }

  get remaining(): number {
    return this.left;
  }

  /** `beforeThrow` sets up the state the test wants the thread to die in (e.g. a held lock). */
  count(n: number, beforeThrow?: () => void): void {
    if (this.left === Number.POSITIVE_INFINITY) return;
    this.left -= n;
    if (this.left > 0) return;
    const spec = this.spec!;
    if (Atomics.sub(new Int32Array(spec.budget), 0, 1) <= 0) {
      this.left = Number.POSITIVE_INFINITY; // budget spent by other threads: never again
      return;
    }
    this.left = Number.POSITIVE_INFINITY;
    beforeThrow?.();
    throw new Error(
      `${FAULT_ENV}: ${spec.role} thread throws after ${spec.records} records (test fault)`,
    );
  }
}
