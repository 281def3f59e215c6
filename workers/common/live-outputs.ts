import { FeedSampleBuffer, ReservoirSampler } from '../../src/shared/feed-sample.js';
import { G_ALERTS_DROPPED } from '../../src/shared/metric-buckets.js';
import { C_TICK } from '../../src/shared/shard-protocol.js';
import { type RecordViews, TxRing } from '../../src/shared/tx-ring.js';
import type { WindowWriter } from './window-writer.js';

/**
 * Where a window thread's finished transactions go besides its metric buckets, for the
 * primary to show live: a uniform sample of each tick's to the feed (feed-sample.ts), and
 * every flagged one to the alert ring while it has room (then counted in G_ALERTS_DROPPED:
 * the primary drains the ring every tick, and a flood of alerts must not stall completions).
 * Simulator shards and the ingest thread both use it, the same way:
 *
 *   follow(windows)            once per loop turn: a new tick hands the sample over, a reset
 *                              forgets it
 *   begin()                    before a batch of completions
 *     feedSlot() / alertSlot() per completion: the index to copy its record to, or -1
 *   end()                      publishes the batch's alerts (one Atomics.store)
 */

export interface LiveOutputsInit {
  feedSab: SharedArrayBuffer;
  feedSize: number;
  alertRingSab: SharedArrayBuffer;
  alertRingCapacity: number;
}

export class LiveOutputs {
  /** Records of the feed sample: copy a sampled completion to `feed[feedSlot()]`. */
  readonly feed: RecordViews;
  /** Records of the alert ring: copy a flagged completion to `alerts[alertSlot()]`. */
  readonly alerts: RecordViews;
  private readonly sampler: ReservoirSampler;
  private readonly alertRing: TxRing;
  private alertPos = 0;
  private alertFree = 0;
  private tickSeen: number;

  constructor(
    init: LiveOutputsInit,
    private readonly control: Int32Array,
    /** The thread's counters (WindowWriter.counters), published with its bucket rows. */
    private readonly counters: Float64Array,
  ) {
    const feed = new FeedSampleBuffer(init.feedSab, init.feedSize);
    this.feed = feed.f;
    this.sampler = new ReservoirSampler(feed);
    this.alertRing = new TxRing(init.alertRingSab, init.alertRingCapacity);
    this.alerts = this.alertRing.f;
    this.tickSeen = Atomics.load(control, C_TICK);
  }

  /** Applies a reset the primary asked for, and hands the sample over on a new tick. */
  follow(windows: WindowWriter): void {
    if (windows.applyResetIfAsked()) this.sampler.discard();
    const tick = Atomics.load(this.control, C_TICK);
    if (tick !== this.tickSeen) {
      this.tickSeen = tick;
      this.sampler.flush(); // the primary drained the previous sample before it ticked
    }
  }

  begin(): void {
    this.alertPos = this.alertRing.writePos;
    this.alertFree = this.alertRing.freeSlots();
  }

  /** Offers one completion to the feed sample: where to copy it, or -1 (not sampled). */
  feedSlot(): number {
    return this.sampler.offer();
  }

  /** Where to copy one flagged completion, or -1 (ring full: counted as dropped). */
  alertSlot(): number {
    if (this.alertFree === 0) {
      this.counters[G_ALERTS_DROPPED]!++;
      return -1;
    }
    const i = this.alertPos & this.alertRing.mask;
    this.alertPos = (this.alertPos + 1) | 0;
    this.alertFree--;
    return i;
  }

  end(): void {
    this.alertRing.publish(this.alertPos);
  }
}
