import type { Worker } from 'node:worker_threads';
import type { Logger } from '../log/logger.js';
import type { FaultSwitch } from '../shared/fault-switch.js';
import { RestartPolicy } from './restart-policy.js';
import { firstLine, type ThreadHealth, type ThreadRole } from './thread-health.js';

/**
 * Watches the worker threads the primary owns (shards, writers, the ingest thread) and
 * restarts one that fails, the same way for every role:
 *
 *   'error' event, an error message from the thread, or an exit nobody asked for
 *     1. log at error level naming the thread            (PB_ERR_THREAD_DOWN)
 *     2. /readyz answers 503 naming it                    (ThreadHealth)
 *     3. thread.failed(): whoever waits on it is answered now (503 + Retry-After)
 *   then, once the old thread has exited (never two threads on one ring or seqlock):
 *     4. after a capped backoff, thread.restart(): a new thread resumes from the state the
 *        primary holds (rings, buckets, control block, the database); ready → /readyz 200
 *     5. or, when the role keeps failing (RestartPolicy), onGiveUp: the process exits non-zero
 *
 * Which role resumes from what, and why that is safe, is in ARCHITECTURE.md ("Supervised
 * threads") and next to each role's restart().
 */

export interface ThreadName {
  readonly role: ThreadRole;
  /** Names the thread in logs and in /readyz: 'shard 0', 'writer 1', 'ingest', 'read'. */
  readonly name: string;
}

export interface SupervisedThread extends ThreadName {
  /** True when an exit now is one we asked for (stop, drain): not a failure. */
  exitExpected(): boolean;
  /** The thread failed: answer everything waiting on it, at once. Called once per failure. */
  failed(reason: string): void;
  /**
   * Starts a replacement (after the failed thread exited) and says when it is ready. Like
   * the first thread, the replacement must be watch()ed by its owner before this returns.
   */
  restart(): { worker: Worker; ready: Promise<void> };
  /** The supervisor gave up on this thread (the process is about to exit). */
  gaveUp?(): void;
}

export interface Watch {
  /** A failure the thread reported itself (an 'error' message) before it exits. */
  fail(reason: string): void;
}

export class Supervisor {
  private readonly policies = new Map<string, RestartPolicy>();
  private running = false;
  /** Threads that failed before start(): restarted when supervision starts. */
  private readonly pending: SupervisedThread[] = [];
  /** Called when a thread keeps failing: the process must exit non-zero. */
  onGiveUp: (thread: ThreadName, reason: string) => void = () => {};

  constructor(
    private readonly log: Logger,
    private readonly health: ThreadHealth,
  ) {}

  /**
   * Restarts begin here, once the server is up: a thread that fails during start-up fails
   * the start instead (its owner's ready promise rejects), unless start-up got past it.
   */
  start(): void {
    this.running = true;
    for (const t of this.pending.splice(0)) this.schedule(t, 'failed during start-up');
  }

  watch(t: SupervisedThread, worker: Worker): Watch {
    let failure: string | undefined;
    const fail = (reason: string) => {
      if (failure !== undefined) return;
      failure = reason;
      if (t.exitExpected()) {
        this.log.error(
          { role: t.role, thread: t.name, err: reason },
          `${t.name} thread failed while stopping`,
        );
      } else {
        this.log.error(
          { code: 'PB_ERR_THREAD_DOWN', role: t.role, thread: t.name, err: reason },
          `${t.name} thread failed: ${firstLine(reason)}`,
        );
        this.health.markDown(t.name, t.role, reason);
      }
      t.failed(reason);
    };
    worker.on('error', (e: unknown) => {
      fail(e instanceof Error ? (e.stack ?? e.message) : String(e));
    });
    worker.once('exit', (code) => {
      if (failure === undefined) {
        if (t.exitExpected()) return; // the stop or drain we asked for
        fail(`exited with code ${code} without being asked to`);
      }
      if (t.exitExpected()) return; // failed while stopping: nothing to restart
      if (!this.running) this.pending.push(t);
      else this.schedule(t, failure!);
    });
    return { fail };
  }

  /**
   * A thread whose replacement someone else starts (piscina replaces its crashed workers
   * itself): the same error line, /readyz down until the owner marks it up again, and the
   * same give-up rule.
   */
  replacedElsewhere(t: ThreadName, reason: string): void {
    this.log.error(
      { code: 'PB_ERR_THREAD_DOWN', role: t.role, thread: t.name, err: reason },
      `${t.name} thread failed: ${firstLine(reason)}`,
    );
    this.health.markDown(t.name, t.role, reason);
    this.decide(t, reason);
  }

  /** Records a failure of `t`; returns the restart delay, or undefined after giving up. */
  private decide(t: ThreadName & { gaveUp?(): void }, reason: string) {
    let policy = this.policies.get(t.name);
    if (!policy) {
      policy = new RestartPolicy();
      this.policies.set(t.name, policy);
    }
    const d = policy.next(Date.now());
    if (!d.giveUp) return d;
    this.log.fatal(
      {
        code: 'PB_ERR_THREAD_RESTARTS_EXHAUSTED',
        role: t.role,
        thread: t.name,
        failures: d.failures,
        err: reason,
      },
      `${t.name} thread failed ${d.failures} times within a minute; giving up (exit non-zero, for the service manager to restart the process)`,
    );
    t.gaveUp?.();
    this.onGiveUp(t, reason);
    return undefined;
  }

  private schedule(t: SupervisedThread, reason: string): void {
    const d = this.decide(t, reason);
    if (d === undefined) return;
    this.log.warn(
      { role: t.role, thread: t.name, attempt: d.attempt, delayMs: d.delayMs },
      `restarting ${t.name} thread in ${d.delayMs} ms`,
    );
    const timer = setTimeout(() => {
      if (t.exitExpected()) return; // a stop began meanwhile
      let started: { worker: Worker; ready: Promise<void> };
      try {
        started = t.restart();
      } catch (err) {
        // Could not even create the thread: count it as another failure.
        this.schedule(t, (err as Error).message);
        return;
      }
      started.ready.then(
        () => {
          this.health.markUp(t.name);
          this.log.info(
            { role: t.role, thread: t.name, attempt: d.attempt },
            `${t.name} thread restarted`,
          );
        },
        () => {}, // failed before ready: its own watch reports it and schedules again
      );
    }, d.delayMs);
    timer.unref();
  }
}

/** What the thread owners (ShardPool, WriterPool, IngestService, ReadPool) get from the server. */
export interface Supervision {
  readonly supervisor: Supervisor;
  readonly health: ThreadHealth;
  /** The test-only fault switch (src/shared/fault-switch.ts), read once at start. */
  readonly faults: FaultSwitch;
}
