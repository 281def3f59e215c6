/**
 * Connection indicator: live (with the last frame's delivery latency), connecting, or
 * waiting to retry with a countdown. The countdown timer runs only while waiting. With
 * INGEST_STREAM set, also the JetStream door: its lag (messages not yet acknowledged) and
 * dead letters, red while NATS is unreachable or the stream misconfigured.
 */
import { css, html, LitElement, type PropertyValues, type TemplateResult } from 'lit';
import type { ConnectionStatus } from '../lib/connection.js';
import type { MetricsSnapshot } from '../types.js';

export class PbConnectionStatus extends LitElement {
  static override properties = {
    status: { attribute: false },
    latencyMs: { attribute: false },
    stream: { attribute: false },
    node: { attribute: false },
    scope: { attribute: false },
    now: { state: true },
  };

  status: ConnectionStatus | null = null;
  /** Server send → client receive of the last metrics frame (same-clock hosts only). */
  latencyMs: number | null = null;
  stream: MetricsSnapshot['stream'] = null;
  /** Cluster mode: the node this dashboard is on, and whether it sees the whole cluster. */
  node: number | null = null;
  scope: 'cluster' | 'local' | null = null;
  now = Date.now();

  private timer: ReturnType<typeof setInterval> | null = null;

  static override styles = css`
    :host {
      display: inline-flex;
      align-items: center;
      gap: 8px;
      font-size: 13px;
      white-space: nowrap;
    }
    .dot {
      width: 9px;
      height: 9px;
      border-radius: 50%;
      background: var(--pb-muted);
      flex: none;
    }
    :host([data-state='live']) .dot {
      background: var(--pb-ok);
      box-shadow: 0 0 0 3px color-mix(in srgb, var(--pb-ok) 25%, transparent);
    }
    :host([data-state='waiting']) .dot {
      background: var(--pb-fail);
    }
    :host([data-state='connecting']) .dot {
      background: var(--pb-flag);
    }
    .stream:not([data-state='consuming']) {
      color: var(--pb-fail);
    }
    .lat,
    .stream {
      color: var(--pb-muted);
      font-variant-numeric: tabular-nums;
    }
    .node {
      color: var(--pb-muted);
    }
    .node[data-scope='local'] {
      color: var(--pb-fail);
    }
  `;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stopTimer();
  }

  override updated(changed: PropertyValues<this>): void {
    if (changed.has('scope')) this.dataset['scope'] = this.scope ?? '';
    if (!changed.has('status')) return;
    const state = this.status?.state ?? 'connecting';
    this.dataset['state'] = state;
    if (state === 'waiting' && !this.timer) {
      this.timer = setInterval(() => {
        this.now = Date.now();
      }, 250);
    } else if (state !== 'waiting') {
      this.stopTimer();
    }
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  override render(): TemplateResult {
    const s = this.status;
    let text = 'Connecting…';
    if (s?.state === 'live') text = 'Live';
    else if (s?.state === 'waiting') {
      const secs = Math.max(0, ((s.retryAt ?? 0) - this.now) / 1000);
      text = `Disconnected · retry ${s.attempt} in ${secs.toFixed(1)} s`;
    } else if (s && s.attempt > 0) text = `Reconnecting (attempt ${s.attempt})…`;
    return html`<span class="dot" aria-hidden="true"></span>
      <span role="status" aria-live="polite">${text}</span>
      ${
        s?.state === 'live' && this.latencyMs !== null
          ? html`<span class="lat" title="server send → browser receive">${Math.max(0, Math.round(this.latencyMs))} ms</span>`
          : ''
      }${stream(this.stream)}
      ${
        this.node !== null
          ? html`<span class="node" data-scope=${this.scope ?? ''} title=${this.scope === 'local' ? 'This node is cut off from the cluster: the figures are its own' : 'The figures are the whole cluster’s'}>node ${this.node}${this.scope === 'local' ? ' · local view (cluster unreachable)' : ' · cluster'}</span>`
          : ''
      }`;
  }
}

function stream(s: MetricsSnapshot['stream']): TemplateResult | string {
  if (!s) return '';
  const dead = s.deadLetters > 0 ? ` · dead ${s.deadLetters.toLocaleString('en-US')}` : '';
  const state = s.state === 'consuming' ? '' : ` · ${s.state}`;
  return html`<span class="stream" data-testid="stream-status" data-state=${s.state}
    >· stream lag ${s.lag.toLocaleString('en-US')}${dead}${state}</span
  >`;
}

customElements.define('pb-connection-status', PbConnectionStatus);
