import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Options } from '../config/option-specs.js';
import type { DbConfig } from '../db/db-config.js';
import { INGEST_LOCAL_WRITER, rollupWriterId } from '../db/rollup-writers.js';
import { PulseboardError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { WindowThread } from '../pipeline/window-thread.js';
import { FeedSampleBuffer } from '../shared/feed-sample.js';
import {
  type IngestInit,
  type IngestMessage,
  type IngestResult,
  IS_COMMIT_SINCE_MS,
  IS_COUNT,
  IS_DEADLOCKS,
  IS_FAILED_ATTEMPTS,
  IS_REFUSED_ITEMS,
  IS_REFUSED_REQUESTS,
  PART_ABORT,
  PART_GZIP,
  PART_LAST,
  PART_NDJSON,
  PART_OPEN,
} from '../shared/ingest-protocol.js';
import { ShardMetrics } from '../shared/metric-buckets.js';
import { C_STOP } from '../shared/shard-protocol.js';
import type { SourceRegistry } from '../shared/source-registry.js';
import { INGEST_WORKER_SLOT, txWorkerId } from '../shared/tx-id.js';
import { TxRing } from '../shared/tx-ring.js';
import { workerEnv } from '../shared/worker-env.js';
import { prepareResume } from '../supervise/resume-state.js';
import type { Supervision } from '../supervise/supervisor.js';
import { ingestQueueBytes } from './http/queue-budget.js';
import { IngestOutbox } from './ingest-outbox.js';
import { PacedAnswers } from './paced-answers.js';
import { PendingRequests } from './pending-requests.js';
import { streamDoorConfig } from './stream/stream-config.js';
import {
  createStreamStatus,
  readStreamStatus,
  type StreamFigures,
} from './stream/stream-status.js';

/**
 * The primary's handle on the ingest thread, where every door (HTTP: ./http/; a stream) leads.
 * To the snapshot and the tick publisher it is one more window thread (`shard`: its own
 * metrics, feed sample and alert ring, and no tx ring: it writes to MySQL itself). It
 * streams request bodies to the thread (ingest-outbox.ts) and answers each request with the
 * thread's result.
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
/**
 * The ingest thread's young generation may grow to this (V8 grows it only while scavenges
 * keep finding many survivors, so an idle thread stays small). Everything a held message
 * owns lives until its COMMIT, a few hundred ms: with the default (16 MB semi-spaces) tens
 * of thousands of held messages outgrow it and are copied and promoted over and over.
 * Draining 300,000 one-transaction stream messages, the thread's GC time was 1.9–2.3 s in
 * three runs without this, 1.2–1.7 s in three with it (profiles/README.md, JetStream ingest).
 */
const YOUNG_GENERATION_MB = 128;

/** Who waits for a request's answer (the HTTP door: http/ingest-request.ts). */
export interface IngestWaiter {
  /** The answer, exactly once; `retryAfterS` 0: no Retry-After. */
  answered(status: number, json: string, retryAfterS: number): void;
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
  /** Attempts retried after the database chose them as a deadlock victim, since start. */
  deadlockRetries: number;
}

export class IngestService {
  readonly shard: WindowThread;
  /** Requests sent on to the thread and not answered yet (reused slots: pending-requests.ts). */
  private readonly waiting = new PendingRequests<IngestWaiter>();
  private readonly outbox = new IngestOutbox(
    (m, transfer) => this.shard.worker.postMessage(m, transfer),
    () => this.statusBlock[IS_COMMIT_SINCE_MS]! > 0,
  );
  /** A group's answers, a bounded slice per loop turn (paced-answers.ts). */
  private readonly answers = new PacedAnswers<IngestResult>((r) => this.answer(r));
  private lastErrorCode: string | null = null;
  /** The JetStream door's last warning or error, cleared by its next info line. */
  private streamProblem: string | undefined;
  /** Why the thread is down (failed, restart pending), or undefined while it runs. */
  private down: string | undefined;

  private constructor(
    shard: WindowThread,
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
      deadlockRetries: s[IS_DEADLOCKS]!,
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
      rollupWriter: rollupWriterId(options.nodeId ?? 0, INGEST_LOCAL_WRITER),
      metricsSab: metrics.sab,
      feedSab: feed.sab,
      feedSize: feed.size,
      alertRingSab: alertRing.sab,
      alertRingCapacity: ALERT_RING_CAPACITY,
      sourcesSab: sources.sab,
      maxItems: options.ingestMaxItems,
      commitsInFlight: options.ingestCommitsInFlight,
      overlapMinItems: options.ingestOverlapMinItems,
      bodyLimit: options.ingestBodyLimit,
      maxQueuedBytes: ingestQueueBytes(options),
      // A body of ingestMaxItems must always fit when nothing is queued.
      maxQueued: Math.max(options.ingestMaxItems, options.ingestMaxQueued),
      fraudAmountThreshold: options.fraudAmountThreshold,
      ...(supervision?.faults.ingest ? { fault: supervision.faults.ingest } : {}),
    };
    const stream = streamDoorConfig(options, createStreamStatus());
    if (stream) init.stream = stream;
    const shard: WindowThread = {
      index: shardIndex,
      worker: undefined as unknown as Worker,
      metrics,
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
    const worker = new Worker(SCRIPT, {
      workerData: init,
      name: 'ingest',
      env: workerEnv(),
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
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
    } else if (m.type === 'results') {
      // A commit just ended: what waits for the next group goes now.
      this.outbox.flush();
      this.answers.add(m.results);
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
    } else if (m.type === 'stream') {
      this.streamProblem = m.level === 'info' ? undefined : `${m.code}: ${m.message}`;
      this.log[m.level]({ code: m.code, stream: this.init.stream?.stream }, m.message);
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
    // Results the thread sent before it failed are committed: they get their real answer.
    this.answers.writeAll();
    const json = downJson();
    const waiting = this.waiting.drain();
    this.outbox.clear();
    for (const w of waiting) w.answered(503, json, DOWN_RETRY_AFTER_S);
  }

  /** The JetStream door's figures (snapshot `stream`), null when INGEST_STREAM is off. */
  streamFigures(): StreamFigures | null {
    const sab = this.init.stream?.statusSab;
    return sab ? readStreamStatus(new Float64Array(sab)) : null;
  }

  /** Why the JetStream door is not consuming (for /readyz), or null. */
  streamNotReady(): string | null {
    const f = this.streamFigures();
    if (f === null || f.state === 'consuming') return null;
    return `stream ingest ${f.state} since ${new Date(f.stateSince).toISOString()}${this.streamProblem ? ` (${this.streamProblem})` : ''}`;
  }

  private answer(r: IngestResult): void {
    const w = this.waiting.get(r.reqId);
    if (w === undefined) return; // aborted meanwhile
    this.waiting.delete(r.reqId);
    w.answered(r.status, r.json, r.retryAfterS ?? 0);
  }

  /**
   * Starts a request: its body follows with part(); `waiter` gets the thread's answer (after
   * the COMMIT, or a refusal), exactly once, unless abort() comes first.
   */
  open(ndjson: boolean, gzip: boolean, waiter: IngestWaiter): number {
    if (this.down !== undefined) {
      waiter.answered(503, downJson(), DOWN_RETRY_AFTER_S);
      return 0; // waits for nothing: part() and abort() find no such request
    }
    return this.waiting.add(
      waiter,
      PART_OPEN | (ndjson ? PART_NDJSON : 0) | (gzip ? PART_GZIP : 0),
    );
  }

  /** A chunk of the body of request `reqId` (copied; sent with this loop turn's others). */
  part(reqId: number, chunk: ArrayBuffer, last: boolean): void {
    const open = this.waiting.takeOpening(reqId);
    if (open === -1) return;
    this.outbox.add(reqId, chunk, open | (last ? PART_LAST : 0));
  }

  /** The client went away, or the primary refused the rest: no answer is wanted. */
  abort(reqId: number): void {
    const open = this.waiting.delete(reqId);
    // Not waiting, or never sent (the thread never heard of it).
    if (open !== 0) return;
    this.outbox.add(reqId, null, PART_ABORT);
  }
}

function downJson(): string {
  const err = new PulseboardError(
    'PB_ERR_THREAD_DOWN',
    'the ingest thread failed and is restarting; nothing in this request was acknowledged: retry it (retries are idempotent by source and ref)',
    { thread: 'ingest' },
  );
  return JSON.stringify({ error: err.toJSON() });
}
