import {
  IS_COMMIT_SINCE_MS,
  IS_DEADLOCKS,
  IS_FAILED_ATTEMPTS,
} from '../../src/shared/ingest-protocol.js';

/**
 * The commit slots of the status block (ingest-protocol.ts) when several group commits run at
 * once (INGEST_COMMITS_IN_FLIGHT). The primary reads one age and one failure count: it needs
 * to know whether the thread is committing (ingest-outbox.ts batches its hand-off then) and
 * whether a commit is stuck (/readyz, READY_MAX_LAG_MS). So the block shows the OLDEST
 * running commit's start — a stuck group stays visible however many others pass it — and
 * the failed attempts of all running groups (in an outage every one of them fails).
 *
 *   slot:        0            1
 *   since ms:   [t0 ]        [t1 ]       → IS_COMMIT_SINCE_MS = min(t0, t1) of running slots
 *   failed:     [ 2 ]        [ 1 ]       → IS_FAILED_ATTEMPTS = 3
 */
export class CommitStatus {
  private readonly since: number[];
  private readonly failed: number[];

  constructor(
    private readonly status: Float64Array,
    slots: number,
  ) {
    this.since = new Array<number>(slots).fill(0);
    this.failed = new Array<number>(slots).fill(0);
  }

  begin(slot: number, nowMs: number): void {
    this.since[slot] = nowMs;
    this.failed[slot] = 0;
    this.publish();
  }

  attemptFailed(slot: number, deadlock: boolean): void {
    this.failed[slot]!++;
    if (deadlock) this.status[IS_DEADLOCKS]!++;
    this.publish();
  }

  end(slot: number): void {
    this.since[slot] = 0;
    this.failed[slot] = 0;
    this.publish();
  }

  private publish(): void {
    let oldest = 0;
    let failed = 0;
    for (let i = 0; i < this.since.length; i++) {
      const t = this.since[i]!;
      if (t > 0 && (oldest === 0 || t < oldest)) oldest = t;
      failed += this.failed[i]!;
    }
    this.status[IS_COMMIT_SINCE_MS] = oldest;
    this.status[IS_FAILED_ATTEMPTS] = failed;
  }
}
