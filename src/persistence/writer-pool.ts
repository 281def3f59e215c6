import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DbConfig } from '../db/db-config.js';
import { rollupWriterId } from '../db/rollup-writers.js';
import type { Logger } from '../log/logger.js';
import type { Shard } from '../pipeline/shard-pool.js';
import type { TxRing } from '../shared/tx-ring.js';
import { workerEnv } from '../shared/worker-env.js';
import {
  W_CONTROL_INTS,
  W_DRAIN,
  type WriterInit,
  type WriterMessage,
  WS_CONNECTED,
  WS_ERRORS,
  WS_QUARANTINED,
  WS_RETRYING_SINCE_MS,
  WS_ROWS,
  WS_STATS_COUNT,
  writerBlockBytes,
} from '../shared/writer-protocol.js';
import type { Supervision } from '../supervise/supervisor.js';

/**
 * The primary's side of the MySQL writers: claims a consumer slot on every shard ring
 * before the shard starts (so no completed record can slip past), starts the writer threads,
 * reads their stats for the snapshot, and drains them at shutdown.
 *
 *   shard 0 ring ─┐
 *   shard 2 ring ─┼─► writer 0 ──(connections in flight)──► MySQL
 *   shard 1 ring ─┼─► writer 1 ──►
 *   shard 3 ring ─┘   (ring i → writer i mod W)
 *
 * A writer thread that fails is restarted on the same rings and consumer slots
 * (src/supervise/supervisor.ts), also while draining: its ring slots are released only after
 * COMMIT, so the new thread starts at the released position and re-sends what the failed one
 * held, on the path that skips ids already committed (workers/writer/ring-cursor.ts).
 */

const WRITER_SCRIPT = fileURLToPath(
  new URL('../../workers/writer/writer-worker.js', import.meta.url),
);

export interface WriterPoolOptions {
  db: DbConfig;
  writers: number;
  connections: number;
  batchSize: number;
  flushMs: number;
  sourceNames: readonly string[];
  rowFormat: 'load' | 'insert';
  quarantineFile: string;
  /** NODE_ID (0 outside a cluster): part of the rollup rows' writer id. */
  node: number;
}

interface WriterHandle {
  index: number;
  init: WriterInit;
  worker: Worker;
  control: Int32Array;
  stats: Float64Array;
  rings: { ring: TxRing; consumer: number }[];
  /** Resolves when the writer has exited for good: drained, terminated, or given up on. */
  finished: Promise<void>;
  finish: () => void;
  drained: boolean;
  terminating: boolean;
  /** Code of this writer's last failed attempt. */
  lastErrorCode: string | null;
}

/** A writer that has been retrying one batch (transient errors) since `sinceMs`. */
export interface StuckWriter {
  writer: number;
  retryingMs: number;
  lastErrorCode: string | null;
}

export interface WriterStatus {
  rowsTotal: number;
  connected: number;
  errors: number;
  /** Records completed but not yet committed, all rings. */
  backlog: number;
  /** Fill 0..1 of the fullest ring, as seen by the writers. */
  ringFill: number;
  /** Age of the oldest uncommitted record, ms (0 when none). */
  lagMs: number;
  /** Rows the database refused for good, moved to the quarantine, since start. */
  quarantined: number;
  /** The writer retrying one batch the longest, if any is. */
  longestRetry: StuckWriter | null;
}

export class WriterPool {
  private readonly claimed: { ring: TxRing; consumer: number }[] = [];
  private readonly writers: WriterHandle[] = [];
  /** Causes (and destinations) of quarantined rows already logged at error level. */
  private readonly quarantineCauses = new Set<string>();

  /** Without `supervision` (benchmarks) a failed writer is not restarted. */
  constructor(
    private readonly o: WriterPoolOptions,
    private readonly log: Logger,
    private readonly supervision?: Supervision,
  ) {}

  /** ShardPool start hook: runs for each shard before its thread starts. */
  claimRing(shard: Shard): void {
    this.claimed.push({ ring: shard.txRing, consumer: shard.txRing.attachConsumer() });
  }

  start(): void {
    const count = Math.max(1, Math.min(this.o.writers, this.claimed.length));
    for (let w = 0; w < count; w++) {
      const rings = this.claimed.filter((_, i) => i % count === w);
      const block = new SharedArrayBuffer(writerBlockBytes());
      const init: WriterInit = {
        writerIndex: w,
        rollupWriter: rollupWriterId(this.o.node, w),
        db: this.o.db,
        rings: rings.map((r) => ({
          sab: r.ring.sab,
          capacity: r.ring.capacity,
          consumer: r.consumer,
        })),
        blockSab: block,
        sourceNames: [...this.o.sourceNames],
        batchSize: this.o.batchSize,
        flushMs: this.o.flushMs,
        connections: this.o.connections,
        rowFormat: this.o.rowFormat,
        quarantineFile: this.o.quarantineFile,
        ...(this.supervision?.faults.writer ? { fault: this.supervision.faults.writer } : {}),
      };
      let finish = () => {};
      const finished = new Promise<void>((r) => {
        finish = r;
      });
      const handle: WriterHandle = {
        index: w,
        init,
        worker: undefined as unknown as Worker,
        control: new Int32Array(block, 0, W_CONTROL_INTS),
        stats: new Float64Array(block, W_CONTROL_INTS * 4, WS_STATS_COUNT),
        rings,
        finished,
        finish,
        drained: false,
        lastErrorCode: null,
        terminating: false,
      };
      this.spawn(handle, false);
      this.writers.push(handle);
    }
    this.log.info(
      {
        writers: count,
        connections: this.o.connections,
        batchSize: this.o.batchSize,
        rowFormat: this.o.rowFormat,
      },
      'database writers started',
    );
  }

  /** Starts writer `h`'s thread; `resume` after a failure (the failed thread has exited). */
  private spawn(h: WriterHandle, resume: boolean): { worker: Worker; ready: Promise<void> } {
    if (resume) {
      // The failed thread's connections died with it, and so did the batch it was retrying.
      h.stats[WS_CONNECTED] = 0;
      h.stats[WS_RETRYING_SINCE_MS] = 0;
    }
    const worker = new Worker(WRITER_SCRIPT, {
      workerData: resume ? { ...h.init, resume: true } : h.init,
      name: `writer-${h.index}`,
      env: workerEnv(),
    });
    h.worker = worker;
    const watch = this.supervision?.supervisor.watch(
      {
        role: 'writer',
        name: `writer ${h.index}`,
        exitExpected: () => h.drained || h.terminating,
        failed: () => {},
        restart: () => this.spawn(h, true),
        gaveUp: () => h.finish(),
      },
      worker,
    );
    // Unsupervised, any exit is final; supervised, only the one we asked for.
    worker.once('exit', () => {
      if (!watch || h.drained || h.terminating) h.finish();
    });
    const ready = new Promise<void>((resolve) => {
      worker.on('message', (m: WriterMessage) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'error') watch?.fail(m.message);
        else this.onMessage(h, m);
      });
    });
    return { worker, ready };
  }

  private onMessage(h: WriterHandle, m: WriterMessage): void {
    if (m.type === 'warn') {
      h.lastErrorCode = m.code;
      this.log.warn(
        { writer: m.writerIndex, code: m.code, attempt: m.attempt, err: m.message },
        'database write failed; retrying with backoff',
      );
    } else if (m.type === 'quarantined') {
      // Once per cause and destination: /metrics counts every row
      // (pulseboard_db_rows_quarantined_total); a switch to the file is news.
      const key = `${m.code} ${m.where}`;
      if (!this.quarantineCauses.has(key)) {
        this.quarantineCauses.add(key);
        this.log.error(
          {
            writer: m.writerIndex,
            code: 'PB_ERR_DB_QUARANTINED',
            cause: m.code,
            where: m.where,
            err: m.message,
          },
          m.where === 'table'
            ? 'the database refused a row for good; it is in the quarantine table, the writer goes on'
            : `the database refused a row for good and the quarantine table could not take it; it is in ${this.o.quarantineFile}, the writer goes on`,
        );
      }
    } else if (m.type === 'drained') {
      h.drained = true;
    }
  }

  status(now = Date.now()): WriterStatus {
    let rowsTotal = 0;
    let connected = 0;
    let errors = 0;
    let quarantined = 0;
    let longestRetry: StuckWriter | null = null;
    for (const [i, w] of this.writers.entries()) {
      rowsTotal += w.stats[WS_ROWS]!;
      connected += w.stats[WS_CONNECTED]!;
      errors += w.stats[WS_ERRORS]!;
      quarantined += w.stats[WS_QUARANTINED]!;
      const since = w.stats[WS_RETRYING_SINCE_MS]!;
      const retryingMs = since > 0 ? Math.max(0, now - since) : 0;
      if (since > 0 && (longestRetry === null || retryingMs > longestRetry.retryingMs))
        longestRetry = { writer: i, retryingMs, lastErrorCode: w.lastErrorCode };
    }
    let backlog = 0;
    let ringFill = 0;
    let oldest = now;
    for (const { ring, consumer } of this.claimed) {
      const n = ring.available(consumer);
      if (n <= 0) continue;
      backlog += n;
      ringFill = Math.max(ringFill, n / ring.capacity);
      const at = ring.f.completedAt[ring.readPos(consumer) & ring.mask]!;
      if (at > 0 && at < oldest) oldest = at;
    }
    return {
      rowsTotal,
      connected,
      errors,
      backlog,
      ringFill,
      lagMs: Math.max(0, now - oldest),
      quarantined,
      longestRetry,
    };
  }

  /**
   * Asks every writer to commit what is in its rings and exit (call after the producers
   * stopped). Resolves with what is still uncommitted when the writers finished or the
   * timeout passed; the threads are terminated in the latter case.
   */
  async drain(timeoutMs: number): Promise<{ complete: boolean; backlog: number; rows: number }> {
    for (const w of this.writers) {
      Atomics.store(w.control, W_DRAIN, 1);
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(true), timeoutMs);
    });
    const finished = Promise.all(this.writers.map((w) => w.finished)).then(() => false);
    const late = await Promise.race([finished, timedOut]);
    clearTimeout(timer);
    const st = this.status();
    if (late) {
      for (const w of this.writers) w.terminating = true;
      await Promise.all(this.writers.map((w) => w.worker.terminate()));
    }
    return { complete: !late && st.backlog === 0, backlog: st.backlog, rows: st.rowsTotal };
  }
}
