import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Options } from '../config/option-specs.js';
import type { DbConfig } from '../db/db-config.js';
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
import { INGEST_WORKER_SLOT, txWorkerId } from '../shared/tx-id.js';
import { TxRing } from '../shared/tx-ring.js';
import { workerEnv } from '../shared/worker-env.js';

/**
 * The primary's handle on the ingest thread. It looks like one more shard to the snapshot
 * and the tick publisher (`shard`: its own metrics, feed sample and alert ring; a tiny tx ring
 * nobody consumes, since the ingest thread writes to MySQL itself), and forwards request
 * bodies to the thread, resolving each with the thread's answer.
 */

const SCRIPT = fileURLToPath(new URL('../../workers/ingest/ingest-worker.js', import.meta.url));
const ALERT_RING_CAPACITY = 4096;

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

  private constructor(
    shard: Shard,
    private readonly statusBlock: Float64Array,
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
    log: Logger,
  ): Promise<IngestService> {
    const metrics = ShardMetrics.create();
    const feed = FeedSampleBuffer.create(options.feedPerTick);
    const alertRing = TxRing.create(ALERT_RING_CAPACITY);
    alertRing.attachConsumer();
    const statusSab = new SharedArrayBuffer(IS_COUNT * 8);
    const init: IngestInit = {
      db,
      statusSab,
      // Slot 63 of node 0 is reserved for ingest; shards use slots 0..SHARDS-1 ≤ 62 (tx-id.ts).
      idWorker: txWorkerId(0, INGEST_WORKER_SLOT),
      metricsSab: metrics.sab,
      feedSab: feed.sab,
      feedSize: feed.size,
      alertRingSab: alertRing.sab,
      alertRingCapacity: ALERT_RING_CAPACITY,
      sourceNames: [...options.sources],
      maxItems: options.ingestMaxItems,
      // A body of ingestMaxItems must always fit when nothing is queued.
      maxQueued: Math.max(options.ingestMaxItems, options.ingestMaxQueued),
      fraudAmountThreshold: options.fraudAmountThreshold,
    };
    const worker = new Worker(SCRIPT, { workerData: init, name: 'ingest', env: workerEnv() });
    const shard: Shard = {
      index: shardIndex,
      worker,
      metrics,
      txRing: TxRing.create(2),
      feed,
      alertRing,
    };
    const service = new IngestService(shard, new Float64Array(statusSab));
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: IngestMessage) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'result') {
          const done = service.waiting.get(m.reqId);
          service.waiting.delete(m.reqId);
          done?.(
            m.retryAfterS
              ? { status: m.status, json: m.json, retryAfterS: m.retryAfterS }
              : { status: m.status, json: m.json },
          );
        } else if (m.type === 'refused') {
          // Once per cause: the counter in /metrics says how often.
          log.error(
            {
              code: 'PB_ERR_INGEST_REJECTED',
              cause: m.code,
              items: m.items,
              groupRequests: m.groupRequests,
              err: m.message,
            },
            'the database refused an ingest request for good; answered 422 (500 if unclassified), its group went on without it',
          );
        } else if (m.type === 'warn') {
          service.lastErrorCode = m.code;
          log.warn(
            { code: m.code, attempt: m.attempt, err: m.message },
            'ingest commit failed; retrying with backoff',
          );
        }
      });
      worker.once('error', reject);
    });
    worker.on('error', (e) => log.error({ err: e.message }, 'ingest thread failed'));
    return service;
  }

  /** Hands a body to the ingest thread (transferred, not copied). */
  submit(body: Buffer, ndjson: boolean): Promise<IngestAnswer> {
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
