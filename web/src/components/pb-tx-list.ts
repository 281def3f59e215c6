/**
 * A virtualized list of transactions: the live feed or the alerts list.
 *
 *   viewport (scrolls) ┌──────────────┐
 *   spacer: size × ROW │ rows (≤ visible + 1 DOM nodes), translated to the first
 *                      │ visible index; nothing above or below exists in the DOM
 *                      └──────────────┘
 *
 * Rows are fixed-height so the visible range is arithmetic, never measured. The row
 * template is positional (no keys): when items shift by one, Lit rewrites the text of
 * the existing rows instead of creating and destroying nodes.
 */
import { css, html, LitElement, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { TxRing } from '../lib/tx-ring.js';
import { panelStyles } from './shared-styles.js';
import { alertRow, feedRow, ROW_HEIGHT as ROW } from './tx-rows.js';

export class PbTxList extends LitElement {
  static override properties = {
    mode: { reflect: true },
    heading: {},
    note: {},
    version: { type: Number },
    first: { state: true },
    rowsVisible: { state: true },
  };

  mode: 'feed' | 'alerts' = 'feed';
  heading = '';
  /** Secondary header text ("312 omitted last tick"). */
  note = '';
  ring: TxRing | null = null;
  /** Bumped by the owner after pushing to the ring: the cheap way to say "re-render". */
  version = 0;
  /** Index of the first visible row (0 = newest). */
  first = 0;
  rowsVisible = 12;

  private viewport: HTMLElement | null = null;
  private lastTotal = 0;
  private scrolled = 0;
  private pendingScroll = false;
  private resize: ResizeObserver | null = null;

  static override styles = [
    panelStyles,
    css`
      :host {
        display: flex;
        flex-direction: column;
      }
      .panel {
        display: flex;
        flex-direction: column;
        flex: 1 1 auto;
        min-height: 0;
        padding-bottom: 6px;
      }
      header {
        display: flex;
        align-items: baseline;
        gap: 10px;
        margin-bottom: 6px;
      }
      header .note {
        font-size: 12px;
        flex: 1;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      header button {
        padding: 1px 8px;
        font-size: 12px;
      }
      .viewport {
        position: relative;
        /* Basis 0: the list takes the height it is given and never grows with its rows,
           which is what keeps the DOM at one screenful. */
        flex: 1 1 0;
        min-height: 120px;
        overflow-y: auto;
        overflow-anchor: none;
        container-type: inline-size;
        border-top: 1px solid var(--pb-border);
      }
      .rows {
        position: absolute;
        inset: 0 0 auto 0;
        will-change: transform;
      }
      .row {
        display: grid;
        align-items: center;
        gap: 8px;
        height: ${ROW}px;
        padding: 0 6px;
        font-size: 12.5px;
        border-bottom: 1px solid var(--pb-grid);
        white-space: nowrap;
        font-variant-numeric: tabular-nums;
        /* Fixed height, width from the list: with size and layout containment each row
           is its own relayout boundary, so rewriting a row's text (every visible row, every
           tick) lays out that row, not the whole page from the document down. */
        contain: strict;
      }
      .row > span {
        overflow: hidden;
        text-overflow: ellipsis;
      }
      :host([mode='feed']) .row {
        grid-template-columns: 92px minmax(60px, 1fr) minmax(60px, 0.8fr) minmax(70px, 1fr) 104px 96px 66px 16px;
      }
      :host([mode='alerts']) .row {
        grid-template-columns: 64px 136px 34px 104px minmax(60px, 1fr) minmax(70px, 1fr);
      }
      .row.failed {
        background: var(--pb-row-fail);
      }
      .row.flagged {
        background: var(--pb-row-flag);
        box-shadow: inset 3px 0 0 var(--pb-flag);
      }
      .time,
      .id {
        font-family: var(--pb-mono);
        font-size: 11.5px;
        color: var(--pb-muted);
      }
      .amt,
      .ms,
      .risk {
        text-align: right;
      }
      .st {
        color: var(--pb-ok);
      }
      .failed .st {
        color: var(--pb-fail);
      }
      .flag {
        color: var(--pb-flag);
        text-align: center;
      }
      .rule {
        color: var(--pb-flag);
        font-weight: 600;
      }
      .empty {
        padding: 16px 6px;
        font-size: 13px;
      }
      /* Narrower panels drop the least useful columns first (container, not viewport:
         the same list is wide on a phone's full width and narrow in a side column). */
      @container (max-width: 700px) {
        :host([mode='feed']) .row {
          grid-template-columns: 92px minmax(60px, 1fr) minmax(70px, 1fr) 100px 92px 60px 16px;
        }
        :host([mode='feed']) .type {
          display: none;
        }
      }
      @container (max-width: 540px) {
        :host([mode='feed']) .row {
          grid-template-columns: 86px minmax(50px, 1fr) 96px 78px 16px;
        }
        :host([mode='feed']) .acct,
        :host([mode='feed']) .ms {
          display: none;
        }
        :host([mode='alerts']) .row {
          grid-template-columns: 62px minmax(90px, 1fr) 30px 96px;
        }
        :host([mode='alerts']) .src,
        :host([mode='alerts']) .acct {
          display: none;
        }
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    this.resize = new ResizeObserver((entries) => {
      const h = entries[0]?.contentRect.height ?? 0;
      this.rowsVisible = Math.max(1, Math.ceil(h / ROW) + 1);
    });
    if (this.viewport) this.resize.observe(this.viewport);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize?.disconnect();
  }

  override firstUpdated(): void {
    this.viewport = this.renderRoot.querySelector('.viewport');
    if (this.viewport) this.resize?.observe(this.viewport);
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (!changed.has('version') || !this.ring) return;
    const added = this.ring.total - this.lastTotal;
    this.lastTotal = this.ring.total;
    // Scrolled away from the newest rows: keep the same rows under the reader's eyes by
    // moving the window down as rows arrive above it.
    if (this.scrolled > 0 && added > 0) {
      this.scrolled = Math.min(this.scrolled + added * ROW, (this.ring.size - 1) * ROW);
      this.first = Math.floor(this.scrolled / ROW);
      this.pendingScroll = true;
    }
  }

  override updated(): void {
    if (this.pendingScroll && this.viewport) {
      this.pendingScroll = false;
      this.viewport.scrollTop = this.scrolled;
    }
  }

  /** DOM rows currently rendered (for tests: must stay ≤ what fits). */
  get domRows(): number {
    return this.renderRoot.querySelectorAll('.row').length;
  }

  override render(): TemplateResult {
    const ring = this.ring;
    const size = ring?.size ?? 0;
    const first = Math.min(this.first, Math.max(0, size - 1));
    const end = Math.min(size, first + this.rowsVisible);
    const rows: TemplateResult[] = [];
    for (let i = first; i < end; i++) {
      const tx = ring!.at(i)!;
      rows.push(this.mode === 'alerts' ? alertRow(tx) : feedRow(tx));
    }
    const behind = this.scrolled > 0;
    return html`<section class="panel">
      <header>
        <h2>${this.heading}</h2>
        <span class="note muted">${this.note}</span>
        ${behind ? html`<button @click=${this.toNewest}>↑ Newest</button>` : nothing}
      </header>
      <div class="viewport" @scroll=${this.onScroll} role="list" aria-label=${this.heading}>
        ${
          size === 0
            ? html`<div class="empty muted">
              ${this.mode === 'alerts' ? 'No flagged transactions yet.' : 'Waiting for transactions…'}
            </div>`
            : nothing
        }
        <div style="height:${size * ROW}px"></div>
        <div class="rows" style="transform:translateY(${first * ROW}px)">${rows}</div>
      </div>
    </section>`;
  }

  private readonly onScroll = (e: Event): void => {
    this.scrolled = (e.target as HTMLElement).scrollTop;
    this.first = Math.floor(this.scrolled / ROW);
  };

  private readonly toNewest = (): void => {
    if (this.viewport) this.viewport.scrollTop = 0;
  };
}

customElements.define('pb-tx-list', PbTxList);
