/**
 * The KPI cards. Rendered from the latest snapshot and the selected window; Lit compares
 * every bound value and writes only the text nodes whose value changed, so a tick where
 * only TPS moved touches one node.
 */
import { css, html, LitElement, nothing, type TemplateResult } from 'lit';
import {
  fmtCompact,
  fmtCount,
  fmtMoney,
  fmtMs,
  fmtPct,
  fmtRate,
  fmtUsdCompact,
} from '../lib/format.js';
import type { MetricsSnapshot, WindowName } from '../types.js';
import { panelStyles } from './shared-styles.js';

export class PbKpiCards extends LitElement {
  static override properties = {
    snapshot: { attribute: false },
    window: {},
  };

  snapshot: MetricsSnapshot | null = null;
  window: WindowName = '1m';

  static override styles = [
    panelStyles,
    css`
      /* Ten tracks (processing spans two): one row on wide screens, two rows of five on
         laptops and tablets, pairs on phones. Explicit counts keep the rows even. */
      .grid {
        display: grid;
        grid-template-columns: repeat(10, minmax(0, 1fr));
        grid-auto-flow: dense;
        gap: var(--pb-gap);
      }
      @media (max-width: 1599px) {
        .grid {
          grid-template-columns: repeat(5, minmax(0, 1fr));
        }
      }
      .panel {
        padding: 10px 12px;
      }
      .label {
        font-size: 12px;
        color: var(--pb-muted);
        display: flex;
        justify-content: space-between;
        gap: 6px;
        white-space: nowrap;
      }
      .label > span:first-child {
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .value {
        font-size: clamp(19px, 1.55vw, 28px);
        font-weight: 650;
        margin: 4px 0 2px;
        font-variant-numeric: tabular-nums;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .wide {
        grid-column: span 2;
      }
      .trio {
        display: grid;
        grid-template-columns: repeat(3, minmax(0, 1fr));
        gap: 8px;
      }
      .trio .value {
        font-size: clamp(16px, 1.25vw, 24px);
        margin-bottom: 0;
      }
      .trio .sub {
        margin-bottom: 2px;
      }
      .value small {
        font-size: 13px;
        font-weight: 500;
        color: var(--pb-muted);
      }
      .sub {
        font-size: 12px;
        color: var(--pb-muted);
        font-variant-numeric: tabular-nums;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .good {
        color: var(--pb-ok);
      }
      .bad {
        color: var(--pb-fail);
      }
      .warn {
        color: var(--pb-flag);
      }
      .badge {
        font-size: 11px;
        font-weight: 600;
        border-radius: 5px;
        padding: 0 5px;
        border: 1px solid currentColor;
      }
      @media (max-width: 600px) {
        .grid {
          grid-template-columns: repeat(2, minmax(0, 1fr));
        }
        .panel {
          min-height: 0;
        }
        .value {
          font-size: 21px;
        }
      }
    `,
  ];

  override render(): TemplateResult {
    const s = this.snapshot;
    if (!s) return html`<div class="grid"><div class="panel muted">Waiting for data…</div></div>`;
    const w = s.windows[this.window];
    const win = this.window;
    const failClass = w.failureRate > 0.1 ? 'bad' : w.failureRate > 0.03 ? 'warn' : 'good';
    const target = s.pipeline.targetTps;
    const persistence = s.persistence === 'on';
    return html`<div class="grid">
      ${card(
        'tps',
        'TPS now',
        fmtRate(s.tps),
        `avg ${fmtRate(s.tpsSmoothed)}${target === null ? ' · target max' : ` · target ${fmtCount(target)}`}`,
      )}
      ${card('count', `Transactions · ${win}`, fmtCount(w.count), `${fmtRate(w.avgTps)} tx/s average`)}
      ${card(
        'volume',
        `Volume · ${win}`,
        fmtUsdCompact(w.volumeUsd),
        currencySummary(w.volume),
        nothing,
        currencyList(w.volume),
      )}
      ${card(
        'success',
        `Success rate · ${win}`,
        html`<span class=${failClass}>${fmtPct(w.successRate)}</span>`,
        `${fmtCount(w.failed)} failed`,
      )}
      ${card(
        'flagged',
        `Flagged · ${win}`,
        html`<span class=${w.flagged > 0 ? 'warn' : ''}>${fmtCount(w.flagged)}</span>`,
        w.count > 0 ? `${((w.flagged / w.count) * 1000).toFixed(1)} per 1,000 tx` : '—',
      )}
      <div class="panel wide" data-kpi="latency">
        <div class="label"><span>Processing time · ${win}</span></div>
        <div class="trio">
          ${stat('avg', w.avgMs)} ${stat('p95', w.p95Ms)} ${stat('p99', w.p99Ms)}
        </div>
        <div class="sub">p50 ${fmtMs(w.p50Ms)}</div>
      </div>
      ${card(
        'inflight',
        'In flight',
        fmtCount(s.inFlight.pending + s.inFlight.processing),
        `${fmtCount(s.inFlight.pending)} pend. · ${fmtCount(s.inFlight.processing)} proc.`,
      )}
      ${card(
        'db',
        'Database',
        persistence ? html`${fmtCompact(s.pipeline.dbRowsPerSec)} <small>rows/s</small>` : '—',
        persistence ? `writer lag ${fmtCount(s.pipeline.writerLag)}` : 'nothing is saved',
        html`<span class="badge ${persistence ? 'good' : 'bad'}" data-persistence=${s.persistence}
           title=${persistence ? 'transactions are persisted' : 'persistence is off'}
          >${persistence ? 'ON' : 'OFF'}</span
        >`,
      )}
      ${card('clients', 'Clients', fmtCount(s.clients), 'dashboards')}
    </div>`;
  }
}

function card(
  id: string,
  label: string,
  value: string | TemplateResult,
  sub: string,
  badge: TemplateResult | typeof nothing = nothing,
  title: string = sub,
): TemplateResult {
  return html`<div class="panel" data-kpi=${id}>
    <div class="label"><span>${label}</span>${badge}</div>
    <div class="value">${value}</div>
    <div class="sub" title=${title}>${sub}</div>
  </div>`;
}

function stat(label: string, ms: number): TemplateResult {
  return html`<div><div class="value">${fmtMs(ms)}</div><div class="sub">${label}</div></div>`;
}

/** "USD $1.2M · 8 currencies": the base currency first, the rest in the tooltip. */
function currencySummary(volume: Record<string, number>): string {
  const codes = Object.keys(volume).filter((c) => (volume[c] ?? 0) > 0);
  if (codes.length === 0) return 'no volume yet';
  const first = codes.includes('USD') ? 'USD' : codes[0]!;
  const head = `${first} ${compactMoney(volume[first]!, first)}`;
  return codes.length > 1 ? `${head} · ${codes.length} currencies` : head;
}

/** Every currency in its own units, one per line (the volume card's tooltip). */
function currencyList(volume: Record<string, number>): string {
  return Object.entries(volume)
    .filter(([, v]) => v > 0)
    .map(([code, v]) => fmtMoney(v, code))
    .join('\n');
}

function compactMoney(minor: number, code: string): string {
  const full = fmtMoney(minor, code);
  // Long amounts read badly in a card; keep the symbol and shorten the number.
  return full.length <= 10
    ? full
    : full.replace(/[\d,.]+/, (n) => fmtCompact(Number(n.replace(/,/g, ''))));
}

customElements.define('pb-kpi-cards', PbKpiCards);
