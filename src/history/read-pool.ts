import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { type ErrorCode, PulseboardError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { workerEnv } from '../shared/worker-env.js';
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
 */

const SCRIPT = fileURLToPath(new URL('../../workers/piscina/read-worker.js', import.meta.url));
/** Tasks waiting for a thread beyond this many get a 503 instead of queueing forever. */
const MAX_QUEUE = 256;

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

  constructor(
    o: ReadPoolOptions,
    private readonly log?: Logger,
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
    });
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
      this.log?.error({ err: message }, 'a read thread failed');
      throw new PulseboardError('PB_ERR_INTERNAL', 'the read failed; the server log says why');
    }
    if (r.ok) return r.json;
    if (r.detail !== undefined) this.log?.warn({ code: r.code, err: r.detail }, 'read failed');
    throw new PulseboardError(
      r.code as ErrorCode,
      r.message,
      r.field === undefined ? undefined : { field: r.field },
    );
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
