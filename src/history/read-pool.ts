import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { type ErrorCode, PulseboardError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { workerEnv } from '../shared/worker-env.js';
import type { Supervision } from '../supervise/supervisor.js';
import { ReadGate, type ReadGateStats } from './read-gate.js';
import {
  type ReadLimits,
  type ReadRequest,
  type ReadResult,
  type ReadTask,
  readsDatabase,
} from './read-tasks.js';

/**
 * The primary's handle on the piscina read threads (workers/piscina/read-worker.ts): runs a
 * read task and resolves with the response body, or rejects with a PulseboardError carrying
 * the code the thread reported. Reads that touch the database pass the ReadGate first (the
 * reads' share: READ_DB_CONNECTIONS running, READ_QUEUE_MAX waiting); in-memory history
 * does not need it. Driver errors reach the log, never the client.
 *
 * piscina replaces a crashed thread by itself and rejects the tasks that thread was running.
 * Those reads are answered at once with 503 PB_ERR_THREAD_DOWN (+ Retry-After: reads are
 * safe to retry); /readyz says `read` is down until piscina reports the replacement ready;
 * and read crashes count toward the same give-up rule as the other roles (supervisor.ts).
 */

const SCRIPT = fileURLToPath(new URL('../../workers/piscina/read-worker.js', import.meta.url));
/** Tasks waiting for a thread beyond this many get a 503 instead of queueing forever. */
const MAX_QUEUE = 256;
/** piscina's own refusals (queue full, closing): not a crashed thread. */
const PISCINA_REFUSALS = new Set([
  'Task queue is at limit',
  'No task queue available and all Workers are busy',
  'Terminating worker thread',
]);

export interface ReadPoolOptions {
  /** READ_THREADS */
  threads: number;
  /** READ_DB_CONNECTIONS */
  dbConnections: number;
  /** READ_QUEUE_MAX */
  queueMax: number;
  /** READ_TIMEOUT_MS */
  timeoutMs: number;
}

/** Retry-After of a read's 503: soon when only busy, later when the database struggles. */
export function readRetryAfter(err: unknown): Record<string, string> {
  if (!(err instanceof PulseboardError) || err.status !== 503) return {};
  return { 'retry-after': err.code === 'PB_ERR_READ_BUSY' ? '1' : '5' };
}

export class ReadPool {
  private readonly piscina: Piscina<ReadTask, ReadResult>;
  private readonly gate: ReadGate;
  private readonly limits: ReadLimits;
  /** One crash rejects every task of the thread with the same error: count it once. */
  private readonly seen = new WeakSet<object>();

  /** Without `supervision`, crashed threads are still replaced by piscina, just not reported. */
  constructor(
    o: ReadPoolOptions,
    private readonly log?: Logger,
    private readonly supervision?: Supervision,
  ) {
    // Database reads wait on I/O, so one thread may run several; together the threads can
    // run every read the gate lets through, each on its own connection.
    const perThread = Math.ceil(o.dbConnections / o.threads);
    this.limits = { timeoutMs: o.timeoutMs, connectionsPerThread: perThread };
    this.gate = new ReadGate(o.dbConnections, o.queueMax, o.timeoutMs);
    this.piscina = new Piscina({
      filename: SCRIPT,
      minThreads: 1,
      maxThreads: o.threads,
      concurrentTasksPerWorker: perThread,
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

  run(request: ReadRequest): Promise<string> {
    const task: ReadTask = { ...request, limits: this.limits };
    return readsDatabase(request) ? this.gate.run(() => this.dispatch(task)) : this.dispatch(task);
  }

  /** The database reads' share right now, and how many reads it refused so far. */
  gateStats(): ReadGateStats {
    return this.gate.stats();
  }

  private async dispatch(task: ReadTask): Promise<string> {
    let r: ReadResult;
    try {
      r = await this.piscina.run(task);
    } catch (err) {
      const message = (err as Error).message;
      if (/queue is at limit/i.test(message))
        throw new PulseboardError('PB_ERR_READ_BUSY', 'the read threads are busy; retry later');
      if (PISCINA_REFUSALS.has(message)) {
        throw new PulseboardError(
          'PB_ERR_DB_UNAVAILABLE',
          'the read could not be served now; retry later',
        );
      }
      this.log?.error({ err: message }, 'a read thread failed');
      this.crashed(err);
      throw new PulseboardError(
        'PB_ERR_THREAD_DOWN',
        'the read thread serving this request failed; retry it',
        { thread: 'read' },
      );
    }
    if (r.ok) return r.json;
    if (r.detail !== undefined) this.log?.warn({ code: r.code, err: r.detail }, 'read failed');
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
