/**
 * The banner of firing alert rules, under the header: nothing while all is well, one chip
 * per firing alert (rule, source, value against threshold, since when) otherwise. It
 * appears in the tick the rule fires (the `alerts` topic's rule frame).
 */
import { css, html, LitElement, nothing, type TemplateResult } from 'lit';
import { fmtClock } from '../lib/format.js';
import type { FiringAlert } from '../lib/rules-model.js';
import { panelStyles } from './shared-styles.js';

export function fmtValue(v: number | null): string {
  if (v === null) return '—';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return String(Math.round(v * 1000) / 1000);
}

export class PbAlertBanner extends LitElement {
  static override properties = { alerts: { attribute: false } };

  alerts: FiringAlert[] = [];

  static override styles = [
    panelStyles,
    css`
      .banner {
        margin: var(--pb-gap) var(--pb-gap) 0;
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 6px 10px;
        padding: 8px 12px;
        border-radius: 8px;
        border: 1px solid var(--pb-fail);
        background: var(--pb-row-fail);
        font-size: 13px;
      }
      .banner.warning {
        border-color: var(--pb-flag);
        background: var(--pb-row-flag);
      }
      strong {
        font-weight: 700;
      }
      .chip {
        display: inline-flex;
        gap: 6px;
        align-items: baseline;
        padding: 2px 8px;
        border-radius: 6px;
        background: var(--pb-surface);
        border: 1px solid var(--pb-border);
      }
      .sev {
        font-size: 11px;
        text-transform: uppercase;
        letter-spacing: 0.04em;
        color: var(--pb-fail);
      }
      .sev.warning,
      .sev.info {
        color: var(--pb-flag);
      }
    `,
  ];

  override render(): TemplateResult | typeof nothing {
    const a = this.alerts;
    if (a.length === 0) return nothing;
    const critical = a.some((x) => x.severity === 'critical');
    return html`<div
      class="banner ${critical ? 'critical' : 'warning'}"
      role="alert"
      data-firing=${a.length}
    >
      <strong>${a.length} alert${a.length === 1 ? '' : 's'} firing</strong>
      ${a.map(
        (x) =>
          html`<span class="chip" data-rule=${x.rule} title=${x.summary ?? x.expr}>
            <span class="sev ${x.severity}">${x.severity}</span>
            <span>${x.rule}${x.source ? html` · ${x.source}` : nothing}</span>
            <span class="muted num">${fmtValue(x.value)} vs ${fmtValue(x.threshold)}</span>
            ${x.since ? html`<span class="muted">since ${fmtClock(x.since).slice(0, 8)}</span>` : nothing}
          </span>`,
      )}
    </div>`;
  }
}

customElements.define('pb-alert-banner', PbAlertBanner);
