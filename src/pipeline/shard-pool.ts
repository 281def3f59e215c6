import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Options } from '../config/option-specs.js';
import { PulseboardError } from '../errors.js';
import { FeedSampleBuffer } from '../shared/feed-sample.js';
import { ShardMetrics } from '../shared/metric-buckets.js';
import {
  C_RESET,
  C_RESET_ACK,
  C_SOURCE_MASK,
  C_STOP,
  C_TICK,
  C_WAKE,
  G_FAILURE_RATE,
  G_PAIRING_RATE,
  G_RATE,
  type ShardInit,
  type ShardMessage,
} from '../shared/shard-protocol.js';
import { TxRing } from '../shared/tx-ring.js';
import { workerEnv } from '../shared/worker-env.js';
import { prepareResume } from '../supervise/resume-state.js';
import type { Supervision } from '../supervise/supervisor.js';
import type { WindowThread } from './window-thread.js';

/**
 * Starts the simulator shard threads and owns their shared memory. Everything the
 * primary tells a shard (rate, parameters, tick, reset, stop) is a store into the shard's
 * control block followed by a notify on C_WAKE: no message per change, no queue.
 *
 * Because the primary owns that memory, a shard thread that fails is restarted on it
 * (src/supervise/supervisor.ts): the new thread resumes at the ring's published write
 * position, in the same buckets and control block, with the seqlock made even again and
 * ids minted above the failed thread's last one (resume-state.ts). The failed thread's
 * in-flight pool is private and is lost with it: those simulated transactions were never
 * acknowledged to anyone, and the records it wrote to the ring but had not published are
 * overwritten. Its partial batch may already be counted in the open second's bucket.
 */

const SHARD_SCRIPT = fileURLToPath(new URL('../../workers/shard/shard-worker.js', import.meta.url));
const ALERT_RING_CAPACITY = 16_384;

/** A simulator shard: a window thread whose completions also go to MySQL by its tx ring. */
export interface Shard extends WindowThread {
  readonly txRing: TxRing;
}

export interface SimulatorParams {
  /** Total tx/s across shards; Infinity = as fast as possible. */
  tps: number;
  failureRate: number;
  pairingRate: number;
  /** Indexes of the sources to generate (empty = all). */
  sources: readonly number[];
}

export class ShardPool {
  /** Every window thread: the simulator shards, then adopted ones (the ingest thread). */
  readonly shards: WindowThread[] = [];
  /** The simulator shards alone, with their tx rings. */
  readonly simulators: Shard[] = [];
  private readonly inits: (ShardInit & { sourceNames: string[] })[] = [];
  private resetEpoch = 0;
  private tickEpoch = 0;
  private params: SimulatorParams;
  /** This node's share of the rate (cluster mode: 1 / live nodes; src/cluster/). */
  private share = 1;

  /** Without `supervision` (benchmarks) a failed shard is not restarted. */
  constructor(
    private readonly options: Options,
    private readonly supervision?: Supervision,
  ) {
    this.params = {
      tps: options.simTps,
      failureRate: options.failureRate,
      pairingRate: options.unusualPairRate,
      sources: [],
    };
  }

  /**
   * Starts the shard threads. `beforeShard` runs for each shard after its rings exist and
   * before its thread starts: the MySQL writers claim their ring consumer slot there, so no
   * completed record can be produced before they listen.
   */
  async start(beforeShard?: (shard: Shard) => void): Promise<void> {
    const o = this.options;
    const ready: Promise<void>[] = [];
    for (let index = 0; index < o.shards; index++) {
      const metrics = ShardMetrics.create();
      const txRing = TxRing.create(o.ringCapacity);
      const feed = FeedSampleBuffer.create(o.feedPerTick);
      const alertRing = TxRing.create(ALERT_RING_CAPACITY);
      // The primary is the alerts' only consumer.
      alertRing.attachConsumer();
      const init: ShardInit & { sourceNames: string[] } = {
        shardIndex: index,
        shardCount: o.shards,
        nodeId: o.nodeId ?? 0,
        metricsSab: metrics.sab,
        txRingSab: txRing.sab,
        txRingCapacity: o.ringCapacity,
        feedSab: feed.sab,
        feedSize: feed.size,
        alertRingSab: alertRing.sab,
        alertRingCapacity: ALERT_RING_CAPACITY,
        inflightCapacity: o.inflightCapacity,
        sourceCount: o.sources.length,
        sourceNames: [...o.sources],
        accounts: o.accounts,
        procMinMs: o.procMinMs,
        procMedianMs: o.procMedianMs,
        procMaxMs: o.procMaxMs,
        fraudAmountThreshold: o.fraudAmountThreshold,
        fraudVelocityMax: o.fraudVelocityMax,
        ...(this.supervision?.faults.shard ? { fault: this.supervision.faults.shard } : {}),
      };
      this.inits.push(init);
      const shard: Shard = {
        index,
        metrics,
        txRing,
        feed,
        alertRing,
        worker: undefined as unknown as Worker,
      };
      this.shards.push(shard);
      this.simulators.push(shard);
      this.writeParams(shard);
      beforeShard?.(shard);
      ready.push(this.spawn(shard, false).ready);
    }
    await Promise.all(ready);
  }

  /**
   * Starts shard `shard`'s thread on its shared memory; `resume` for a restart after a
   * failure (the failed thread has exited). `ready` rejects if the thread fails first.
   */
  private spawn(shard: WindowThread, resume: boolean): { worker: Worker; ready: Promise<void> } {
    const base = this.inits[shard.index]!;
    const init = resume ? { ...base, ...prepareResume(shard.metrics) } : base;
    const worker = new Worker(SHARD_SCRIPT, {
      workerData: init,
      name: `shard-${shard.index}`,
      env: workerEnv(),
    });
    (shard as { worker: Worker }).worker = worker;
    const watch = this.supervision?.supervisor.watch(
      {
        role: 'shard',
        name: `shard ${shard.index}`,
        exitExpected: () => Atomics.load(shard.metrics.control, C_STOP) === 1,
        failed: () => {},
        restart: () => this.spawn(shard, true),
      },
      worker,
    );
    const ready = new Promise<void>((resolve, reject) => {
      const failed = (message: string) =>
        reject(new PulseboardError('PB_ERR_WORKER_FAILED', `shard ${shard.index}: ${message}`));
      worker.on('message', (m: ShardMessage) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'error') {
          watch?.fail(m.message);
          failed(m.message);
        }
      });
      worker.once('error', (e) => failed(e.message));
      worker.once('exit', (code) => failed(`exited with code ${code}`));
    });
    // Before ready, a failure rejects `ready`; after it, only the supervisor acts on it.
    ready.catch(() => {});
    return { worker, ready };
  }

  /**
   * Adds a window thread that is not a simulator (the ingest thread): the snapshot merges its metrics and the publisher reads its feed and alert
   * rings; tick, reset and stop reach it like any shard. Call before the snapshot is built.
   */
  adopt(shard: WindowThread): void {
    this.shards.push(shard);
  }

  /** Simulator shards only (shards.length also counts adopted threads). */
  get simulatorShards(): number {
    return this.options.shards;
  }

  get simulatorParams(): Readonly<SimulatorParams> {
    return this.params;
  }

  /** Runs `share` (0–1] of every rate from now on: this node's part of the cluster's rate. */
  setShare(share: number): void {
    if (share === this.share) return;
    this.share = share;
    for (const shard of this.shards) this.writeParams(shard);
  }

  setParams(params: Partial<SimulatorParams>): void {
    this.params = { ...this.params, ...params };
    for (const shard of this.shards) this.writeParams(shard);
  }

  /** Starts a new tick: every thread hands over its feed sample and starts a new one. */
  tick(): void {
    this.tickEpoch = (this.tickEpoch + 1) | 0;
    for (const s of this.shards) Atomics.store(s.metrics.control, C_TICK, this.tickEpoch);
  }

  /**
   * Asks every shard to clear its windows and counters; resolves when all have. With a
   * shard thread down, answers at once with 503 rather than waiting for the restart.
   */
  async reset(): Promise<void> {
    this.throwIfDown();
    this.resetEpoch = (this.resetEpoch + 1) | 0;
    for (const s of this.shards) {
      Atomics.store(s.metrics.control, C_RESET, this.resetEpoch);
      this.wake(s);
    }
    const deadline = Date.now() + 5000;
    while (
      this.shards.some((s) => Atomics.load(s.metrics.control, C_RESET_ACK) !== this.resetEpoch)
    ) {
      this.throwIfDown();
      if (Date.now() > deadline)
        throw new PulseboardError('PB_ERR_WORKER_FAILED', 'a shard did not apply the reset');
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  private throwIfDown(): void {
    // The adopted ingest thread takes part in resets too.
    const down = this.supervision?.health.downOf(['shard', 'ingest']) ?? [];
    if (down.length > 0) {
      throw new PulseboardError(
        'PB_ERR_THREAD_DOWN',
        `${down.join(', ')} thread down, restarting: retry the reset shortly`,
        { threads: down },
      );
    }
  }

  /** Stops every shard thread (in-flight simulated transactions are abandoned). */
  async stop(): Promise<void> {
    await Promise.all(
      this.shards.map(async (s) => {
        Atomics.store(s.metrics.control, C_STOP, 1);
        this.wake(s);
        if (s.worker.threadId === -1) return; // failed and not restarted: already gone
        const exited = new Promise((r) => s.worker.once('exit', r));
        const timer = setTimeout(() => void s.worker.terminate(), 2000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private writeParams(shard: WindowThread): void {
    const { tps, failureRate, pairingRate, sources } = this.params;
    const g = shard.metrics.gauges;
    g[G_RATE] = tps === Number.POSITIVE_INFINITY ? tps : (tps * this.share) / this.options.shards;
    g[G_FAILURE_RATE] = failureRate;
    g[G_PAIRING_RATE] = pairingRate;
    let mask = 0;
    if (sources.length === 0) mask = -1;
    else for (const s of sources) mask |= 1 << s;
    Atomics.store(shard.metrics.control, C_SOURCE_MASK, mask);
    this.wake(shard);
  }

  private wake(shard: WindowThread): void {
    Atomics.add(shard.metrics.control, C_WAKE, 1);
    Atomics.notify(shard.metrics.control, C_WAKE);
  }
}
