import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DbConfig } from '../db/db-config.js';
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

/**
 * The primary's side of the MySQL writers: claims a consumer slot on every shard ring
 * before the shard starts (so no completed record can slip past), starts the writer threads,
 * reads their stats for the snapshot, and drains them at shutdown.
 *
 *   shard 0 ring ─┐
 *   shard 2 ring ─┼─► writer 0 ──(connections in flight)──► MySQL
 *   shard 1 ring ─┼─► writer 1 ──►
 *   shard 3 ring ─┘   (ring i → writer i mod W)
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
}

interface WriterHandle {
  worker: Worker;
  control: Int32Array;
  stats: Float64Array;
  rings: { ring: TxRing; consumer: number }[];
  exited: Promise<void>;
  drained: boolean;
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
  onFatal: (message: string) => void = () => {};

  constructor(
    private readonly o: WriterPoolOptions,
    private readonly log: Logger,
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
      };
      const worker = new Worker(WRITER_SCRIPT, {
        workerData: init,
        name: `writer-${w}`,
        env: workerEnv(),
      });
      const handle: WriterHandle = {
        worker,
        control: new Int32Array(block, 0, W_CONTROL_INTS),
        stats: new Float64Array(block, W_CONTROL_INTS * 4, WS_STATS_COUNT),
        rings,
        exited: new Promise((r) => worker.once('exit', () => r())),
        drained: false,
        lastErrorCode: null,
      };
      worker.on('message', (m: WriterMessage) => this.onMessage(handle, m));
      worker.on('error', (e) => this.onFatal(`writer ${w}: ${e.message}`));
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
    } else if (m.type === 'error') {
      this.onFatal(`writer ${m.writerIndex}: ${m.message}`);
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
    const finished = Promise.all(this.writers.map((w) => w.exited)).then(() => false);
    const late = await Promise.race([finished, timedOut]);
    clearTimeout(timer);
    const st = this.status();
    if (late) await Promise.all(this.writers.map((w) => w.worker.terminate()));
    return { complete: !late && st.backlog === 0, backlog: st.backlog, rows: st.rowsTotal };
  }
}
