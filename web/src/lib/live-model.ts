/**
 * The page's data: latest snapshot, chart columns, feed and alert rings, fed by the
 * WebSocket and topped up over HTTP after any loss. Applying a frame only stores data and
 * marks what changed; the view reads it once per animation frame (pb-app), so a burst of
 * frames costs one render, and a hidden tab renders nothing.
 */

import type { AlertsData, ControlReply, Frame, MetricsSnapshot, TxFeedData } from '../types.js';
import { ApiError, fetchAlertEvents, fetchHistory, fetchRules, fetchSnapshot } from './api.js';
import { type ConnectionStatus, LiveConnection } from './connection.js';
import { RulesModel } from './rules-model.js';
import { SeriesBuffer } from './series-buffer.js';
import { TxRing } from './tx-ring.js';

export interface Dirty {
  metrics: boolean;
  series: boolean;
  feed: boolean;
  alerts: boolean;
  /** Alert rules: states, events (banner, rules panel, chart markers). */
  rules: boolean;
}

export interface ModelEvents {
  /** Something in `dirty` became true. */
  changed(): void;
  status(status: ConnectionStatus): void;
  /** A user-visible note; a later note with the same key replaces it. */
  notice(key: string, kind: 'warn' | 'info', text: string): void;
}

export const TOPICS = ['metrics', 'tx', 'alerts'] as const;
const HOUR_MS = 3_600_000;
/** Rules' last values and changes made elsewhere; state changes arrive on `alerts` at once. */
const RULES_POLL_MS = 5000;
const HISTORY_EVENTS = 200;

export class LiveModel {
  readonly buffer = new SeriesBuffer();
  readonly feed = new TxRing(1000);
  readonly alerts = new TxRing(500);
  readonly rules = new RulesModel();
  snapshot: MetricsSnapshot | null = null;
  dirty: Dirty = { metrics: false, series: false, feed: false, alerts: false, rules: false };
  feedOmitted = 0;
  alertsDropped = 0;
  /** Server send → receive of the last metrics frame, ms. */
  latencyMs: number | null = null;
  frames = 0;
  missed = 0;
  reconnects = 0;

  private readonly conn: LiveConnection;
  private refetching = false;
  private refetchQueued = false;
  private disconnectedAt: number | null = null;
  private missedByTopic = new Map<string, number>();

  constructor(private readonly events: ModelEvents) {
    this.conn = new LiveConnection(TOPICS, {
      onFrame: (f) => this.onFrame(f),
      onGap: (topic, n) => this.onGap(topic, n),
      onOpen: (reconnect) => this.onOpen(reconnect),
      onStatus: (s) => {
        if (s.state === 'waiting' && this.disconnectedAt === null) this.disconnectedAt = Date.now();
        events.status(s);
      },
    });
  }

  start(): void {
    this.conn.start();
    void this.refetch(true);
    void this.refreshRules(true);
    setInterval(() => {
      if (document.visibilityState !== 'hidden') void this.refreshRules(false);
    }, RULES_POLL_MS);
  }

  /** GET /api/rules (and, with `withEvents`, the recent state changes). */
  async refreshRules(withEvents: boolean): Promise<void> {
    try {
      const [status, events] = await Promise.all([
        fetchRules(),
        withEvents ? fetchAlertEvents(HISTORY_EVENTS) : Promise.resolve(null),
      ]);
      this.rules.setStatus(status);
      if (events) this.rules.apply(events.items.slice().reverse(), false);
      this.mark({ rules: true });
    } catch {
      // An older server, or a token needed: the rules panel says so when it acts.
    }
  }

  get connectionStatus(): ConnectionStatus {
    return this.conn.getStatus();
  }

  /** After `POST /api/reset`: the server's history restarted, so ours does too. */
  resetData(): void {
    this.buffer.clear();
    this.feed.clear();
    this.alerts.clear();
    this.mark({ series: true, feed: true, alerts: true });
    void this.refetch(true);
  }

  mark(patch: Partial<Dirty>): void {
    Object.assign(this.dirty, patch);
    this.events.changed();
  }

  private onFrame(frame: Frame): void {
    this.frames++;
    switch (frame.topic) {
      case 'metrics': {
        this.latencyMs = Date.now() - frame.ts;
        this.applySnapshot(frame.data as MetricsSnapshot);
        break;
      }
      case 'tx': {
        const data = frame.data as TxFeedData;
        this.feed.push(data.items);
        this.feedOmitted = data.omitted;
        this.mark({ feed: true });
        break;
      }
      case 'alerts': {
        const data = frame.data as AlertsData;
        if (data.kind === 'rule') {
          this.rules.apply(data.events ?? []);
          this.mark({ rules: true });
          break;
        }
        if (data.items.length > 0 || data.dropped !== this.alertsDropped) {
          this.alerts.push(data.items);
          this.alertsDropped = data.dropped;
          this.mark({ alerts: true });
        }
        break;
      }
      case 'control': {
        const reply = frame.data as ControlReply;
        if (!reply.ok && reply.error) {
          this.events.notice(
            'control',
            'warn',
            `Server refused ${reply.op ?? 'request'}: ${reply.error.message} (${reply.error.code})`,
          );
        }
        break;
      }
    }
  }

  private applySnapshot(s: MetricsSnapshot): void {
    // An HTTP snapshot can land after a newer pushed one; never step back in time.
    if (this.snapshot && s.ts < this.snapshot.ts) return;
    this.snapshot = s;
    let added = false;
    for (const p of s.seconds ?? []) added = this.buffer.append(p) || added;
    this.mark(added ? { metrics: true, series: true } : { metrics: true });
  }

  private onGap(topic: string, n: number): void {
    this.missed += n;
    const total = (this.missedByTopic.get(topic) ?? 0) + n;
    this.missedByTopic.set(topic, total);
    const at = new Date().toLocaleTimeString();
    const what =
      topic === 'metrics' ? 'snapshot and chart history refetched' : 'those items are not shown';
    this.events.notice(
      `gap-${topic}`,
      'warn',
      `Missed ${total} message${total === 1 ? '' : 's'} on “${topic}” (last at ${at}); ${what}.`,
    );
    if (topic === 'metrics') void this.refetch(false);
  }

  private onOpen(reconnect: boolean): void {
    if (!reconnect) return;
    this.reconnects++;
    void this.refreshRules(true);
    const away = this.disconnectedAt === null ? 0 : (Date.now() - this.disconnectedAt) / 1000;
    this.disconnectedAt = null;
    this.events.notice(
      'reconnect',
      'info',
      `Reconnected after ${away.toFixed(1)} s; messages sent meanwhile were missed, snapshot and history refetched.`,
    );
    void this.refetch(false);
  }

  /**
   * Snapshot + history over HTTP. `full` asks for the whole hour (first load, reset);
   * otherwise only what follows our newest point (the gap). Overlapping calls coalesce.
   */
  private async refetch(full: boolean): Promise<void> {
    if (this.refetching) {
      this.refetchQueued = true;
      return;
    }
    this.refetching = true;
    try {
      const now = Date.now();
      const last = this.buffer.lastMs;
      const from =
        full || !Number.isFinite(last) ? now - HOUR_MS : Math.max(now - HOUR_MS, last + 1);
      const [snap, hist] = await Promise.allSettled([
        fetchSnapshot(),
        fetchHistory(from, now, Math.ceil((now - from) / 1000) + 1),
      ]);
      if (snap.status === 'fulfilled') this.applySnapshot(snap.value);
      else if (snap.reason instanceof ApiError && snap.reason.status === 401) {
        this.events.notice(
          'auth',
          'warn',
          'This server requires a read token: open the page with ?token=<READ_TOKEN> (it is kept for this tab and removed from the address bar).',
        );
      }
      if (hist.status === 'fulfilled' && this.buffer.merge(hist.value) > 0)
        this.mark({ series: true });
    } finally {
      this.refetching = false;
      if (this.refetchQueued) {
        this.refetchQueued = false;
        void this.refetch(false);
      }
    }
  }
}
