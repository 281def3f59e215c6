import type { SnapshotService } from '../metrics/snapshot-service.js';
import { WINDOW_SECONDS } from '../metrics/snapshot-types.js';
import type { SourceRegistry } from '../shared/source-registry.js';
import {
  B_COUNT,
  OVERFLOW_SLOT,
  S_COUNT,
  SOURCE_SLOTS,
  sourceField,
} from '../shared/window-row.js';
import { ALL, type MetricReader, MetricSlots, type ReaderMetric } from './metric-reader.js';
import { RULE_WINDOWS, type RuleWindow } from './rule-metrics.js';

/**
 * The MetricReader over the snapshot the tick already builds (SnapshotService.latest):
 * whole-window metrics from `windows`, per-source ones from `sourcesByWindow` (count, failed,
 * volume; tps and failure rate derived), gauges from `inFlight` and `pipeline`. Its cost
 * per tick is O(windows × sources), whatever the transaction rate.
 *
 * Absence needs one thing the snapshot does not say: when a source last finished a
 * transaction. That is kept here, from the per-source counts of the open seconds of each
 * read and of each second as it closes (so a tick longer than a second misses nothing), at
 * one-second precision; at start it is found in the reloaded hour, or is the start time
 * (for a source first tracked later: the start time too, so an absence rule on a source
 * that never sent anything fires once absentFor has passed since start).
 *
 * `ingestStreamLag` reads 0: the JetStream ingest that will report it does not exist yet.
 */
export class SnapshotMetricReader implements MetricReader {
  private readonly slots: MetricSlots;
  /** Epoch ms of the last transaction per source slot; index SOURCE_SLOTS is "any source". */
  private readonly lastSeen: Float64Array;
  private readonly registry: SourceRegistry;

  constructor(
    private readonly snapshots: SnapshotService,
    startedAt = Date.now(),
  ) {
    this.registry = snapshots.sourceRegistry;
    this.slots = new MetricSlots(this.registry.names(), SOURCE_SLOTS);
    this.lastSeen = new Float64Array(SOURCE_SLOTS + 1).fill(startedAt);
    // Reloaded history (a restart): the last second of the hour each source was seen in.
    const now = Math.floor(startedAt / 1000);
    for (let s = now - WINDOW_SECONDS['1h']; s < now; s++) this.seeClosed(s);
    this.refresh();
  }

  /** Tracked names by slot: the registry's list, which grows as sources appear. */
  get sources(): readonly string[] {
    return this.registry.names();
  }

  get values(): Float64Array {
    return this.slots.values;
  }

  slotOf(name: string): number {
    return this.registry.slotOf(name);
  }

  slot(metric: ReaderMetric, window: RuleWindow | null, source: number): number {
    return this.slots.slot(metric, window, source);
  }

  private seeClosed(s: number): void {
    const acc = this.snapshots.accumulator;
    const end = (s + 1) * 1000;
    let any = false;
    const see = (i: number) => {
      if (acc.closedSourceCount(s, i) > 0) {
        any = true;
        if (end > this.lastSeen[i]!) this.lastSeen[i] = end;
      }
    };
    for (let i = 0; i < this.registry.count; i++) see(i);
    see(OVERFLOW_SLOT);
    if (any && end > this.lastSeen[SOURCE_SLOTS]!) this.lastSeen[SOURCE_SLOTS] = end;
  }

  /** Reads the latest snapshot into the values (once per tick, after the snapshot). */
  refresh(): void {
    const snap = this.snapshots.latest;
    const acc = this.snapshots.accumulator;
    const slots = this.slots;
    const v = slots.values;
    const nowSecond = Math.floor(snap.ts / 1000);
    const S = SOURCE_SLOTS;
    const registry = this.registry;
    const named = registry.names().length;
    // Slot of (metric, window, all sources); source slot i is at +1+i (metric-reader.ts).
    const at = (m: ReaderMetric, w: RuleWindow) => slots.slot(m, w, ALL);
    for (const w of RULE_WINDOWS) {
      const m = snap.windows[w];
      v[at('count', w)] = m.count;
      v[at('failed', w)] = m.failed;
      v[at('tps', w)] = m.avgTps;
      v[at('failureRate', w)] = m.failureRate;
      v[at('volumeUsd', w)] = m.volumeUsd;
      v[at('avgMs', w)] = m.avgMs;
      v[at('p50Ms', w)] = m.p50Ms;
      v[at('p95Ms', w)] = m.p95Ms;
      v[at('p99Ms', w)] = m.p99Ms;
      v[at('flagged', w)] = m.flagged;
      const count = at('count', w) + 1;
      const failed = at('failed', w) + 1;
      const tps = at('tps', w) + 1;
      const rate = at('failureRate', w) + 1;
      const usd = at('volumeUsd', w) + 1;
      for (const off of [count, failed, tps, rate, usd]) v.fill(0, off, off + S);
      const covered = acc.coveredSeconds(w, nowSecond);
      for (const src of this.snapshots.sourcesByWindow[w] ?? []) {
        const i = registry.find(src.source);
        if (i === -1) continue;
        v[count + i] = src.count;
        v[failed + i] = src.failed;
        v[tps + i] = Math.round((src.count / covered) * 1000) / 1000;
        v[rate + i] = src.count > 0 ? src.failed / src.count : 0;
        v[usd + i] = src.volumeUsd;
      }
    }
    slots.set('inFlight', null, ALL, snap.inFlight.pending + snap.inFlight.processing);
    slots.set('writerLag', null, ALL, snap.pipeline.writerLag);
    slots.set('ingestStreamLag', null, ALL, 0);

    for (const p of snap.seconds) this.seeClosed(Math.floor(p.t / 1000));
    const open = acc.lastOpen.sum;
    const since = (i: number) => Math.max(0, (snap.ts - this.lastSeen[i]!) / 1000);
    const tracked = (i: number) => {
      if (open[sourceField(i, S_COUNT)]! > 0) this.lastSeen[i] = snap.ts;
      slots.set('secondsSinceLast', null, i, since(i));
    };
    for (let i = 0; i < named; i++) tracked(i);
    tracked(OVERFLOW_SLOT);
    if (open[B_COUNT]! > 0) this.lastSeen[S] = snap.ts;
    slots.set('secondsSinceLast', null, ALL, since(S));
  }
}
