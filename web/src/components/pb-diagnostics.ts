/**
 * The diagnostics corner: what one update costs the page (render p50/p95/max over the
 * last 240 updates, about two minutes), chart points held, feed DOM rows, frames received
 * and missed. Collapsed it is one short line in a corner.
 */
import { css, html, LitElement, type TemplateResult } from 'lit';
import type { RenderStatsSummary } from '../lib/render-stats.js';

export interface DiagnosticsData {
  render: RenderStatsSummary;
  points: number;
  domRows: number;
  frames: number;
  missed: number;
  reconnects: number;
}

export class PbDiagnostics extends LitElement {
  static override properties = {
    data: { attribute: false },
    open: { state: true },
  };

  data: DiagnosticsData | null = null;
  open = false;

  static override styles = css`
    :host {
      position: fixed;
      right: 10px;
      bottom: 10px;
      z-index: 10;
      font: 11.5px/1.4 var(--pb-mono);
      font-variant-numeric: tabular-nums;
    }
    button {
      font: inherit;
      color: var(--pb-muted);
      background: color-mix(in srgb, var(--pb-surface) 90%, transparent);
      border: 1px solid var(--pb-border);
      border-radius: 7px;
      padding: 4px 8px;
      cursor: pointer;
      backdrop-filter: blur(4px);
      text-align: left;
    }
    dl {
      display: grid;
      grid-template-columns: auto auto;
      gap: 0 12px;
      margin: 6px 0 0;
    }
    dt {
      color: var(--pb-muted);
    }
    dd {
      margin: 0;
      text-align: right;
      color: var(--pb-text);
    }
  `;

  override render(): TemplateResult {
    const d = this.data;
    const r = d?.render;
    const summary = r ? `render p95 ${r.p95.toFixed(2)} ms` : 'render –';
    return html`<button
      data-testid="diagnostics"
      aria-expanded=${this.open}
      title="Per-update render time (performance.now)"
      @click=${() => {
        this.open = !this.open;
      }}
    >
      ${summary}
      ${
        this.open && d && r
          ? html`<dl>
            <dt>updates</dt><dd>${r.count}</dd>
            <dt>last</dt><dd>${r.last.toFixed(2)} ms</dd>
            <dt>p50</dt><dd>${r.p50.toFixed(2)} ms</dd>
            <dt>p95</dt><dd>${r.p95.toFixed(2)} ms</dd>
            <dt>max</dt><dd>${r.max.toFixed(2)} ms</dd>
            <dt>points/series</dt><dd>${d.points}</dd>
            <dt>feed DOM rows</dt><dd>${d.domRows}</dd>
            <dt>frames</dt><dd>${d.frames}</dd>
            <dt>missed</dt><dd>${d.missed}</dd>
            <dt>reconnects</dt><dd>${d.reconnects}</dd>
          </dl>`
          : ''
      }
    </button>`;
  }
}

customElements.define('pb-diagnostics', PbDiagnostics);
