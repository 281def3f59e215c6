import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { type ErrorCode, PulseboardError } from '../errors.js';
import { workerEnv } from '../shared/worker-env.js';
import type { ReadResult, ReadTask } from './read-tasks.js';

/**
 * The primary's handle on the piscina read threads (workers/piscina/read-worker.ts): runs a
 * read task and resolves with the response body, or rejects with a PulseboardError carrying
 * the code the thread reported.
 */

const SCRIPT = fileURLToPath(new URL('../../workers/piscina/read-worker.js', import.meta.url));
/** Reads waiting for a thread beyond this many get a 503 instead of queueing forever. */
const MAX_QUEUE = 256;

export class ReadPool {
  private readonly piscina: Piscina<ReadTask, ReadResult>;

  constructor(threads: number) {
    this.piscina = new Piscina({
      filename: SCRIPT,
      minThreads: 1,
      maxThreads: threads,
      maxQueue: MAX_QUEUE,
      // Idle threads end after a minute; their MySQL pools go with them.
      idleTimeout: 60_000,
      env: workerEnv(),
    });
  }

  async run(task: ReadTask): Promise<string> {
    let r: ReadResult;
    try {
      r = await this.piscina.run(task);
    } catch (err) {
      throw new PulseboardError(
        'PB_ERR_DB_UNAVAILABLE',
        `read not served: ${(err as Error).message}`,
      );
    }
    if (r.ok) return r.json;
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
