import { parentPort, workerData } from 'node:worker_threads';
import {
  classifyDbError,
  dbErrorCode,
  describeDbError,
  UNKNOWN_MAX_ATTEMPTS,
} from '../../src/db/db-errors.js';
import { jsonSyntaxWhere, PulseboardError } from '../../src/errors.js';
import { parseIngestBody } from '../../src/ingest/parse-body.js';
import type { Rejection } from '../../src/ingest/validate-item.js';
import { CURRENCIES, FLAG_RULE, STATUS } from '../../src/shared/catalog.js';
import { FaultTrigger } from '../../src/shared/fault-switch.js';
import { FeedSampleBuffer, ReservoirSampler } from '../../src/shared/feed-sample.js';
import {
  type IngestInit,
  type IngestMessage,
  type IngestRequest,
  IS_COUNT,
  IS_REFUSED_ITEMS,
  IS_REFUSED_REQUESTS,
} from '../../src/shared/ingest-protocol.js';
import {
  G_ALERTS_DROPPED,
  G_COMPLETED,
  G_FAILED,
  G_FLAGGED,
  G_GENERATED,
  G_ID_MS,
  G_INGEST_LATE,
  ShardMetrics,
} from '../../src/shared/metric-buckets.js';
import { C_STOP, C_TICK } from '../../src/shared/shard-protocol.js';
import { OVERFLOW_SOURCE } from '../../src/shared/source-name.js';
import { SourceRegistry } from '../../src/shared/source-registry.js';
import { type RecordViews, TxRing } from '../../src/shared/tx-ring.js';
import { OVERFLOW_SLOT } from '../../src/shared/window-row.js';
import { WindowWriter } from '../shard/window-writer.js';
import { sleep } from '../writer/backoff.js';
import type { PendingItem } from './group-commit.js';
import { GroupCommitter } from './group-committer.js';
import { IdSource } from './id-source.js';
import { type StreamAnswer, StreamDoor } from './stream/stream-door.js';

/**
 * The ingest thread: parses and validates POST /api/transactions bodies off the primary
 * loop, and group-commits them. While one commit is in flight, the items of every request
 * that arrives queue up and go into the next one, so under load many requests share one
 * INSERT and one fsync. A request is answered only after its COMMIT. Committed new items
 * feed this thread's metric buckets, feed sample and alert ring, which the primary merges
 * like a simulator shard's.
 *
 * Event time: an item counts in the second it completed (createdAt + processingMs, never
 * later than when it was received; Date.now(), the clock every thread shares). If that
 * second is still open in the primary's windows when the item arrives, it counts live
 * (should its commit outlast the second, in the first second still open: G_SHIFTED); if it
 * was already closed (a late arrival) it is stored with its rollup at its own second
 * (history shows it) but not added to the live windows or the feed (G_INGEST_LATE).
 * A request the database refuses for good is answered 422 on its own, and the rest of its
 * group commits (group-committer.ts).
 */

const init = workerData as IngestInit;
const port = parentPort!;
const metrics = new ShardMetrics(init.metricsSab);
const windows = new WindowWriter(metrics);
const feed = new FeedSampleBuffer(init.feedSab, init.feedSize);
const sampler = new ReservoirSampler(feed);
const alertRing = new TxRing(init.alertRingSab, init.alertRingCapacity);
// A restarted thread mints ids above the failed one's last (src/supervise/resume-state.ts).
const ids = new IdSource(init.idWorker, init.idAfterMs);
/** Test-only: throws after N committed items, before their answers (fault-switch.ts). */
const fault = new FaultTrigger(init.fault);
const sources = new SourceRegistry(init.sourcesSab);
/** Overflowed names already reported, so each is logged once (bounded: see below). */
const overflowSeen = new Set<string>();
/** Past this many overflowed names, new ones are counted but no longer logged one by one. */
const OVERFLOW_NAMES_LOGGED = 1000;
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
const status = new Float64Array(init.statusSab, 0, IS_COUNT);
const committer = new GroupCommitter(init.db, status, (code, message, attempt) =>
  post({ type: 'warn', code, message, attempt }),
);
/** Causes of refused requests already logged at error level (once per cause). */
const refusedCauses = new Set<string>();
let tickSeen = Atomics.load(metrics.control, C_TICK);

function post(m: IngestMessage): void {
  port.postMessage(m);
}

function reply(reqId: number, status: number, body: unknown, retryAfterS?: number): void {
  const local = streamAnswers.get(reqId);
  if (local) {
    streamAnswers.delete(reqId);
    local(status, body, retryAfterS);
    return;
  }
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
  const sealed = windows.sealed();
  const pending = parsed.items.map(({ item }) => {
    const usd = item.amount * usdPerMinor[item.currency]!;
    const completedAt = Math.min(item.createdAt + item.processingMs, now);
    return {
      item,
      id: ids.next(now).text,
      flagRule: usd > init.fraudAmountThreshold ? FLAG_RULE.amount : 0,
      receivedAt: now,
      completedAt,
      live: Math.floor(completedAt / 1000) > sealed,
    };
  });
  metrics.gauges[G_ID_MS] = ids.lastIdMs; // before any of these ids can be committed
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
      // One splice, not a shift per request: with thousands of one-item requests queued
      // (stream messages), shift's O(queue) each made taking a group quadratic.
      let k = 0;
      let n = 0;
      while (k < queue.length && (n === 0 || n + queue[k]!.pending.length <= GROUP_MAX)) {
        n += queue[k]!.pending.length;
        k++;
      }
      const group = queue.splice(0, k);
      const outcome = await committer.commit(group);
      // Test-only (fault-switch.ts): dies after the COMMIT, before the answers.
      fault.count(n);
      queuedItems -= n;
      record(outcome.fresh);
      const refused = new Map(outcome.refused.map((r) => [r.request, r.err]));
      for (const w of group) {
        const err = refused.get(w);
        if (err !== undefined) {
          refuse(w, err, group.length);
          continue;
        }
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

/**
 * A request the database refused for good (a permanent error, db-errors.ts): nothing of it
 * was stored, and its neighbours in the group were committed without it. The answer names
 * the cause in our words, never the driver's message (host:port, SQL, the request's data).
 * An error nobody classified, still failing after its bounded attempts, is a 500 instead:
 * it may not be the request's fault.
 */
function refuse(w: Waiting, err: unknown, groupRequests: number): void {
  const code = dbErrorCode(err);
  const permanent = classifyDbError(err) === 'permanent';
  status[IS_REFUSED_REQUESTS]!++;
  status[IS_REFUSED_ITEMS]! += w.pending.length;
  if (!refusedCauses.has(code)) {
    refusedCauses.add(code);
    post({
      type: 'refused',
      code,
      message: (err as Error).message,
      items: w.pending.length,
      groupRequests,
    });
  }
  const error = permanent
    ? new PulseboardError(
        'PB_ERR_INGEST_REJECTED',
        `the database refused this request's transactions: ${describeDbError(err)}; none of them was stored`,
        { cause: code },
      )
    : new PulseboardError(
        'PB_ERR_INGEST_DB_FAILED',
        `storing this request's transactions failed with an error we do not classify (${code}) after ${UNKNOWN_MAX_ATTEMPTS} attempts; none of them was stored`,
        { cause: code },
      );
  reply(w.reqId, error.status, { error: error.toJSON(), accepted: 0, rejected: w.rejected });
}

/**
 * Committed new items → metric buckets, live feed, alerts (same as a shard's completions),
 * each in the second it completed; late arrivals only count.
 */
function record(fresh: PendingItem[]): void {
  if (fresh.length === 0) return;
  const c = windows.counters;
  let alertPos = alertRing.writePos;
  let alertFree = alertRing.freeSlots();
  windows.begin();
  for (const p of fresh) {
    const it = p.item;
    const flagged = p.flagRule !== 0;
    const slot = sourceSlot(it.source);
    if (it.failed) c[G_FAILED]!++;
    if (flagged) {
      c[G_FLAGGED]!++;
      if (alertFree > 0) {
        writeRecord(alertRing.f, alertPos & alertRing.mask, p, slot);
        alertPos = (alertPos + 1) | 0;
        alertFree--;
      } else c[G_ALERTS_DROPPED]!++;
    }
    if (!p.live) {
      c[G_INGEST_LATE]!++;
      continue;
    }
    windows.selectSecond(Math.floor(p.completedAt / 1000));
    windows.add(
      it.failed,
      flagged,
      it.processingMs,
      it.currency,
      it.amount,
      it.amount * usdPerMinor[it.currency]!,
      slot,
    );
    const sampled = sampler.offer();
    if (sampled !== -1) writeRecord(feed.f, sampled, p, slot);
  }
  c[G_GENERATED]! += fresh.length;
  c[G_COMPLETED]! += fresh.length;
  windows.end();
  alertRing.publish(alertPos);
}

/**
 * The window-row slot of a committed item's source: its own, registered on first use, or
 * `other` when the registry is full (counted; the name logged once).
 */
function sourceSlot(name: string): number {
  const slot = sources.slotOf(name);
  if (slot !== OVERFLOW_SLOT || name === OVERFLOW_SOURCE) return slot;
  sources.countOverflowItems(1);
  if (!overflowSeen.has(name) && overflowSeen.size < OVERFLOW_NAMES_LOGGED) {
    overflowSeen.add(name);
    sources.countOverflowName();
    post({ type: 'source-overflow', source: name, capacity: sources.capacity });
  }
  return slot;
}

/**
 * The ring layout holds numbers only, so the account string is reduced to a stable hash:
 * the live feed and alerts show an ingested transaction's account as `AC<hash mod 10^8>`,
 * not the producer's string. Deliberate (no strings in shared memory); MySQL and
 * GET /api/transactions hold the real account.
 */
function writeRecord(f: RecordViews, i: number, p: PendingItem, slot: number): void {
  const id = BigInt(p.id);
  f.idHi[i] = Number(id >> 32n);
  f.idLo[i] = Number(id & 0xffffffffn);
  f.createdAt[i] = p.item.createdAt;
  f.completedAt[i] = p.completedAt;
  f.amount[i] = p.item.amount;
  f.processingMs[i] = p.item.processingMs;
  f.account[i] = fnv1a(p.item.account) % 100_000_000;
  f.source[i] = slot;
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

/** The shard protocol (shard-protocol.ts): tick (hand over the feed sample), reset, stop. */
function pollControl(): void {
  const c = metrics.control;
  const tick = Atomics.load(c, C_TICK);
  if (tick !== tickSeen) {
    tickSeen = tick;
    sampler.flush();
  }
  if (windows.applyResetIfAsked()) sampler.discard();
  if (!stopping && Atomics.load(c, C_STOP) === 1) {
    stopping = true;
    void (async () => {
      // Requests already queued are committed and answered before the thread exits; the
      // stream door takes no more messages and acknowledges the ones committed.
      await streamDoor?.stop();
      while (committing || queue.length > 0) await sleep(5);
      await committer.close();
      process.exit(0);
    })();
  }
}

/**
 * The JetStream door (workers/ingest/stream/): its messages enter onRequest like HTTP bodies,
 * under negative request ids, and their answers come back here instead of to the primary.
 */
const streamAnswers = new Map<number, StreamAnswer>();
let nextStreamReqId = -1;
const streamDoor = init.stream
  ? new StreamDoor(
      init.stream,
      (body, answer) => {
        const reqId = nextStreamReqId--;
        streamAnswers.set(reqId, answer);
        onRequest({ type: 'ingest', reqId, body, ndjson: false });
      },
      (level, code, message) => post({ type: 'stream', level, code, message }),
    )
  : undefined;

port.on('message', (m: IngestRequest) => onRequest(m));
setInterval(pollControl, CONTROL_POLL_MS);
post({ type: 'ready' });
streamDoor?.start();
