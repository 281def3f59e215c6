/**
 * The JetStream door in the header (only when INGEST_STREAM is set): its state and the lag
 * (messages in the stream not yet acknowledged). The lag growing while the dot is green
 * means the database is behind; a red dot means NATS is unreachable or the stream is
 * misconfigured (/readyz says why).
 */
import { css, html, LitElement, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { MetricsSnapshot } from '../types.js';

export class PbStreamStatus extends LitElement {
  static override properties = {
    stream: { attribute: false },
  };

  stream: MetricsSnapshot['stream'] = null;

  static override styles = css`
    :host {
      display: inline-flex;
      align-items: center;
      gap: 6px;
      font-size: 13px;
      white-space: nowrap;
      font-variant-numeric: tabular-nums;
    }
    :host([hidden]) {
      display: none;
    }
    .dot {
      width: 8px;
      height: 8px;
      border-radius: 50%;
      background: var(--pb-flag);
    }
    :host([data-state='consuming']) .dot {
      background: var(--pb-ok);
    }
    :host([data-state='unreachable']) .dot,
    :host([data-state='misconfigured']) .dot {
      background: var(--pb-fail);
    }
    .muted {
      color: var(--pb-muted);
    }
  `;

  override updated(changed: PropertyValues<this>): void {
    if (!changed.has('stream')) return;
    this.hidden = this.stream === null;
    this.dataset['state'] = this.stream?.state ?? 'off';
  }

  override render(): TemplateResult | typeof nothing {
    const s = this.stream;
    if (!s) return nothing;
    const title = `JetStream ingest: ${s.state}; ${s.pending.toLocaleString('en-US')} pending, ${s.ackPending.toLocaleString('en-US')} delivered and not yet acknowledged; ${s.consumed.toLocaleString('en-US')} consumed, ${s.deadLetters.toLocaleString('en-US')} dead letters`;
    return html`<span class="dot" aria-hidden="true"></span>
      <span data-testid="stream-status" title=${title}
        >Stream <span class="muted">lag</span> ${s.lag.toLocaleString('en-US')}${
          s.deadLetters > 0
            ? html` <span class="muted">· dead</span> ${s.deadLetters.toLocaleString('en-US')}`
            : nothing
        }${s.state === 'consuming' ? nothing : html` <span class="muted">· ${s.state}</span>`}</span
      >`;
  }
}

customElements.define('pb-stream-status', PbStreamStatus);
