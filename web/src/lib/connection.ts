/**
 * The live WebSocket: connect, detect loss, reconnect with backoff.
 *
 *   connecting ──open──▶ live ──close/stall──▶ waiting ──timer──▶ connecting …
 *
 * Loss shows up two ways and both are reported, because the page must then refetch:
 *  - a sequence jump on a topic while connected (the server skipped frames for us);
 *  - a reconnect (everything sent while we were away is gone).
 * Sequence numbers restart with a new server process, so they are tracked per connection.
 */

import { bearerSubprotocol, WS_PROTOCOL } from '../../../src/ws/ws-subprotocol.js';
import type { Frame } from '../types.js';
import { fetchWsEndpoint, getReadToken, type WsEndpoint } from './api.js';

export type ConnectionState = 'connecting' | 'live' | 'waiting';

export interface ConnectionStatus {
  state: ConnectionState;
  /** Failed attempts since the last good connection. */
  attempt: number;
  /** Epoch ms of the next attempt while `waiting`. */
  retryAt: number | null;
  /** Epoch ms the last frame arrived. */
  lastFrameAt: number | null;
}

export interface ConnectionHandlers {
  onFrame(frame: Frame): void;
  onStatus(status: ConnectionStatus): void;
  /** `missed` frames never arrived on `topic` (sequence jump). */
  onGap(topic: string, missed: number): void;
  /** A socket opened; `reconnect` is false only for the first one. */
  onOpen(reconnect: boolean): void;
}

/** Backoff: 0.5 s doubling to 10 s, with ±25 % jitter so a restarted server is not stampeded. */
const BASE_MS = 500;
const CAP_MS = 10_000;
/**
 * No frame for this long while "live" means a half-open socket: drop it and reconnect.
 * The floor suits the default 500 ms tick; a slower TICK_MS raises it (4 × the usual gap).
 */
const STALL_MS = 6_000;

export function backoffDelay(attempt: number, random = Math.random): number {
  const raw = Math.min(CAP_MS, BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.75 + random() * 0.5));
}

/**
 * The socket's URL. With WS_THREADS > 1 the server's fan-out threads serve /ws on another
 * port (or, behind a proxy, wherever WS_PUBLIC_URL says), so the page asks the server
 * before every attempt: a restarted server may have picked another port.
 */
export function wsUrl(
  endpoint: WsEndpoint,
  page: Pick<Location, 'protocol' | 'host' | 'hostname'>,
  topics: readonly string[],
): string {
  const proto = page.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams({ topics: topics.join(',') });
  let base = `${proto}//${page.host}/ws`;
  if (endpoint.url !== null) {
    base = endpoint.url.startsWith('/') ? `${proto}//${page.host}${endpoint.url}` : endpoint.url;
  } else if (endpoint.port !== null) {
    // `hostname` keeps an IPv6 address's brackets.
    base = `${proto}//${page.hostname}:${endpoint.port}/ws`;
  }
  return `${base}${base.includes('?') ? '&' : '?'}${q}`;
}

export class LiveConnection {
  private ws: WebSocket | null = null;
  private readonly lastSeq = new Map<string, number>();
  private opened = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stallTimer: ReturnType<typeof setInterval> | null = null;
  /** Smoothed gap between `metrics` frames, ms (exponential moving average). */
  private gapMs = 500;
  private lastMetricsAt: number | null = null;
  private status: ConnectionStatus = {
    state: 'connecting',
    attempt: 0,
    retryAt: null,
    lastFrameAt: null,
  };

  constructor(
    private readonly topics: readonly string[],
    private readonly handlers: ConnectionHandlers,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
    this.stallTimer = setInterval(() => this.checkStall(), 1000);
    // Coming back online or to the tab: skip the remaining backoff.
    addEventListener('online', this.retryNow);
    document.addEventListener('visibilitychange', this.retryNow);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.stallTimer) clearInterval(this.stallTimer);
    removeEventListener('online', this.retryNow);
    document.removeEventListener('visibilitychange', this.retryNow);
    this.ws?.close();
  }

  getStatus(): ConnectionStatus {
    return this.status;
  }

  private readonly retryNow = (): void => {
    if (this.status.state !== 'waiting' || document.visibilityState === 'hidden') return;
    if (this.timer) clearTimeout(this.timer);
    this.connect();
  };

  /**
   * The token rides in a subprotocol, never in the URL (proxy logs keep URLs): the browser
   * API cannot set Authorization on a WebSocket (src/ws/ws-subprotocol.ts).
   */
  private protocols(): string[] {
    const token = getReadToken();
    return token ? [WS_PROTOCOL, bearerSubprotocol(token)] : [WS_PROTOCOL];
  }

  private connect(): void {
    this.timer = null;
    this.setStatus({ state: 'connecting', retryAt: null });
    fetchWsEndpoint().then(
      (endpoint) => {
        if (!this.stopped) this.open(wsUrl(endpoint, location, this.topics));
      },
      () => {
        if (!this.stopped) this.scheduleRetry();
      },
    );
  }

  private open(url: string): void {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, this.protocols());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastSeq.clear();
      this.lastMetricsAt = null;
      const reconnect = this.opened;
      this.opened = true;
      this.setStatus({ state: 'live', attempt: 0, lastFrameAt: Date.now() });
      this.handlers.onOpen(reconnect);
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    // onerror is always followed by onclose; retrying there would double the attempts.
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.stopped) this.scheduleRetry();
    };
  }

  private receive(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let frame: Frame;
    try {
      frame = JSON.parse(raw) as Frame;
    } catch {
      return;
    }
    const now = Date.now();
    // `metrics` comes once per tick, so its spacing is the tick the server runs at.
    if (frame.topic === 'metrics') {
      if (this.lastMetricsAt !== null) {
        this.gapMs += (Math.min(now - this.lastMetricsAt, 60_000) - this.gapMs) / 8;
      }
      this.lastMetricsAt = now;
    }
    this.status.lastFrameAt = now;
    const prev = this.lastSeq.get(frame.topic);
    if (typeof frame.seq === 'number') {
      if (prev !== undefined && frame.seq > prev + 1)
        this.handlers.onGap(frame.topic, frame.seq - prev - 1);
      this.lastSeq.set(frame.topic, frame.seq);
    }
    this.handlers.onFrame(frame);
  }

  private scheduleRetry(): void {
    const attempt = this.status.attempt + 1;
    const delay = backoffDelay(attempt);
    this.setStatus({ state: 'waiting', attempt, retryAt: Date.now() + delay });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private checkStall(): void {
    const { state, lastFrameAt } = this.status;
    const limit = Math.max(STALL_MS, 4 * this.gapMs);
    if (state === 'live' && lastFrameAt !== null && Date.now() - lastFrameAt > limit) {
      // close() may take a while to report on a dead link; detach it and retry now.
      const ws = this.ws;
      this.ws = null;
      ws?.close();
      this.scheduleRetry();
    }
  }

  private setStatus(patch: Partial<ConnectionStatus>): void {
    this.status = { ...this.status, ...patch };
    this.handlers.onStatus(this.status);
  }
}
