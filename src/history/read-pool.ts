import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { type ErrorCode, PulseboardError } from '../errors.js';
import { workerEnv } from '../shared/worker-env.js';
import type { Supervision } from '../supervise/supervisor.js';
import type { ReadResult, ReadTask } from './read-tasks.js';

/**
 * The primary's handle on the piscina read threads (workers/piscina/read-worker.ts): runs a
 * read task and resolves with the response body, or rejects with a PulseboardError carrying
 * the code the thread reported.
 *
 * piscina replaces a crashed thread by itself and rejects the tasks that thread was running.
 * Those reads are answered at once with 503 PB_ERR_THREAD_DOWN (+ Retry-After: reads are
 * safe to retry); /readyz says `read` is down until piscina reports the replacement ready;
 * and read crashes count toward the same give-up rule as the other roles (supervisor.ts).
 */

const SCRIPT = fileURLToPath(new URL('../../workers/piscina/read-worker.js', import.meta.url));
/** Reads waiting for a thread beyond this many get a 503 instead of queueing forever. */
const MAX_QUEUE = 256;
/** piscina's own refusals (queue full, closing): not a crashed thread. */
const PISCINA_REFUSALS = new Set([
  'Task queue is at limit',
  'No task queue available and all Workers are busy',
  'Terminating worker thread',
]);

export class ReadPool {
  private readonly piscina: Piscina<ReadTask, ReadResult>;
  /** One crash rejects every task of the thread with the same error: count it once. */
  private readonly seen = new WeakSet<object>();

  /** Without `supervision`, crashed threads are still replaced by piscina, just not reported. */
  constructor(
    threads: number,
    private readonly supervision?: Supervision,
  ) {
    this.piscina = new Piscina({
      filename: SCRIPT,
      minThreads: 1,
      maxThreads: threads,
      maxQueue: MAX_QUEUE,
      // Idle threads end after a minute; their MySQL pools go with them.
      idleTimeout: 60_000,
      env: workerEnv(),
      workerData: { fault: supervision?.faults.read },
    });
    // A thread that crashes with no task running surfaces here (unhandled, it would take
    // the whole process down).
    this.piscina.on('error', (err: unknown) => this.crashed(err));
    this.piscina.on('workerCreate', () => this.supervision?.health.markUp('read'));
  }

  async run(task: ReadTask): Promise<string> {
    let r: ReadResult;
    try {
      r = await this.piscina.run(task);
    } catch (err) {
      const message = (err as Error).message;
      if (PISCINA_REFUSALS.has(message)) {
        throw new PulseboardError('PB_ERR_DB_UNAVAILABLE', `read not served: ${message}`);
      }
      this.crashed(err);
      throw new PulseboardError(
        'PB_ERR_THREAD_DOWN',
        `the read thread serving this request failed (${message}); retry it`,
        { thread: 'read' },
      );
    }
    if (r.ok) return r.json;
    throw new PulseboardError(
      r.code as ErrorCode,
      r.message,
      r.field === undefined ? undefined : { field: r.field },
    );
  }

  private crashed(err: unknown): void {
    if (typeof err === 'object' && err !== null) {
      if (this.seen.has(err)) return;
      this.seen.add(err);
    }
    const reason = err instanceof Error ? (err.stack ?? err.message) : String(err);
    this.supervision?.supervisor.replacedElsewhere({ role: 'read', name: 'read' }, reason);
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
