import type { Logger } from '../log/logger.js';

/**
 * Pushes alerts to Alertmanager's v2 API (POST {ALERTMANAGER_URL}/api/v2/alerts, a JSON
 * array of postable alerts), off the tick: enqueue() only updates a map and returns.
 *
 *   tick ──enqueue()──► pending (by label set: a newer version replaces the queued one;
 *                        at most MAX_QUEUED, oldest dropped and counted)
 *                          │  one POST in flight, ≤ BATCH alerts
 *                          ▼
 *                     Alertmanager ── 2xx: done · 4xx: dropped (logged) ·
 *                                     5xx / network / timeout: kept, retried with backoff
 *
 * What is sent, and when, follows Prometheus (rules/manager.go, notifier/notifier.go): the
 * caller (alerting.ts) hands over a firing alert when it fires and again every resend
 * interval with endsAt = now + 4 × max(resend, tick), and a resolved alert with endsAt =
 * its resolution time. Prometheus drops a failed batch and relies on the next re-send;
 * here a failed batch is retried with exponential backoff (0.5 s doubling to 30 s, ±20 %
 * jitter), newer versions of the same alert replacing older ones meanwhile.
 */

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

export interface AlertmanagerStatus {
  url: string;
  /** The last POST succeeded (true before the first one). */
  up: boolean;
  queued: number;
  sent: number;
  /** POSTs that failed (each retried, unless Alertmanager refused the alerts with a 4xx). */
  errors: number;
  /** Alerts given up: queue overflow or refused with a 4xx. */
  dropped: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastSuccessAt: number | null;
  /** Failures in a row (0 while healthy). */
  failingFor: number;
}

const BATCH = 64;
const MAX_QUEUED = 10_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export function alertFingerprint(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );
}

export class AlertmanagerClient {
  readonly status: AlertmanagerStatus;
  private readonly endpoint: string;
  private readonly pending = new Map<string, PostableAlert>();
  private inFlight = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs = 0;
  private closed = false;
  private readonly abort = new AbortController();

  constructor(
    url: string,
    private readonly log: Logger,
    private readonly timeoutMs = 10_000,
  ) {
    this.endpoint = `${url.replace(/\/+$/, '')}/api/v2/alerts`;
    this.status = {
      url,
      up: true,
      queued: 0,
      sent: 0,
      errors: 0,
      dropped: 0,
      lastError: null,
      lastErrorAt: null,
      lastSuccessAt: null,
      failingFor: 0,
    };
  }

  /** Queues alerts for the next POST; never waits. */
  enqueue(alerts: PostableAlert[]): void {
    if (this.closed) return;
    for (const a of alerts) {
      const key = alertFingerprint(a.labels);
      this.pending.delete(key); // re-insert at the end: the newest version, in order
      this.pending.set(key, a);
      if (this.pending.size > MAX_QUEUED) {
        const oldest = this.pending.keys().next().value as string;
        this.pending.delete(oldest);
        this.status.dropped++;
      }
    }
    this.status.queued = this.pending.size;
    if (!this.inFlight && this.retryTimer === undefined) void this.flush();
  }

  private async flush(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.pending.size > 0 && !this.closed) {
        const batch = [...this.pending.entries()].slice(0, BATCH);
        const outcome = await this.post(batch.map(([, a]) => a));
        if (outcome === 'retry') {
          this.scheduleRetry();
          return;
        }
        // Sent (or refused for good): forget them, unless a newer version arrived meanwhile.
        for (const [key, a] of batch) if (this.pending.get(key) === a) this.pending.delete(key);
        if (outcome === 'refused') this.status.dropped += batch.length;
        this.status.queued = this.pending.size;
      }
    } finally {
      this.inFlight = false;
    }
  }

  private async post(alerts: PostableAlert[]): Promise<'ok' | 'retry' | 'refused'> {
    const s = this.status;
    try {
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.timeoutMs)]),
      });
      const text = await res.text();
      if (res.ok) {
        if (!s.up) this.log.info({ url: s.url }, 'Alertmanager reachable again');
        s.up = true;
        s.sent += alerts.length;
        s.lastSuccessAt = Date.now();
        s.failingFor = 0;
        this.backoffMs = 0;
        return 'ok';
      }
      this.failed(`HTTP ${res.status}: ${text.slice(0, 200)}`);
      // 4xx: Alertmanager will never take these alerts as they are; retrying cannot help.
      return res.status >= 400 && res.status < 500 && res.status !== 429 ? 'refused' : 'retry';
    } catch (err) {
      if (this.closed) return 'refused';
      this.failed((err as Error).message);
      return 'retry';
    }
  }

  private failed(reason: string): void {
    const s = this.status;
    s.errors++;
    s.failingFor++;
    s.lastError = reason;
    s.lastErrorAt = Date.now();
    if (s.up) {
      this.log.warn(
        { code: 'PB_ERR_ALERTMANAGER', url: s.url, err: reason },
        'cannot push alerts to Alertmanager; retrying with backoff',
      );
    }
    s.up = false;
  }

  private scheduleRetry(): void {
    this.backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, this.backoffMs * 2));
    const delay = Math.round(this.backoffMs * (0.8 + Math.random() * 0.4));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.inFlight) void this.flush();
    }, delay);
    this.retryTimer.unref();
  }

  /** Stops retrying and aborts a POST in flight (shutdown). */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.abort.abort();
  }

  /** Resolves when nothing is queued or in flight, or after `ms` (tests, shutdown). */
  async idle(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.pending.size > 0 || this.inFlight) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }
}
