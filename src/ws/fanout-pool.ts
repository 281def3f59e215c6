import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Options } from '../config/option-specs.js';
import { PulseboardError } from '../errors.js';
import type { AuthThrottle } from '../security/auth-throttle.js';
import type { SourceRegistry } from '../shared/source-registry.js';
import { workerEnv } from '../shared/worker-env.js';
import type { Supervision } from '../supervise/supervisor.js';
import type { ConnectionSlots } from './connection-slots.js';
import type { FanoutTotals } from './fanout-counters.js';
import type { FanoutShared } from './fanout-layout.js';
import type { FanoutInit, FromFanout, ToFanout } from './fanout-protocol.js';
import type { FrameSink, Frames } from './partitioned-publisher.js';

/**
 * The fan-out threads (WS_THREADS > 1), seen from the primary: starts them on WS_PORT,
 * hands each tick's frames to all of them, supervises them like shards, and stops them.
 *
 *   TickPublisher ──frames (once per tick)──► fan-out 0 ──app.publish──► its clients
 *                                        └──► fan-out 1 ──app.publish──► its clients
 *
 * A fan-out thread that fails has closed its App first (the process would abort
 * otherwise), so its clients were disconnected and reconnect — to any thread, the kernel
 * picks. Once it has exited, its share of the shared counters is taken out
 * (connection-slots.ts, fanout-counters.ts) and a new thread starts on the same port and
 * the same shared memory. Nothing is lost but the frames those clients miss while they
 * reconnect, which they see as a `seq` gap and refetch (like a network blip).
 */

const FANOUT_SCRIPT = fileURLToPath(
  new URL('../../workers/fanout/fanout-worker.js', import.meta.url),
);
/** How long a thread may take to close its App and end before it is left to the exit. */
const STOP_TIMEOUT_MS = 5000;

interface FanoutThread {
  readonly index: number;
  worker: Worker;
  stopping: boolean;
}

export class FanoutPool implements FrameSink {
  private readonly threads: FanoutThread[] = [];
  private stopping = false;
  private pagePort = 0;
  readonly busy = false;

  constructor(
    private readonly options: Options,
    private readonly shared: FanoutShared,
    private readonly totals: FanoutTotals,
    /** The primary's view of the slots, for taking a dead thread's share out. */
    private readonly slots: ConnectionSlots,
    /** The primary's wrong-token buckets: every thread takes from the same table. */
    private readonly auth: AuthThrottle,
    /** Its buffer goes to every thread: they check `source/<name>` subscriptions against it. */
    private readonly sources: SourceRegistry,
    readonly port: number,
    private readonly supervision: Supervision,
  ) {}

  /** `pagePort`: PORT as listened on (the dashboard's origin). */
  async start(pagePort: number): Promise<void> {
    this.pagePort = pagePort;
    const ready: Promise<void>[] = [];
    for (let index = 0; index < this.options.wsThreads; index++) {
      const t: FanoutThread = { index, worker: undefined as unknown as Worker, stopping: false };
      this.threads.push(t);
      ready.push(this.spawn(t).ready);
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Every thread gets the same frames (structured clone of the strings, a few KB). */
  publish(frames: Frames, done: (costMs: number) => void): void {
    const started = performance.now();
    const m: ToFanout = { type: 'frames', frames };
    for (const t of this.threads) if (!t.stopping) t.worker.postMessage(m);
    done(performance.now() - started);
  }

  /** Closes every thread's App (its clients are disconnected), then lets the threads end. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.threads.map(async (t) => {
        t.stopping = true;
        if (t.worker.threadId === -1) return; // already gone
        let timer: NodeJS.Timeout | undefined;
        const exited = new Promise<boolean>((r) => t.worker.once('exit', () => r(true)));
        const late = new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), STOP_TIMEOUT_MS);
        });
        t.worker.postMessage({ type: 'stop' } satisfies ToFanout);
        // A thread that does not end is left to the process exit, never terminate()d: a
        // terminated thread with a live App aborts the process.
        if (!(await Promise.race([exited, late]))) t.worker.unref();
        clearTimeout(timer);
      }),
    );
  }

  private spawn(t: FanoutThread): { worker: Worker; ready: Promise<void> } {
    const init: FanoutInit = {
      thread: t.index,
      layout: this.shared.layout.init,
      sharedSab: this.shared.i32.buffer as SharedArrayBuffer,
      sourcesSab: this.sources.sab,
      authSab: this.auth.sab,
      options: this.options,
      port: this.port,
      pagePort: this.pagePort,
      ...(this.supervision.faults.fanout ? { fault: this.supervision.faults.fanout } : {}),
    };
    const worker = new Worker(FANOUT_SCRIPT, {
      workerData: init,
      name: `fanout-${t.index}`,
      env: workerEnv(),
    });
    t.worker = worker;
    const watch = this.supervision.supervisor.watch(
      {
        role: 'fanout',
        name: `fanout ${t.index}`,
        exitExpected: () => t.stopping || this.stopping,
        failed: () => {},
        restart: () => {
          // The failed thread has exited: its sockets are gone, take its share out.
          this.slots.releaseThread(t.index, this.totals.clearThread(t.index));
          this.auth.releaseThread(t.index);
          return this.spawn(t);
        },
      },
      worker,
    );
    const ready = new Promise<void>((resolve, reject) => {
      const failed = (message: string) =>
        reject(new PulseboardError('PB_ERR_WORKER_FAILED', `fanout ${t.index}: ${message}`));
      worker.on('message', (m: FromFanout) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'error') {
          watch.fail(m.message);
          failed(m.message);
        }
      });
      worker.once('error', (e) => failed(e.message));
      worker.once('exit', (code) => failed(`exited with code ${code}`));
    });
    ready.catch(() => {});
    return { worker, ready };
  }
}
