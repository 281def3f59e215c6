import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Options } from '../config/option-specs.js';
import type { DbConfig } from '../db/db-config.js';
import { PulseboardError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Shard } from '../pipeline/shard-pool.js';
import { FeedSampleBuffer } from '../shared/feed-sample.js';
import {
  type IngestInit,
  type IngestMessage,
  type IngestRequest,
  IS_COMMIT_SINCE_MS,
  IS_COUNT,
  IS_FAILED_ATTEMPTS,
  IS_REFUSED_ITEMS,
  IS_REFUSED_REQUESTS,
} from '../shared/ingest-protocol.js';
import { ShardMetrics } from '../shared/metric-buckets.js';
import { C_STOP } from '../shared/shard-protocol.js';
import type { SourceRegistry } from '../shared/source-registry.js';
import { INGEST_WORKER_SLOT, txWorkerId } from '../shared/tx-id.js';
import { TxRing } from '../shared/tx-ring.js';
import { workerEnv } from '../shared/worker-env.js';
import { prepareResume } from '../supervise/resume-state.js';
import type { Supervision } from '../supervise/supervisor.js';

/**
 * The primary's handle on the ingest thread. It looks like one more shard to the snapshot
 * and the tick publisher (`shard`: its own metrics, feed sample and alert ring; a tiny tx ring
 * nobody consumes, since the ingest thread writes to MySQL itself), and forwards request
 * bodies to the thread, resolving each with the thread's answer.
 *
 * When the thread fails, every request waiting on it is answered at once with 503 +
 * Retry-After, and so is every request that arrives until the restarted thread is ready
 * (src/supervise/supervisor.ts). None of them was acknowledged, so none is lost: a group
 * whose COMMIT the failed thread had already sent is in MySQL, and the producer's retry
 * finds it by (source, ref) and gets `duplicate: true` with the original id.
 */

const SCRIPT = fileURLToPath(new URL('../../workers/ingest/ingest-worker.js', import.meta.url));
const ALERT_RING_CAPACITY = 4096;
/** Seconds a producer is told to wait when the ingest thread is down (restarts take < 1 s). */
const DOWN_RETRY_AFTER_S = 1;

export interface IngestAnswer {
  status: number;
  json: string;
  retryAfterS?: number;
}

/** The ingest thread's commit state, for /readyz and the snapshot. */
export interface IngestCommitStatus {
  /** Age of the group commit now running, ms (0 when none). */
  commitAgeMs: number;
  /** Failed attempts of that group so far. */
  failedAttempts: number;
  /** Code of the last failed attempt, if any since start. */
  lastErrorCode: string | null;
  /** Requests and items the database refused for good, since start. */
  refusedRequests: number;
  refusedItems: number;
}

export class IngestService {
  readonly shard: Shard;
  private readonly waiting = new Map<number, (a: IngestAnswer) => void>();
  private nextId = 1;
  private lastErrorCode: string | null = null;
  /** Why the thread is down (failed, restart pending), or undefined while it runs. */
  private down: string | undefined;

  private constructor(
    shard: Shard,
    private readonly statusBlock: Float64Array,
    private readonly init: IngestInit,
    private readonly sources: SourceRegistry,
    private readonly log: Logger,
    private readonly supervision?: Supervision,
  ) {
    this.shard = shard;
  }

  commitStatus(now = Date.now()): IngestCommitStatus {
    const s = this.statusBlock;
    const since = s[IS_COMMIT_SINCE_MS]!;
    return {
      commitAgeMs: since > 0 ? Math.max(0, now - since) : 0,
      failedAttempts: s[IS_FAILED_ATTEMPTS]!,
      lastErrorCode: this.lastErrorCode,
      refusedRequests: s[IS_REFUSED_REQUESTS]!,
      refusedItems: s[IS_REFUSED_ITEMS]!,
    };
  }

  static async start(
    options: Options,
    db: DbConfig,
    shardIndex: number,
    sources: SourceRegistry,
    log: Logger,
    supervision?: Supervision,
  ): Promise<IngestService> {
    const metrics = ShardMetrics.create();
    const feed = FeedSampleBuffer.create(options.feedPerTick);
    const alertRing = TxRing.create(ALERT_RING_CAPACITY);
    alertRing.attachConsumer();
    const statusSab = new SharedArrayBuffer(IS_COUNT * 8);
    const init: IngestInit = {
      db,
      statusSab,
      // Slot 63 of this node (NODE_ID) is reserved for ingest; shards use slots 0..SHARDS-1 ≤ 62 (tx-id.ts).
      idWorker: txWorkerId(options.nodeId ?? 0, INGEST_WORKER_SLOT),
      metricsSab: metrics.sab,
      feedSab: feed.sab,
      feedSize: feed.size,
      alertRingSab: alertRing.sab,
      alertRingCapacity: ALERT_RING_CAPACITY,
      sourcesSab: sources.sab,
      maxItems: options.ingestMaxItems,
      // A body of ingestMaxItems must always fit when nothing is queued.
      maxQueued: Math.max(options.ingestMaxItems, options.ingestMaxQueued),
      fraudAmountThreshold: options.fraudAmountThreshold,
      ...(supervision?.faults.ingest ? { fault: supervision.faults.ingest } : {}),
    };
    const shard: Shard = {
      index: shardIndex,
      worker: undefined as unknown as Worker,
      metrics,
      txRing: TxRing.create(2),
      feed,
      alertRing,
    };
    const service = new IngestService(
      shard,
      new Float64Array(statusSab),
      init,
      sources,
      log,
      supervision,
    );
    await service.spawn(false).ready;
    return service;
  }

  /**
   * Starts the ingest thread; `resume` after a failure (the failed thread has exited): the
   * new one continues in the same buckets and rings and mints ids above the failed one's.
   */
  private spawn(resume: boolean): { worker: Worker; ready: Promise<void> } {
    // A thread that died registering a source must not leave the registry locked.
    if (resume) this.sources.releaseIfHeldBy(this.shard.worker.threadId);
    const init = resume ? { ...this.init, ...prepareResume(this.shard.metrics) } : this.init;
    const worker = new Worker(SCRIPT, { workerData: init, name: 'ingest', env: workerEnv() });
    (this.shard as { worker: Worker }).worker = worker;
    this.supervision?.supervisor.watch(
      {
        role: 'ingest',
        name: 'ingest',
        exitExpected: () => Atomics.load(this.shard.metrics.control, C_STOP) === 1,
        failed: (reason) => this.failed(reason),
        restart: () => this.spawn(true),
      },
      worker,
    );
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: IngestMessage) => this.onMessage(m, resolve));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`ingest thread exited with code ${code}`)));
    });
    ready.catch(() => {}); // after ready, failures are the supervisor's
    if (!this.supervision) {
      // Unsupervised (no restart): still never leave a request hanging on a dead thread.
      worker.once('error', (e) => this.failed(e.message));
      worker.once('exit', (code) => this.failed(`exited with code ${code}`));
    }
    return { worker, ready };
  }

  private onMessage(m: IngestMessage, ready: () => void): void {
    if (m.type === 'ready') {
      this.down = undefined;
      ready();
    } else if (m.type === 'result') {
      const done = this.waiting.get(m.reqId);
      this.waiting.delete(m.reqId);
      done?.(
        m.retryAfterS
          ? { status: m.status, json: m.json, retryAfterS: m.retryAfterS }
          : { status: m.status, json: m.json },
      );
    } else if (m.type === 'refused') {
      // Once per cause: the counter in /metrics says how often.
      this.log.error(
        {
          code: 'PB_ERR_INGEST_REJECTED',
          cause: m.code,
          items: m.items,
          groupRequests: m.groupRequests,
          err: m.message,
        },
        'the database refused an ingest request for good; answered 422 (500 if unclassified), its group went on without it',
      );
    } else if (m.type === 'source-overflow') {
      // Once per name (the thread remembers): /metrics counts every item and name.
      this.log.warn(
        { code: 'PB_ERR_SOURCE_OVERFLOW', source: m.source, sourcesMax: m.capacity },
        `source "${m.source}" is past SOURCES_MAX (${m.capacity} tracked sources): its transactions count under "other" in the live windows (stored with their own name)`,
      );
    } else if (m.type === 'warn') {
      this.lastErrorCode = m.code;
      this.log.warn(
        { code: m.code, attempt: m.attempt, err: m.message },
        'ingest commit failed; retrying with backoff',
      );
    }
  }

  /** The thread failed: answer every waiting request now, and new ones until it is back. */
  private failed(reason: string): void {
    this.down = reason;
    const answer = downAnswer();
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const done of waiting) done(answer);
  }

  /** Hands a body to the ingest thread (transferred, not copied). */
  submit(body: Buffer, ndjson: boolean): Promise<IngestAnswer> {
    if (this.down !== undefined) return Promise.resolve(downAnswer());
    const reqId = this.nextId++;
    // Own the bytes in a transferable buffer of exactly this size.
    const bytes = new Uint8Array(body.byteLength);
    bytes.set(body);
    const msg: IngestRequest = { type: 'ingest', reqId, body: bytes, ndjson };
    return new Promise((resolve) => {
      this.waiting.set(reqId, resolve);
      this.shard.worker.postMessage(msg, [bytes.buffer]);
    });
  }
}

function downAnswer(): IngestAnswer {
  const err = new PulseboardError(
    'PB_ERR_THREAD_DOWN',
    'the ingest thread failed and is restarting; nothing in this request was acknowledged: retry it (retries are idempotent by source and ref)',
    { thread: 'ingest' },
  );
  return {
    status: err.status,
    json: JSON.stringify({ error: err.toJSON() }),
    retryAfterS: DOWN_RETRY_AFTER_S,
  };
}
