import { parentPort, workerData } from 'node:worker_threads';
import { beginWrite } from '../../src/shared/bucket-seqlock.js';
import { CURRENCIES, STATUS } from '../../src/shared/catalog.js';
import { FaultTrigger } from '../../src/shared/fault-switch.js';
import {
  G_COMPLETED,
  G_FAILED,
  G_FLAGGED,
  G_GENERATED,
  G_ID_MS,
  G_LOOP_NS,
  G_PENDING,
  G_PROCESSING,
  G_THROTTLED,
  ShardMetrics,
} from '../../src/shared/metric-buckets.js';
import {
  C_SOURCE_MASK,
  C_STOP,
  C_WAKE,
  G_FAILURE_RATE,
  G_PAIRING_RATE,
  G_RATE,
  type ShardInit,
  type ShardMessage,
} from '../../src/shared/shard-protocol.js';
import { copyRecord, TxRing } from '../../src/shared/tx-ring.js';
import { LiveOutputs } from '../common/live-outputs.js';
import { WindowWriter } from '../common/window-writer.js';
import { LifecycleWheel } from './lifecycle-wheel.js';
import { TokenBucket } from './token-bucket.js';
import { TransactionFactory } from './transaction-factory.js';

/**
 * One simulator shard: generates transactions at its share of the rate, moves each one
 * through pending → processing → completed | failed on a timing wheel, aggregates the
 * completions into its per-second metric buckets, and hands each finished record to the
 * consumers of its transaction ring (MySQL writers), a uniform sample of each tick's to
 * the live feed, and every flagged one to the alert ring.
 *
 * It runs a plain loop and sleeps with Atomics.wait on C_WAKE, so the primary can change
 * the rate, reset or stop it at once without a message, and nothing here waits on the
 * primary's event loop.
 *
 * Two clocks, each for what it is good at:
 * - durations (token bucket, lifecycle wheel, busy time) run on the monotonic
 *   `performance.now()`, so a wall-clock step never bursts or stalls the simulator;
 * - timestamps and the second a completion counts in come from `Date.now()`, the one wall
 *   clock every thread (shards, ingest, primary) agrees on. It is clamped so that it never
 *   goes back (a step back holds the second until the clock catches up) and never selects
 *   a second the primary already closed (metric-buckets.ts), so closed seconds are never
 *   written again.
 */

const init = workerData as ShardInit & { sourceNames: string[] };
const port = parentPort!;
const metrics = new ShardMetrics(init.metricsSab);
const control = metrics.control;
const gauges = metrics.gauges;
const txRing = new TxRing(init.txRingSab, init.txRingCapacity);

/** The in-flight pool: same record layout as the rings, private to this thread. */
const pool = TxRing.create(init.inflightCapacity).f;
const freeSlots = new Int32Array(init.inflightCapacity);
let freeTop = 0;
for (let i = init.inflightCapacity - 1; i >= 0; i--) freeSlots[freeTop++] = i;

const BATCH = 4096; // transactions started or finished per step: bounds one seqlock hold
const IDLE_WAIT_MS = 50;
const INFLIGHT_WAIT_MS = 2; // completion timing resolution while transactions are in flight
/**
 * Never sleep less than this: at 10,000 tx/s the next token is 0.1 ms away, and waking for
 * each one spun a whole core (the profile showed 100 % busy at 10 k tx/s). Tokens
 * accumulate while we sleep and are spent in one batch, so the rate stays exact.
 */
const MIN_WAIT_MS = 1;

const factory = new TransactionFactory({
  worker: init.nodeId * 64 + init.shardIndex,
  shardIndex: init.shardIndex,
  shardCount: init.shardCount,
  accounts: init.accounts,
  sourceNames: init.sourceNames,
  procMinMs: init.procMinMs,
  procMedianMs: init.procMedianMs,
  procMaxMs: init.procMaxMs,
  fraudAmountThreshold: init.fraudAmountThreshold,
  fraudVelocityMax: init.fraudVelocityMax,
});
// A restarted shard mints ids only above the failed thread's last one (tx-id.ts).
if (init.idAfterMs !== undefined) factory.resumeIdsAfter(init.idAfterMs);
/** Test-only: throws mid-batch after N completions (src/shared/fault-switch.ts). */
const fault = new FaultTrigger(init.fault);
// One second of burst: a thread descheduled on a busy machine catches up instead of losing rate.
const bucket = new TokenBucket(1, performance.now());
const wheel = new LifecycleWheel(init.inflightCapacity, performance.now());
const windows = new WindowWriter(metrics);
/** This thread's gauges, published with its bucket rows at the end of each loop turn. */
const counters = windows.counters;
const live = new LiveOutputs(init, control, counters);
const usdPerMinor = new Float64Array(CURRENCIES.map((c) => c.usdPerMinor));

let pending = 0;
let processing = 0;
/** Wall-clock ms of the last loop turn: the shard's time never goes back. */
let lastWallMs = 0;

/**
 * Wall-clock ms for this loop turn: Date.now(), never earlier than the previous turn's and
 * never inside a second the primary has sealed (metric-buckets.ts).
 */
function wallNow(): number {
  let t = Date.now();
  if (t < lastWallMs) t = lastWallMs;
  const open = (windows.sealed() + 1) * 1000;
  if (t < open) t = open;
  lastWallMs = t;
  return t;
}

function post(message: ShardMessage): void {
  port.postMessage(message);
}

/** Starts up to `n` new transactions, created at wall `nowMs` (monotonic `mono`). */
function generate(n: number, nowMs: number, mono: number): number {
  let started = 0;
  while (started < n && freeTop > 0) {
    const slot = freeSlots[--freeTop]!;
    const delay = factory.create(pool, slot, nowMs);
    // Pending for the first ~10 % of the time (queued), then processing.
    const pendingMs = (delay * 0.1) | 0;
    // Planned end on the monotonic clock (the wheel's); rewritten at completion.
    pool.completedAt[slot] = mono + delay;
    wheel.schedule(slot, mono + pendingMs);
    started++;
  }
  pending += started;
  counters[G_GENERATED]! += started;
  return started;
}

/**
 * Applies every lifecycle step due by monotonic `mono`, at most BATCH completions, which
 * complete at wall `nowMs`. Returns false when the transaction ring had no room (the rest
 * wait on the wheel: backpressure).
 */
function advance(nowMs: number, mono: number, ringOpen: boolean): boolean {
  let slot = wheel.popDue(mono);
  if (slot === -1) return true; // nothing due: skip the ring bookkeeping
  let completions = 0;
  let ringPos = txRing.writePos;
  let ringFree = ringOpen ? txRing.freeSlots() : 0;
  live.begin();
  let blocked = false;
  const limit = fault.remaining < BATCH ? Math.max(1, fault.remaining) : BATCH;
  for (; slot !== -1; slot = wheel.popDue(mono)) {
    if (pool.status[slot] === STATUS.pending) {
      pool.status[slot] = STATUS.processing;
      pending--;
      processing++;
      wheel.schedule(slot, pool.completedAt[slot]!);
      continue;
    }
    if (ringOpen && ringFree === 0) {
      wheel.unpop(slot);
      blocked = true;
      break;
    }
    // processing → completed | failed
    const failed = pool.failureReason[slot] !== 0;
    pool.status[slot] = failed ? STATUS.failed : STATUS.completed;
    pool.completedAt[slot] = nowMs;
    factory.mintId(pool, slot, nowMs);
    const processingMs = nowMs - pool.createdAt[slot]!;
    pool.processingMs[slot] = processingMs;
    const currency = pool.currency[slot]!;
    const amount = pool.amount[slot]!;
    const flagged = pool.flagRule[slot] !== 0;
    windows.add(
      failed,
      flagged,
      processingMs,
      currency,
      amount,
      amount * usdPerMinor[currency]!,
      pool.source[slot]!,
    );
    if (failed) counters[G_FAILED]!++;
    if (flagged) {
      counters[G_FLAGGED]!++;
      const a = live.alertSlot();
      if (a !== -1) copyRecord(pool, slot, live.alerts, a);
    }
    if (ringOpen) {
      copyRecord(pool, slot, txRing.f, ringPos & txRing.mask);
      ringPos = (ringPos + 1) | 0;
      ringFree--;
    }
    const sampled = live.feedSlot();
    if (sampled !== -1) copyRecord(pool, slot, live.feed, sampled);
    processing--;
    freeSlots[freeTop++] = slot;
    if (++completions === limit) break;
  }
  gauges[G_ID_MS] = factory.lastIdMs; // before any of these ids can reach the ring (restart floor)
  // Test-only (fault-switch.ts): dies as if in the middle of a publish — seqlock left odd,
  // this batch neither in the rows nor in the ring.
  fault.count(completions, () => beginWrite(control));
  counters[G_COMPLETED]! += completions;
  if (completions > 0) {
    if (ringOpen) txRing.publish(ringPos);
    live.end();
  }
  return !blocked;
}

function run(): void {
  post({ type: 'ready', shardIndex: init.shardIndex });
  while (Atomics.load(control, C_STOP) === 0) {
    const wake = Atomics.load(control, C_WAKE);
    const mono = performance.now();

    live.follow(windows); // reset, and the feed sample of a new tick
    factory.setParams(
      gauges[G_FAILURE_RATE]!,
      gauges[G_PAIRING_RATE]!,
      Atomics.load(control, C_SOURCE_MASK),
    );
    bucket.setRate(gauges[G_RATE]!, mono);

    const nowMs = wallNow();
    windows.begin();
    windows.selectSecond(Math.floor(nowMs / 1000));
    const ringOpen = txRing.hasConsumers();
    const drained = advance(nowMs, mono, ringOpen);
    let started = 0;
    const want = bucket.available(mono, BATCH);
    if (want > 0) {
      // Backpressure: while the ring is blocked or the pool is full, start nothing new.
      if (drained && freeTop > 0) {
        started = generate(want, nowMs, mono);
        bucket.take(started);
      } else counters[G_THROTTLED]!++;
    }
    counters[G_PENDING] = pending;
    counters[G_PROCESSING] = processing;
    const busy = started > 0 || wheel.size > 0;
    if (busy) counters[G_LOOP_NS]! += (performance.now() - mono) * 1e6;
    windows.end(); // publishes this turn's completions and counters (seqlock)
    if (started === BATCH) continue; // running flat out

    let waitMs = wheel.size > 0 ? INFLIGHT_WAIT_MS : IDLE_WAIT_MS;
    const untilToken = bucket.msUntilNext();
    if (untilToken < waitMs) waitMs = Math.max(MIN_WAIT_MS, untilToken);
    // Ring or pool full: nothing to do until a consumer or a completion frees room.
    if (!drained || freeTop === 0) waitMs = MIN_WAIT_MS;
    Atomics.wait(control, C_WAKE, wake, waitMs);
  }
  post({ type: 'stopped', shardIndex: init.shardIndex, inflight: wheel.size });
}

try {
  run();
} catch (err) {
  const e = err as Error;
  post({
    type: 'error',
    shardIndex: init.shardIndex,
    code: 'PB_ERR_WORKER_FAILED',
    message: e.stack ?? e.message,
  });
  throw err;
}
