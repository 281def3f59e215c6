import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Options } from '../config/option-specs.js';
import type { DbConfig } from '../db/db-config.js';
import type { Logger } from '../log/logger.js';
import type { Shard } from '../pipeline/shard-pool.js';
import { FeedSampleBuffer } from '../shared/feed-sample.js';
import type { IngestInit, IngestMessage, IngestRequest } from '../shared/ingest-protocol.js';
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

export class IngestService {
  readonly shard: Shard;
  private readonly waiting = new Map<number, (a: IngestAnswer) => void>();
  private nextId = 1;

  private constructor(shard: Shard) {
    this.shard = shard;
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
    const init: IngestInit = {
      db,
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
    const service = new IngestService(shard);
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
        } else if (m.type === 'warn') {
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
