import { parentPort, workerData } from 'node:worker_threads';
import {
  classifyDbError,
  dbErrorCode,
  describeDbError,
  UNKNOWN_MAX_ATTEMPTS,
} from '../../src/db/db-errors.js';
import { PulseboardError } from '../../src/errors.js';
import { type BodyResult, RequestBody, wholeJsonBody } from '../../src/ingest/http/request-body.js';
import { validateBatch } from '../../src/ingest/validate-batch.js';
import type { Rejection } from '../../src/ingest/validate-item.js';
import { CURRENCIES, FLAG_RULE, STATUS } from '../../src/shared/catalog.js';
import { FaultTrigger } from '../../src/shared/fault-switch.js';
import {
  type IngestInit,
  type IngestMessage,
  type IngestParts,
  type IngestResult,
  IS_COUNT,
  IS_REFUSED_ITEMS,
  IS_REFUSED_REQUESTS,
  PART_ABORT,
  PART_END,
  PART_FIELDS,
  PART_FLAGS,
  PART_GZIP,
  PART_LAST,
  PART_NDJSON,
  PART_OPEN,
  PART_REQ_ID,
  PART_START,
} from '../../src/shared/ingest-protocol.js';
import {
  G_COMPLETED,
  G_FAILED,
  G_FLAGGED,
  G_GENERATED,
  G_ID_MS,
  G_INGEST_LATE,
  ShardMetrics,
} from '../../src/shared/metric-buckets.js';
import { C_STOP } from '../../src/shared/shard-protocol.js';
import { OVERFLOW_SOURCE } from '../../src/shared/source-name.js';
import { SourceRegistry } from '../../src/shared/source-registry.js';
import type { RecordViews } from '../../src/shared/tx-ring.js';
import { OVERFLOW_SLOT } from '../../src/shared/window-row.js';
import { sleep } from '../common/backoff.js';
import { LiveOutputs } from '../common/live-outputs.js';
import { WindowWriter } from '../common/window-writer.js';
import { CommitStatus } from './commit-status.js';
import type { PendingItem } from './group-commit.js';
import { GroupCommitter } from './group-committer.js';
import { IdSource } from './id-source.js';
import { type StreamAnswer, StreamDoor } from './stream/stream-door.js';

/**
 * The ingest thread: parses and validates POST /api/transactions bodies off the primary
 * loop, and group-commits them. While every committer is busy (INGEST_COMMITS_IN_FLIGHT
 * commits in flight), the items of every request that arrives queue up and go into the next
 * group, so under load many requests share one INSERT and one fsync. A request is answered only after its COMMIT. Committed new items
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
const live = new LiveOutputs(init, metrics.control, windows.counters);
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
/** Items queued or being committed (the backpressure bound), and those queued only. */
let queuedItems = 0;
let waitingItems = 0;
let stopping = false;
const status = new Float64Array(init.statusSab, 0, IS_COUNT);
const commitStatus = new CommitStatus(status, init.commitsInFlight);
/** One committer (one connection) per commit in flight; `idle` are those free now. */
const committers = Array.from(
  { length: init.commitsInFlight },
  (_, slot) =>
    new GroupCommitter(init.db, init.rollupWriter, commitStatus, slot, (code, message, attempt) =>
      post({ type: 'warn', code, message, attempt }),
    ),
);
const idle = [...committers];
/** Causes of refused requests already logged at error level (once per cause). */
const refusedCauses = new Set<string>();

function post(m: IngestMessage): void {
  port.postMessage(m);
}

/**
 * Every answer leaves through replyJson. Answers wait here for the end of the current
 * synchronous run, then go to the primary in one message.
 */
let results: IngestResult[] = [];
let flushQueued = false;

function flushResults(): void {
  flushQueued = false;
  if (results.length === 0) return;
  post({ type: 'results', results });
  results = [];
}

function replyJson(reqId: number, status: number, json: string, retryAfterS?: number): void {
  results.push(retryAfterS ? { reqId, status, json, retryAfterS } : { reqId, status, json });
  if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushResults);
  }
}

function reply(reqId: number, status: number, body: unknown, retryAfterS?: number): void {
  if (!answerStream(reqId, status, body, retryAfterS))
    replyJson(reqId, status, JSON.stringify(body), retryAfterS);
}

/**
 * A stream message's answer goes back to its door (stream-door.ts settles the message by
 * it) as the body itself, before any JSON text is made of it; false for an HTTP request.
 */
function answerStream(reqId: number, status: number, body: unknown, retryAfterS?: number): boolean {
  const answer = streamAnswers.get(reqId);
  if (answer === undefined) return false;
  streamAnswers.delete(reqId);
  answer(status, body, retryAfterS);
  return true;
}

function fail(reqId: number, err: PulseboardError, retryAfterS?: number): void {
  reply(reqId, err.status, { error: err.toJSON() }, retryAfterS);
}

function backpressure(reqId: number): void {
  fail(
    reqId,
    new PulseboardError('PB_ERR_INGEST_BACKPRESSURE', 'the database is behind; retry later'),
    1,
  );
}

/** Bodies being received, by request. */
const bodies = new Map<number, RequestBody>();
const limits = {
  maxBytes: init.bodyLimit,
  maxItems: init.maxItems,
  inflated: { bytes: 0, max: init.maxQueuedBytes },
};

/**
 * Starts receiving request `reqId`'s body, or answers it at once (shutting down, queue
 * full) and returns undefined. HTTP bodies enter here; a stream message, whole, by admit.
 */
function openBody(reqId: number, ndjson: boolean, gzip: boolean): RequestBody | undefined {
  if (!admit(reqId)) return undefined;
  const body = new RequestBody(ndjson, gzip, limits, (r) => onBody(reqId, r));
  bodies.set(reqId, body);
  return body;
}

/** Whether a body may enter now; if not, it is answered (shutting down, queue full). */
function admit(reqId: number): boolean {
  if (stopping) {
    fail(reqId, new PulseboardError('PB_ERR_INGEST_OFF', 'server is shutting down'), 1);
    return false;
  }
  // Already full: refuse before spending a parse on it (the bytes are bounded on the primary).
  if (queuedItems >= init.maxQueued) {
    backpressure(reqId);
    return false;
  }
  return true;
}

/** The HTTP door: body chunks from the primary (ingest-protocol.ts: IngestParts). */
function onParts(m: IngestParts): void {
  const bytes = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  const parts = m.parts;
  for (let i = 0; i < parts.length; i += PART_FIELDS) {
    const reqId = parts[i + PART_REQ_ID]!;
    const flags = parts[i + PART_FLAGS]!;
    const body =
      flags & PART_OPEN
        ? openBody(reqId, (flags & PART_NDJSON) !== 0, (flags & PART_GZIP) !== 0)
        : bodies.get(reqId);
    if (body === undefined) continue; // refused at open, or already answered
    if (flags & PART_ABORT) {
      bodies.delete(reqId);
      body.abort();
      continue;
    }
    const start = parts[i + PART_START]!;
    const end = parts[i + PART_END]!;
    if (end > start) body.push(bytes.subarray(start, end));
    if (flags & PART_LAST) body.end();
  }
}

function onBody(reqId: number, r: BodyResult): void {
  bodies.delete(reqId);
  if (!r.ok) {
    reply(
      reqId,
      r.error.status,
      r.rejected
        ? { error: r.error.toJSON(), accepted: 0, rejected: r.rejected }
        : { error: r.error.toJSON() },
      r.error.status === 503 ? 1 : undefined,
    );
    return;
  }
  const now = Date.now();
  const parsed = validateBatch(r.raws, now);
  if (parsed.items.length === 0) {
    reply(reqId, 400, {
      error: { code: 'PB_ERR_INGEST_INVALID', message: 'no valid transaction in the body' },
      accepted: 0,
      rejected: parsed.rejected,
    });
    return;
  }
  if (queuedItems + parsed.items.length > init.maxQueued) {
    backpressure(reqId);
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
    reqId,
    pending,
    indexes: parsed.items.map((p) => p.index),
    rejected: parsed.rejected,
    total: parsed.total,
  });
  queuedItems += pending.length;
  waitingItems += pending.length;
  schedulePump();
}

let pumpQueued = false;

/**
 * Pumps once the current synchronous run is over: a message from the primary carries many
 * requests, and an idle committer should take them all as one group, not the first alone.
 */
function schedulePump(): void {
  if (pumpQueued) return;
  pumpQueued = true;
  queueMicrotask(() => {
    pumpQueued = false;
    pump();
  });
}

/**
 * Starts a group commit on every idle committer while requests wait. With one commit in
 * flight the next group builds up behind it; with several, a group goes out while the
 * previous COMMIT still waits for its fsync (when at least INGEST_OVERLAP_MIN_ITEMS wait),
 * and each is answered when its own returns.
 */
function pump(): void {
  while (queue.length > 0 && idle.length > 0) {
    // Beside a running commit, only a group worth a COMMIT of its own: a few items are
    // cheaper in the next group than in an extra transaction and log flush.
    if (idle.length < committers.length && waitingItems < init.overlapMinItems) return;
    // One splice, not a shift per request: with thousands of one-item requests queued
    // (stream messages), shift's O(queue) each made taking a group quadratic.
    let k = 0;
    let n = 0;
    while (k < queue.length && (n === 0 || n + queue[k]!.pending.length <= GROUP_MAX)) {
      n += queue[k]!.pending.length;
      k++;
    }
    const committer = idle.pop()!;
    waitingItems -= n;
    // A throw after the COMMIT (only the test fault switch) must still end the thread, as
    // an unhandled rejection: the supervisor restarts it.
    void commitAndAnswer(committer, queue.splice(0, k), n).then(() => {
      idle.push(committer);
      pump();
    });
  }
}

async function commitAndAnswer(committer: GroupCommitter, group: Waiting[], n: number) {
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
    // Stream messages (negative ids) are settled by what was accepted and rejected.
    if (w.reqId < 0)
      answerStream(w.reqId, 200, { accepted: w.pending.length, rejected: w.rejected });
    else replyJson(w.reqId, 200, acceptedJson(w));
  }
}

/**
 * The 200 answer, written directly: `{"accepted":n,"duplicates":d,"items":[{"index":i,"id":"…",
 * "duplicate":false}…],"rejected":[…]}` (ids are digit strings, so nothing needs escaping).
 */
function acceptedJson(w: Waiting): string {
  let items = '';
  let duplicates = 0;
  for (let i = 0; i < w.pending.length; i++) {
    const p = w.pending[i]!;
    const dup = p.duplicate === true;
    if (dup) duplicates++;
    items += `${i === 0 ? '' : ','}{"index":${w.indexes[i]},"id":"${p.storedId}","duplicate":${dup}}`;
  }
  const rejected = w.rejected.length === 0 ? '[]' : JSON.stringify(w.rejected);
  return `{"accepted":${w.pending.length},"duplicates":${duplicates},"items":[${items}],"rejected":${rejected}}`;
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
  live.begin();
  windows.begin();
  for (const p of fresh) {
    const it = p.item;
    const flagged = p.flagRule !== 0;
    const slot = sourceSlot(it.source);
    if (it.failed) c[G_FAILED]!++;
    if (flagged) {
      c[G_FLAGGED]!++;
      const a = live.alertSlot();
      if (a !== -1) writeRecord(live.alerts, a, p, slot);
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
    const sampled = live.feedSlot();
    if (sampled !== -1) writeRecord(live.feed, sampled, p, slot);
  }
  c[G_GENERATED]! += fresh.length;
  c[G_COMPLETED]! += fresh.length;
  windows.end();
  live.end();
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
  live.follow(windows);
  if (!stopping && Atomics.load(metrics.control, C_STOP) === 1) {
    stopping = true;
    void (async () => {
      // Requests already queued are committed and answered before the thread exits; the
      // stream door takes no more messages and acknowledges the ones committed.
      await streamDoor?.stop();
      while (idle.length < committers.length || queue.length > 0) await sleep(5);
      await Promise.all(committers.map((c) => c.close()));
      process.exit(0);
    })();
  }
}

/**
 * The JetStream door (workers/ingest/stream/): each message's payload enters like an HTTP
 * JSON body given whole (a JSON object or array: same admission, same parse and limits),
 * under a negative request id, and its answer comes back to the door (answerStream)
 * instead of going to the primary.
 */
const streamAnswers = new Map<number, StreamAnswer>();
let nextStreamReqId = -1;
const streamDoor = init.stream
  ? new StreamDoor(
      init.stream,
      (payload, answer) => {
        const reqId = nextStreamReqId--;
        streamAnswers.set(reqId, answer);
        if (!admit(reqId)) return;
        onBody(
          reqId,
          wholeJsonBody(
            Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
            limits,
          ),
        );
      },
      (level, code, message) => post({ type: 'stream', level, code, message }),
    )
  : undefined;

port.on('message', (m: IngestParts) => onParts(m));
setInterval(pollControl, CONTROL_POLL_MS);
post({ type: 'ready' });
streamDoor?.start();
