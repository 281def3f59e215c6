import { parentPort, workerData } from 'node:worker_threads';
import mysql from 'mysql2/promise';
import { batchConnectionOptions } from '../../src/db/db-config.js';
import { jsonSyntaxWhere, PulseboardError } from '../../src/errors.js';
import { parseIngestBody } from '../../src/ingest/parse-body.js';
import type { Rejection } from '../../src/ingest/validate-item.js';
import { CURRENCIES, FLAG_RULE, STATUS } from '../../src/shared/catalog.js';
import type { IngestInit, IngestMessage, IngestRequest } from '../../src/shared/ingest-protocol.js';
import {
  C_STOP,
  C_TICK,
  G_ALERTS_DROPPED,
  G_COMPLETED,
  G_FAILED,
  G_FEED_OMITTED,
  G_FLAGGED,
  G_GENERATED,
  ShardMetrics,
} from '../../src/shared/metric-buckets.js';
import { TxRing } from '../../src/shared/tx-ring.js';
import { WindowWriter } from '../shard/window-writer.js';
import { backoffMs, sleep } from '../writer/backoff.js';
import { commitGroup, type PendingItem } from './group-commit.js';
import { IdSource } from './id-source.js';

/**
 * The ingest thread: parses and validates POST /api/transactions bodies off the primary
 * loop, and group-commits them. While one commit is in flight, the items of every request
 * that arrives queue up and go into the next one, so under load many requests share one
 * INSERT and one fsync. A request is answered only after its COMMIT. Committed new items
 * feed this thread's metric buckets, feed ring and alert ring, which the primary merges
 * like a simulator shard's.
 */

const init = workerData as IngestInit;
const port = parentPort!;
const metrics = new ShardMetrics(init.metricsSab);
const windows = new WindowWriter(metrics);
const feedRing = new TxRing(init.feedRingSab, init.feedRingCapacity);
const alertRing = new TxRing(init.alertRingSab, init.alertRingCapacity);
const ids = new IdSource(init.idWorker);
const sourceIndex = new Map(init.sourceNames.map((n, i) => [n, i]));
const usdPerMinor = CURRENCIES.map((c) => c.usdPerMinor);
const GROUP_MAX = 5000;
const CONTROL_POLL_MS = 20;

interface Waiting {
  reqId: number;
  pending: PendingItem[];
  indexes: number[];
  rejected: Rejection[];
  total: number;
}

const queue: Waiting[] = [];
let queuedItems = 0;
let committing = false;
let stopping = false;
let conn: mysql.Connection | undefined;
let feedLeft = init.feedQuota;
let tickSeen = Atomics.load(metrics.control, C_TICK);

function post(m: IngestMessage): void {
  port.postMessage(m);
}

function reply(reqId: number, status: number, body: unknown, retryAfterS?: number): void {
  post({
    type: 'result',
    reqId,
    status,
    json: JSON.stringify(body),
    ...(retryAfterS ? { retryAfterS } : {}),
  });
}

function fail(reqId: number, err: PulseboardError, retryAfterS?: number): void {
  reply(reqId, err.status, { error: err.toJSON() }, retryAfterS);
}

function onRequest(req: IngestRequest): void {
  if (stopping) {
    fail(req.reqId, new PulseboardError('PB_ERR_INGEST_OFF', 'server is shutting down'), 1);
    return;
  }
  // Already full: refuse before spending a parse on it (the bytes are bounded on the primary).
  if (queuedItems >= init.maxQueued) {
    fail(
      req.reqId,
      new PulseboardError('PB_ERR_INGEST_BACKPRESSURE', 'the database is behind; retry later'),
      1,
    );
    return;
  }
  const now = Date.now();
  let parsed: ReturnType<typeof parseIngestBody>;
  try {
    parsed = parseIngestBody(
      Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength),
      req.ndjson,
      init.maxItems,
      sourceIndex,
      now,
    );
  } catch (err) {
    if (err instanceof PulseboardError) fail(req.reqId, err);
    else
      fail(
        req.reqId,
        new PulseboardError(
          'PB_ERR_HTTP_BAD_JSON',
          `request body could not be parsed${jsonSyntaxWhere(err)}`,
        ),
      );
    return;
  }
  if (parsed.items.length === 0) {
    reply(req.reqId, 400, {
      error: { code: 'PB_ERR_INGEST_INVALID', message: 'no valid transaction in the body' },
      accepted: 0,
      rejected: parsed.rejected,
    });
    return;
  }
  if (queuedItems + parsed.items.length > init.maxQueued) {
    fail(
      req.reqId,
      new PulseboardError('PB_ERR_INGEST_BACKPRESSURE', 'the database is behind; retry later'),
      1,
    );
    return;
  }
  const pending = parsed.items.map(({ item }) => {
    const usd = item.amount * usdPerMinor[item.currency]!;
    return {
      item,
      id: ids.next(now).text,
      flagRule: usd > init.fraudAmountThreshold ? FLAG_RULE.amount : 0,
      receivedAt: now,
    };
  });
  queue.push({
    reqId: req.reqId,
    pending,
    indexes: parsed.items.map((p) => p.index),
    rejected: parsed.rejected,
    total: parsed.total,
  });
  queuedItems += pending.length;
  void pump();
}

async function pump(): Promise<void> {
  if (committing) return;
  committing = true;
  try {
    while (queue.length > 0) {
      const group: Waiting[] = [];
      let n = 0;
      while (queue.length > 0 && (n === 0 || n + queue[0]!.pending.length <= GROUP_MAX)) {
        const w = queue.shift()!;
        group.push(w);
        n += w.pending.length;
      }
      const items = group.flatMap((w) => w.pending);
      const fresh = await commitWithRetry(items);
      queuedItems -= items.length;
      record(fresh);
      for (const w of group) {
        const accepted = w.pending.map((p, i) => ({
          index: w.indexes[i]!,
          id: p.storedId!,
          duplicate: p.duplicate === true,
        }));
        reply(w.reqId, 200, {
          accepted: accepted.length,
          duplicates: accepted.filter((a) => a.duplicate).length,
          items: accepted,
          rejected: w.rejected,
        });
      }
    }
  } finally {
    committing = false;
  }
}

async function commitWithRetry(items: PendingItem[]): Promise<PendingItem[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (!conn) {
        const c = await mysql.createConnection(batchConnectionOptions(init.db));
        // An idle connection the server drops emits 'error'; the next group reconnects.
        c.on('error', () => {
          if (conn === c) conn = undefined;
        });
        conn = c;
      }
      return await commitGroup(conn, items, attempt, init.sourceNames);
    } catch (err) {
      conn?.destroy();
      conn = undefined;
      const e = err as Error & { code?: string };
      if (attempt === 0 || attempt % 10 === 0)
        post({ type: 'warn', code: e.code ?? 'PB_ERR_DB_WRITER', message: e.message, attempt });
      await sleep(backoffMs(attempt));
    }
  }
}

/** Committed new items → metric buckets, live feed, alerts (same as a shard's completions). */
function record(fresh: PendingItem[]): void {
  if (fresh.length === 0) return;
  const g = metrics.gauges;
  let feedPos = feedRing.writePos;
  let feedFree = feedRing.freeSlots();
  let alertPos = alertRing.writePos;
  let alertFree = alertRing.freeSlots();
  windows.begin();
  windows.selectSecond(Math.floor(Date.now() / 1000));
  for (const p of fresh) {
    const it = p.item;
    const flagged = p.flagRule !== 0;
    windows.add(
      it.failed,
      flagged,
      it.processingMs,
      it.currency,
      it.amount,
      it.amount * usdPerMinor[it.currency]!,
      it.source,
    );
    if (it.failed) g[G_FAILED]!++;
    if (flagged) g[G_FLAGGED]!++;
    if (flagged) {
      if (alertFree > 0) {
        writeRecord(alertRing, alertPos & alertRing.mask, p);
        alertPos = (alertPos + 1) | 0;
        alertFree--;
      } else g[G_ALERTS_DROPPED]!++;
    }
    if (feedLeft > 0 && feedFree > 0) {
      writeRecord(feedRing, feedPos & feedRing.mask, p);
      feedPos = (feedPos + 1) | 0;
      feedFree--;
      feedLeft--;
    } else g[G_FEED_OMITTED]!++;
  }
  g[G_GENERATED]! += fresh.length;
  g[G_COMPLETED]! += fresh.length;
  windows.end();
  feedRing.publish(feedPos);
  alertRing.publish(alertPos);
}

/**
 * The ring layout holds numbers only, so the account string is reduced to a stable hash:
 * the live feed and alerts show an ingested transaction's account as `AC<hash mod 10^8>`,
 * not the producer's string. Deliberate (no strings in shared memory); MySQL and
 * GET /api/transactions hold the real account.
 */
function writeRecord(ring: TxRing, i: number, p: PendingItem): void {
  const f = ring.f;
  const id = BigInt(p.id);
  f.idHi[i] = Number(id >> 32n);
  f.idLo[i] = Number(id & 0xffffffffn);
  f.createdAt[i] = p.item.createdAt;
  f.completedAt[i] = p.receivedAt;
  f.amount[i] = p.item.amount;
  f.processingMs[i] = p.item.processingMs;
  f.account[i] = fnv1a(p.item.account) % 100_000_000;
  f.source[i] = p.item.source;
  f.currency[i] = p.item.currency;
  f.type[i] = p.item.type;
  f.status[i] = p.item.failed ? STATUS.failed : STATUS.completed;
  f.failureReason[i] = 0;
  f.flagRule[i] = p.flagRule;
  f.riskScore[i] = 0;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The shard control protocol: tick (feed quota), reset, stop. */
function pollControl(): void {
  const c = metrics.control;
  const tick = Atomics.load(c, C_TICK);
  if (tick !== tickSeen) {
    tickSeen = tick;
    feedLeft = init.feedQuota;
  }
  windows.applyResetIfAsked();
  if (!stopping && Atomics.load(c, C_STOP) === 1) {
    stopping = true;
    void (async () => {
      // Requests already queued are committed and answered before the thread exits.
      while (committing || queue.length > 0) await sleep(5);
      await conn?.end().catch(() => conn?.destroy());
      process.exit(0);
    })();
  }
}

port.on('message', (m: IngestRequest) => onRequest(m));
setInterval(pollControl, CONTROL_POLL_MS);
post({ type: 'ready' });
