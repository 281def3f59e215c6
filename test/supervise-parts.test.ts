import t from 'tap';
import { FaultTrigger, faultSwitchFromEnv } from '../src/shared/fault-switch.js';
import { TX_ID_EPOCH_MS, TX_ID_SEQUENCE_BITS, TX_ID_WORKER_BITS } from '../src/shared/tx-id.js';
import { TxRing } from '../src/shared/tx-ring.js';
import {
  MAX_FAILURES,
  RESTART_CAP_MS,
  RestartPolicy,
  WINDOW_MS,
} from '../src/supervise/restart-policy.js';
import { IdSource } from '../workers/ingest/id-source.js';
import { TransactionFactory } from '../workers/shard/transaction-factory.js';

/**
 * The pieces of thread supervision that need no thread: the restart policy (backoff, give
 * up), the test-only fault switch, and the id floors a restarted shard or ingest thread
 * mints above (no (ms, slot, sequence) triple twice, even when the failed thread had
 * borrowed future milliseconds or the wall clock stepped back).
 */

const ID_MS_SHIFT = BigInt(TX_ID_SEQUENCE_BITS + TX_ID_WORKER_BITS);

t.test('restart policy: capped exponential backoff, then give up', async (t) => {
  const p = new RestartPolicy();
  const delays: number[] = [];
  let now = 1_000_000;
  for (let i = 0; i < MAX_FAILURES; i++) {
    const d = p.next(now);
    if (d.giveUp) throw new Error('gave up too early');
    delays.push(d.delayMs);
    now += 1000;
  }
  t.same(delays, [500, 1000, 2000, 4000, RESTART_CAP_MS], 'doubling, capped');
  t.same(
    p.next(now),
    { giveUp: true, failures: MAX_FAILURES + 1 },
    `gives up past ${MAX_FAILURES}`,
  );
  const calm = new RestartPolicy();
  for (let i = 0; i < 20; i++) {
    const d = calm.next(i * (WINDOW_MS / MAX_FAILURES + 1));
    if (d.giveUp) t.fail(`failures spread over time never give up (gave up at ${i})`);
  }
  t.pass('failures spread wider than the window are restarted forever');
});

t.test('fault switch: off by default, parsed once, a shared budget of throws', async (t) => {
  t.same(faultSwitchFromEnv({}), {}, 'unset: no faults');
  t.same(faultSwitchFromEnv({ PB_FAULT_THROW: '' }), {}, 'empty: no faults');
  t.throws(() => faultSwitchFromEnv({ PB_FAULT_THROW: 'disk:5' }), {
    code: 'PB_ERR_OPTIONS_INVALID',
  });
  t.throws(() => faultSwitchFromEnv({ PB_FAULT_THROW: 'writer:x' }), {
    code: 'PB_ERR_OPTIONS_INVALID',
  });
  const f = faultSwitchFromEnv({ PB_FAULT_THROW: 'writer:10:2, read:1' });
  t.equal(f.writer?.records, 10);
  t.equal(f.read?.records, 1);
  const off = new FaultTrigger(undefined);
  off.count(1e9);
  t.equal(off.remaining, Number.POSITIVE_INFINITY, 'no spec: never throws');
  // Three threads of the role, a budget of two throws.
  const threads = [
    new FaultTrigger(f.writer),
    new FaultTrigger(f.writer),
    new FaultTrigger(f.writer),
  ];
  t.doesNotThrow(() => threads[0]!.count(9), 'below the threshold');
  t.throws(() => threads[0]!.count(1), /PB_FAULT_THROW/, 'the first thread to reach it throws');
  t.doesNotThrow(() => threads[0]!.count(100), 'once');
  t.throws(() => threads[1]!.count(10), /PB_FAULT_THROW/, 'the second one too');
  t.doesNotThrow(() => threads[2]!.count(10), 'the budget is spent: the third does not');
});

t.test('a restarted shard mints only above the failed thread’s last id ms', async (t) => {
  const cfg = {
    worker: 5,
    shardIndex: 5,
    shardCount: 8,
    accounts: 1000,
    sourceNames: ['ach', 'wire'],
    procMinMs: 1,
    procMedianMs: 2,
    procMaxMs: 3,
    fraudAmountThreshold: 1e12,
    fraudVelocityMax: 1e6,
  };
  const pool = TxRing.create(16).f;
  const now = TX_ID_EPOCH_MS + 1_000_000;
  // The failed thread's last id ms (G_ID_MS) is 3 ms ahead of this clock: it had borrowed
  // future ms (more than 4096 ids in one), or the wall clock stepped back since.
  const lastMs = 1_000_003;
  const after = new TransactionFactory(cfg);
  after.setParams(0, 0, -1);
  after.resumeIdsAfter(lastMs);
  let atOrBelow = 0;
  for (let slot = 0; slot < 16; slot++) {
    after.create(pool, slot, now);
    after.mintId(pool, slot, now); // at completion
    const id = (BigInt(pool.idHi[slot]!) << 32n) | BigInt(pool.idLo[slot]!);
    if (Number(id >> ID_MS_SHIFT) <= lastMs) atOrBelow++;
  }
  t.equal(atOrBelow, 0, 'no id at or below the floor');
  t.equal(after.lastIdMs, lastMs + 1, 'the next ms after the floor, sequence from 0');
});

t.test('a restarted ingest thread mints only above the failed one’s last id ms', async (t) => {
  const failed = new IdSource(63);
  const now = TX_ID_EPOCH_MS + 2_000_000;
  for (let i = 0; i < 4096 * 2 + 10; i++) failed.next(now); // borrows two ms ahead
  const floor = failed.lastIdMs;
  t.equal(floor, 2_000_002, 'the failed thread had borrowed ahead');
  const restarted = new IdSource(63, floor);
  const first = restarted.next(now);
  const id = (BigInt(first.hi) << 32n) | BigInt(first.lo);
  t.equal(Number(id >> ID_MS_SHIFT), floor + 1, 'first id above the floor');
});
