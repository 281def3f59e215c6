import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { parseOptions } from '../src/config/parse-options.js';
import { ShardPool } from '../src/pipeline/shard-pool.js';
import { faultSwitchFromEnv } from '../src/shared/fault-switch.js';
import { G_COMPLETED, G_ID_MS, G_PENDING, G_PROCESSING } from '../src/shared/metric-buckets.js';
import { C_SEQ } from '../src/shared/shard-protocol.js';
import { TX_ID_SEQUENCE_BITS, TX_ID_WORKER_BITS } from '../src/shared/tx-id.js';
import { Supervisor } from '../src/supervise/supervisor.js';
import { type NotReady, ThreadHealth } from '../src/supervise/thread-health.js';

/**
 * A simulator shard thread that dies in the middle of a batch is restarted on the shared
 * memory the primary owns (issue 10, part 3), here with real shard threads in this process
 * and this test as the ring's consumer, so every published record is seen:
 *   - the failure is logged at error level naming the thread, and the pool reports it down
 *     (what /readyz answers) until the new thread is ready;
 *   - the dead thread left the seqlock odd (it died holding it: the fault fires inside
 *     advance()); after the restart it is even again whenever the shard is idle. Without
 *     prepareResume() it stays odd for good, and every snapshot read of the shard tears;
 *   - no id is published twice, the new thread's ids are all above the last ms the failed
 *     one minted (G_ID_MS), and no published record is missing: the records read equal the
 *     shard's completed count. (At this rate the new thread's clock is past the old ids by
 *     itself; the floor is what keeps that true across a wall-clock step back or a borrowed
 *     future ms — resumeIdsAfter is checked directly in supervise-parts.test.ts.)
 * On the code before supervision the shard was not restarted at all (the server exited).
 */

const ID_MS_SHIFT = BigInt(TX_ID_SEQUENCE_BITS + TX_ID_WORKER_BITS);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test(
  'a shard that dies mid-batch restarts on its ring: seqlock even, ids unique, nothing lost',
  async (t) => {
    const { options } = parseOptions(
      [
        '--sim-tps',
        '20000',
        '--shards',
        '1',
        '--proc-min-ms',
        '5',
        '--proc-median-ms',
        '20',
        '--proc-max-ms',
        '60',
      ],
      {},
    );
    const logs: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, done) {
          logs.push(JSON.parse(String(chunk)) as Record<string, unknown>);
          done();
        },
      }),
    );
    const health = new ThreadHealth();
    const supervisor = new Supervisor(log, health);
    const faults = faultSwitchFromEnv({ PB_FAULT_THROW: 'shard:30000' });
    const pool = new ShardPool(options, { supervisor, health, faults });
    let consumer = -1;
    await pool.start((shard) => {
      consumer = shard.txRing.attachConsumer();
    });
    t.teardown(() => pool.stop());
    supervisor.start();
    const shard = pool.shards[0]!;
    const { txRing: ring, metrics } = shard;

    // The moment the failed thread is gone. Its 'exit' listeners run in order: the
    // supervisor's (registered at spawn: marks it down, schedules the restart) before this one.
    const failed = shard.worker;
    const atExit = new Promise<{ down: NotReady | null; seq: number; idMs: number; write: number }>(
      (resolve) =>
        failed.once('exit', () =>
          resolve({
            down: health.notReady(),
            seq: Atomics.load(metrics.control, C_SEQ),
            idMs: metrics.gauges[G_ID_MS]!,
            write: ring.writePos,
          }),
        ),
    );

    // Consume every published record, as a writer would.
    const seen = new Set<bigint>();
    let duplicates = 0;
    let read = ring.readPos(consumer);
    let restartedAt: number | undefined; // ring position where the new thread's records start
    let idMsFloor = 0;
    let belowFloor = 0;
    const consume = () => {
      const write = ring.writePos;
      for (; read !== write; read = (read + 1) | 0) {
        const i = read & ring.mask;
        const id = (BigInt(ring.f.idHi[i]!) << 32n) | BigInt(ring.f.idLo[i]!);
        if (seen.has(id)) duplicates++;
        else seen.add(id);
        if (restartedAt !== undefined && ((read - restartedAt) | 0) >= 0) {
          if (Number(id >> ID_MS_SHIFT) <= idMsFloor) belowFloor++;
        }
      }
      ring.release(consumer, read);
    };
    let exit: Awaited<typeof atExit> | undefined;
    void atExit.then((e) => {
      exit = e;
      restartedAt = e.write;
      idMsFloor = e.idMs;
    });

    const deadline = Date.now() + 40_000;
    let afterRestart = 0;
    while (Date.now() < deadline) {
      consume();
      if (health.restarts.shard === 1 && exit !== undefined) {
        afterRestart = (ring.writePos - exit.write) | 0;
        if (afterRestart >= 20_000) break;
      }
      await sleep(5);
    }
    t.ok(exit, 'the shard thread died');
    t.equal(health.restarts.shard, 1, 'and was restarted once');
    t.ok(afterRestart >= 20_000, `the new thread produced ${afterRestart} records`);

    t.same(exit?.down?.threads, ['shard 0'], 'not ready while down, naming the shard');
    t.equal(exit?.down?.code, 'PB_ERR_THREAD_DOWN', 'with PB_ERR_THREAD_DOWN');
    t.equal(health.notReady(), null, 'ready again once the new thread runs');
    const logged = logs.find((l) => l.code === 'PB_ERR_THREAD_DOWN');
    t.equal(logged?.level, 50, 'the failure is logged at error level');
    t.equal(logged?.thread, 'shard 0', 'naming the thread');
    t.ok(
      logs.some((l) => l.msg === 'shard 0 thread restarted'),
      'and the restart is logged',
    );
    t.equal((exit?.seq ?? 0) & 1, 1, 'the failed thread died holding the seqlock (odd)');

    // Idle the shard: every in-flight transaction completes and is published.
    pool.setParams({ tps: 0 });
    const idleBy = Date.now() + 20_000;
    while (Date.now() < idleBy && metrics.gauges[G_PENDING]! + metrics.gauges[G_PROCESSING]! > 0) {
      consume();
      await sleep(5);
    }
    await sleep(50);
    consume();
    const seq = Atomics.load(metrics.control, C_SEQ);
    t.equal(seq & 1, 0, `the seqlock is even while the restarted shard is idle (${seq})`);
    t.equal(duplicates, 0, 'no id published twice');
    t.equal(belowFloor, 0, `every id of the new thread is above the failed one's last ms`);
    t.equal(
      seen.size,
      metrics.gauges[G_COMPLETED],
      `every completed record was published and read (${seen.size})`,
    );
  },
);
