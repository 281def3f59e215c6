/** Top sources for the selected window, ranked by count or by USD volume. */
import { css, html, LitElement, type TemplateResult } from 'lit';
import { fmtCount, fmtUsdCompact } from '../lib/format.js';
import type { SourceMetrics } from '../types.js';
import { panelStyles } from './shared-styles.js';

const SHOWN = 8;

export class PbTopSources extends LitElement {
  static override properties = {
    sources: { attribute: false },
    window: {},
    by: { state: true },
  };

  sources: SourceMetrics[] = [];
  window = '1m';
  by: 'count' | 'volume' = 'count';

  static override styles = [
    panelStyles,
    css`
      header {
        display: flex;
        align-items: center;
        justify-content: space-between;
        margin-bottom: 8px;
      }
      .seg button {
        padding: 2px 8px;
        font-size: 12px;
      }
      .seg button[aria-pressed='true'] {
        border-color: var(--pb-accent);
        color: var(--pb-accent);
      }
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        display: grid;
        grid-template-columns: minmax(70px, 1fr) 2fr auto;
        align-items: center;
        gap: 8px;
        height: 24px;
        font-size: 13px;
      }
      .name {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .bar {
        height: 8px;
        border-radius: 4px;
        background: var(--pb-surface-2);
        overflow: hidden;
      }
      .bar i {
        display: block;
        height: 100%;
        background: var(--pb-accent);
        transform-origin: left;
        /* transform, not width: scaling does not re-lay-out the row on every tick. */
        transform: scaleX(var(--w));
      }
      .val {
        text-align: right;
        font-variant-numeric: tabular-nums;
        min-width: 72px;
      }
      .empty {
        font-size: 13px;
      }
    `,
  ];

  override render(): TemplateResult {
    const byVolume = this.by === 'volume';
    const rows = [...this.sources]
      .sort((a, b) => (byVolume ? b.volumeUsd - a.volumeUsd : b.count - a.count))
      .slice(0, SHOWN);
    const max = rows.reduce((m, r) => Math.max(m, byVolume ? r.volumeUsd : r.count), 0) || 1;
    return html`<section class="panel">
      <header>
        <h2>Top sources · ${this.window}</h2>
        <span class="seg" role="group" aria-label="Rank by">
          <button aria-pressed=${!byVolume} @click=${() => this.setBy('count')}>Count</button>
          <button aria-pressed=${byVolume} @click=${() => this.setBy('volume')}>Volume</button>
        </span>
      </header>
      ${
        rows.length === 0
          ? html`<div class="empty muted">No traffic in this window.</div>`
          : html`<ol>
            ${rows.map((r) => {
              const v = byVolume ? r.volumeUsd : r.count;
              return html`<li data-source=${r.source}>
                <span class="name" title=${r.source}>${r.source}</span>
                <span class="bar"><i style="--w:${(v / max).toFixed(3)}"></i></span>
                <span class="val">${byVolume ? fmtUsdCompact(r.volumeUsd) : fmtCount(r.count)}</span>
              </li>`;
            })}
          </ol>`
      }
    </section>`;
  }

  private setBy(by: 'count' | 'volume'): void {
    this.by = by;
  }
}

customElements.define('pb-top-sources', PbTopSources);
