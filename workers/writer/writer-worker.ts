import { parentPort, workerData } from 'node:worker_threads';
import { sourceLiterals } from '../../src/db/ring-rows.js';
import { FaultTrigger } from '../../src/shared/fault-switch.js';
import {
  W_CONTROL_INTS,
  W_DRAIN,
  type WriterInit,
  type WriterMessage,
  WS_CONNECTED,
  WS_ROWS,
  WS_STATS_COUNT,
} from '../../src/shared/writer-protocol.js';
import { sleep } from '../common/backoff.js';
import { BatchWriter } from './batch-writer.js';
import type { CommitContext } from './commit-batch.js';
import { Lane } from './lane.js';
import { Quarantine } from './quarantine.js';
import { type Batch, RingCursor } from './ring-cursor.js';

/**
 * A MySQL writer thread: an extra consumer of some shards' transaction rings. It keeps
 * `connections` batches in flight (one connection each) and releases ring slots only after
 * COMMIT. Failed batches are retried with capped, jittered backoff while the error is
 * transient — the database slow or down: the rings fill and the shards throttle
 * (backpressure), nothing is dropped — and bisected when the database refuses rows for good,
 * whose rows go to the quarantine (batch-writer.ts). On DRAIN it writes whatever is in its
 * rings, reports, and exits.
 */

const init = workerData as WriterInit;
const port = parentPort!;
const control = new Int32Array(init.blockSab, 0, W_CONTROL_INTS);
const stats = new Float64Array(init.blockSab, W_CONTROL_INTS * 4, WS_STATS_COUNT);
// A restarted writer starts at the released positions and re-sends what is unreleased.
const cursors = init.rings.map(
  (r) => new RingCursor(r.sab, r.capacity, r.consumer, init.resume === true),
);
/** Test-only: throws after N records, between a COMMIT and its release (fault-switch.ts). */
const fault = new FaultTrigger(init.fault);
/**
 * TEST ONLY: PB_FAULT_POISON_ROWS=n makes every n-th ring position this writer encodes a
 * row the database refuses for good (ring-rows.ts POISON_CREATED_MS), so the tests can
 * watch a refused row reach the quarantine. Read once here; unset (the default) does
 * nothing. Never set it in production.
 */
const poisonEvery = Math.floor(Number(process.env.PB_FAULT_POISON_ROWS ?? 0));
const ctx: CommitContext = {
  writerIndex: init.writerIndex,
  rollupWriter: init.rollupWriter,
  format: init.rowFormat,
  sourceText: sourceLiterals(init.sourceNames, init.rowFormat),
  sourceNames: init.sourceNames,
  ...(poisonEvery > 0 ? { poison: (pos: number) => (pos >>> 0) % poisonEvery === 0 } : {}),
};
const POLL_MS = Math.min(5, init.flushMs);
let next = 0; // round-robin start over cursors

function post(m: WriterMessage): void {
  port.postMessage(m);
}

const writer = new BatchWriter(ctx, stats, new Quarantine(ctx, init.quarantineFile), post);

const draining = () => Atomics.load(control, W_DRAIN) === 1;

/** The next batch to write: a full one, or a partial one whose flush time has come. */
function pick(now: number): Batch | null {
  const n = cursors.length;
  for (let i = 0; i < n; i++) {
    const c = cursors[(next + i) % n]!;
    const waiting = c.unclaimed();
    if (waiting <= 0) continue;
    if (c.waitingSince === -1) c.waitingSince = now;
    if (waiting >= init.batchSize || draining() || now - c.waitingSince >= init.flushMs) {
      next = (next + i + 1) % n;
      return c.claim(init.batchSize);
    }
  }
  return null;
}

async function runLane(lane: Lane): Promise<void> {
  for (;;) {
    const batch = pick(Date.now());
    if (batch !== null) {
      await writer.write(lane, batch);
      fault.count(batch.count);
      batch.cursor.complete(batch);
      continue;
    }
    if (draining() && cursors.every((c) => c.idle() || c.unclaimed() === 0)) return;
    await sleep(POLL_MS);
  }
}

async function main(): Promise<void> {
  const lanes = Array.from(
    { length: init.connections },
    () =>
      new Lane(init.db, (d) => {
        stats[WS_CONNECTED]! += d;
      }),
  );
  post({ type: 'ready', writerIndex: init.writerIndex });
  await Promise.all(lanes.map(runLane));
  await Promise.all(lanes.map((l) => l.close()));
  post({ type: 'drained', writerIndex: init.writerIndex, rows: stats[WS_ROWS]! });
  // Ends this thread only; nothing else of ours is pending.
  process.exit(0);
}

main().catch((err: unknown) => {
  const e = err as Error;
  post({
    type: 'error',
    writerIndex: init.writerIndex,
    code: 'PB_ERR_DB_WRITER',
    message: e.message,
  });
  process.exit(1);
});
