/**
 * Alert rules: every rule (one row per series of a per-source rule) with its state, last
 * value and threshold; create, edit and delete (pb-rule-form; admin token when the server
 * has one); and the recent state changes. A link from Alertmanager (generatorURL,
 * `?rule=Name`) highlights that rule.
 */
import { html, LitElement, nothing, type TemplateResult } from 'lit';
import { ApiError, deleteRule as deleteRuleApi } from '../lib/api.js';
import { fmtClock } from '../lib/format.js';
import type { RulesModel } from '../lib/rules-model.js';
import type { AlertRule, RuleStatus } from '../types.js';
import { fmtValue } from './pb-alert-banner.js';
import { rulesStyles } from './pb-rules-panel-styles.js';
import './pb-rule-form.js';

const HISTORY_SHOWN = 50;

export class PbRulesPanel extends LitElement {
  static override properties = {
    version: {},
    editing: { state: true },
    message: { state: true },
  };

  model: RulesModel | null = null;
  /** Bumped by the page when the model changed. */
  version = 0;
  /** null: no form; 'new': a new rule; otherwise the rule being edited. */
  editing: AlertRule | 'new' | null = null;
  message: { kind: 'error' | 'info'; text: string } | null = null;
  private readonly highlight = new URLSearchParams(location.search).get('rule');

  static override styles = rulesStyles;

  override firstUpdated(): void {
    if (this.highlight) this.scrollIntoView({ block: 'nearest' });
  }

  private async deleteRule(name: string): Promise<void> {
    try {
      await deleteRuleApi(name);
      this.message = { kind: 'info', text: `Deleted ${name}.` };
      this.dispatchEvent(new CustomEvent('pb-rules-changed', { bubbles: true, composed: true }));
    } catch (err) {
      this.message = {
        kind: 'error',
        text:
          err instanceof ApiError && err.status === 401
            ? 'Not authorised: open the form and enter the admin token.'
            : err instanceof Error
              ? err.message
              : String(err),
      };
    }
  }

  private saved(e: CustomEvent<string>): void {
    this.message = { kind: 'info', text: `Saved ${e.detail}.` };
    this.editing = null;
    this.dispatchEvent(new CustomEvent('pb-rules-changed', { bubbles: true, composed: true }));
  }

  private rows(r: RuleStatus): TemplateResult[] {
    return r.series.map(
      (s, i) => html`<tr
        data-rule=${r.rule.alert}
        data-source=${s.source ?? ''}
        data-state=${s.state}
        class=${this.highlight === r.rule.alert ? 'highlight' : ''}
      >
        <td>${i === 0 ? html`<strong>${r.rule.alert}</strong><div class="expr">${r.expr}</div>` : nothing}${s.source ? html`<div class="muted">${s.source}</div>` : nothing}</td>
        <td><span class="state ${s.state}">${s.state}</span></td>
        <td class="num">${fmtValue(s.value)}</td>
        <td class="num">${fmtValue(r.threshold)}</td>
        <td class="row-actions">
          ${
            i === 0
              ? html`<button data-action="edit-rule" @click=${() => {
                  this.editing = r.rule;
                }}>Edit</button>
                <button class="danger" data-action="delete-rule" @click=${() => this.deleteRule(r.rule.alert)}>Delete</button>`
              : nothing
          }
        </td>
      </tr>`,
    );
  }

  override render(): TemplateResult {
    const m = this.model;
    const rules = m?.rules ?? [];
    const history = (m?.events ?? []).slice(0, HISTORY_SHOWN);
    return html`<section class="panel">
      <header>
        <h2>Alert rules <span class="muted">· ${rules.length}</span></h2>
        <button data-action="new-rule" @click=${() => {
          this.editing = 'new';
        }}>New rule</button>
      </header>
      ${
        this.editing !== null
          ? html`<pb-rule-form
              .rule=${this.editing === 'new' ? null : this.editing}
              .sources=${m?.sources ?? []}
              @pb-rule-saved=${this.saved}
              @pb-rule-cancel=${() => {
                this.editing = null;
              }}
            ></pb-rule-form>`
          : nothing
      }
      ${this.message ? html`<div class="msg ${this.message.kind}" role="status">${this.message.text}</div>` : nothing}
      ${
        rules.length === 0
          ? html`<p class="muted">No rules. Create one, or start the server with RULES_FILE.</p>`
          : html`<div class="table-wrap"><table>
            <thead><tr><th>Rule</th><th>State</th><th>Value</th><th>Threshold</th><th></th></tr></thead>
            <tbody>${rules.flatMap((r) => this.rows(r))}</tbody>
          </table></div>`
      }
      <h3>Recent changes</h3>
      ${
        history.length === 0
          ? html`<p class="muted">No state changes yet.</p>`
          : html`<ol class="history">
            ${history.map(
              (e) => html`<li data-event=${e.state}>
                <span class="muted num">${fmtClock(e.ts).slice(0, 8)}</span>
                <span>${e.rule}${e.source ? ` · ${e.source}` : ''} <span class="muted">${e.previous} →</span> <span class="state ${e.state}">${e.state}</span></span>
                <span class="num muted">${fmtValue(e.value)}</span>
              </li>`,
            )}
          </ol>`
      }
    </section>`;
  }
}

customElements.define('pb-rules-panel', PbRulesPanel);
