/**
 * Create or edit an alert rule. The form is checked with the server's own validator
 * (src/alerts/rule-schema.ts, bundled as it is), so it refuses exactly what the API
 * refuses, with the same words next to the field; the API's answer is shown the same way.
 * Saving needs the admin token when the server has one: a 401 asks for it.
 */
import { html, LitElement, nothing, type TemplateResult } from 'lit';
import { RULE_METRIC_NAMES, RULE_METRICS, RULE_WINDOWS } from '../../../src/alerts/rule-metrics.js';
import {
  COMPARISONS,
  EVERY_SOURCE,
  RULE_KINDS,
  type RuleProblem,
  SEVERITIES,
  validateRule,
} from '../../../src/alerts/rule-schema.js';
import { ApiError, getAdminToken, saveRule, setAdminToken } from '../lib/api.js';
import type { AlertRule } from '../types.js';
import { rulesStyles } from './pb-rules-panel-styles.js';

type Raw = Record<string, unknown>;

/** The form's fields, by kind (the validator refuses fields a kind does not have). */
const KIND_FIELDS: Record<string, string[]> = {
  threshold: ['metric', 'window', 'op', 'threshold', 'minCount'],
  change: ['metric', 'window', 'baseline', 'op', 'ratio', 'minCount'],
  absence: ['absentFor'],
};

export class PbRuleForm extends LitElement {
  static override properties = {
    rule: { attribute: false },
    sources: { attribute: false },
    kind: { state: true },
    metric: { state: true },
    problems: { state: true },
    busy: { state: true },
    needToken: { state: true },
  };

  /** The rule being edited; null for a new one. */
  rule: AlertRule | null = null;
  sources: string[] = [];
  kind = 'threshold';
  metric = 'failureRate';
  problems: RuleProblem[] = [];
  busy = false;
  needToken = false;

  static override styles = rulesStyles;

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('rule') && this.rule) {
      this.kind = this.rule.kind;
      if (this.rule.kind !== 'absence') this.metric = this.rule.metric;
    }
  }

  private read(form: HTMLFormElement): Raw {
    const data = new FormData(form);
    const text = (k: string) => String(data.get(k) ?? '').trim();
    const num = (k: string) => (text(k) === '' ? undefined : Number(text(k)));
    const raw: Raw = { alert: text('alert'), kind: this.kind };
    const source = text('source');
    if (source !== '') raw.source = source;
    for (const f of KIND_FIELDS[this.kind] ?? []) {
      if (f === 'threshold' || f === 'ratio' || f === 'minCount') {
        const v = num(f);
        if (v !== undefined) raw[f] = v;
      } else if (f === 'window' && !RULE_METRICS[this.metric as 'count']?.windowed) {
        // an instantaneous metric has no window
      } else if (text(f) !== '') raw[f] = text(f);
    }
    for (const f of ['for', 'keepFiringFor', 'severity']) if (text(f) !== '') raw[f] = text(f);
    const summary = text('summary');
    if (summary !== '') raw.annotations = { ...(this.rule?.annotations ?? {}), summary };
    if (this.rule && Object.keys(this.rule.labels).length > 0) raw.labels = this.rule.labels;
    return raw;
  }

  private async submit(e: Event): Promise<void> {
    e.preventDefault();
    const raw = this.read(e.target as HTMLFormElement);
    const v = validateRule(raw, { sources: this.sources });
    if (!v.ok) {
      this.problems = v.problems;
      return;
    }
    this.problems = [];
    this.busy = true;
    try {
      await saveRule(v.rule, this.rule?.alert ?? null);
      this.dispatchEvent(
        new CustomEvent('pb-rule-saved', { detail: v.rule.alert, bubbles: true, composed: true }),
      );
    } catch (err) {
      if (
        err instanceof ApiError &&
        (err.code === 'PB_ERR_AUTH_MISSING' || err.code === 'PB_ERR_AUTH_INVALID')
      )
        this.needToken = true;
      const message = err instanceof Error ? err.message : String(err);
      this.problems =
        err instanceof ApiError && err.problems.length > 0
          ? err.problems.map((p) => ({ rule: v.rule.alert, field: p.field, message: p.message }))
          : [
              {
                rule: v.rule.alert,
                field: err instanceof ApiError ? (err.field ?? '(rule)') : '(rule)',
                message,
              },
            ];
    } finally {
      this.busy = false;
    }
  }

  private cancel(): void {
    this.dispatchEvent(new CustomEvent('pb-rule-cancel', { bubbles: true, composed: true }));
  }

  private saveToken(e: Event): void {
    e.preventDefault();
    const input = (e.target as HTMLFormElement).elements.namedItem('token') as HTMLInputElement;
    setAdminToken(input.value);
    this.needToken = false;
  }

  private err(field: string): TemplateResult | typeof nothing {
    const p = this.problems.filter((x) => x.field === field || x.field.startsWith(`${field}.`));
    return p.length === 0
      ? nothing
      : html`<span class="err" data-error=${field}>${p.map((x) => x.message).join('; ')}</span>`;
  }

  private select(
    name: string,
    options: readonly string[],
    value: string,
    labels: Record<string, string> = {},
  ) {
    return html`<select name=${name} @change=${(e: Event) => this.onSelect(name, (e.target as HTMLSelectElement).value)}>
      ${options.map((o) => html`<option value=${o} ?selected=${o === value}>${labels[o] ?? o}</option>`)}
    </select>`;
  }

  private onSelect(name: string, value: string): void {
    if (name === 'kind') this.kind = value;
    if (name === 'metric') this.metric = value;
  }

  override render(): TemplateResult {
    const r = this.rule as (AlertRule & Raw) | null;
    const val = (k: string, d = '') =>
      r && r[k] !== undefined && r[k] !== null ? String(r[k]) : d;
    const fields = KIND_FIELDS[this.kind] ?? [];
    const has = (f: string) => fields.includes(f);
    const windowed = RULE_METRICS[this.metric as 'count']?.windowed ?? true;
    const sourceLabels: Record<string, string> = {
      '': 'all sources together',
      [EVERY_SOURCE]: 'each source separately',
    };
    const other = this.problems.filter(
      (p) =>
        !['alert', 'source', 'for', 'keepFiringFor', 'severity', ...fields].includes(
          p.field.split('.')[0]!,
        ),
    );
    return html`<form class="rule-form" @submit=${this.submit} novalidate>
      <label>Name ${this.rule ? html`<input name="alert" .value=${val('alert')} readonly />` : html`<input name="alert" placeholder="HighFailureRate" autocomplete="off" />`}${this.err('alert')}</label>
      <label>Kind ${this.select('kind', RULE_KINDS, this.kind)}</label>
      ${has('metric') ? html`<label>Metric ${this.select('metric', RULE_METRIC_NAMES, this.metric)}${this.err('metric')}</label>` : nothing}
      ${has('window') && windowed ? html`<label>Window ${this.select('window', RULE_WINDOWS, val('window', '1m'))}${this.err('window')}</label>` : nothing}
      ${has('baseline') ? html`<label>Baseline ${this.select('baseline', RULE_WINDOWS, val('baseline', '5m'))}${this.err('baseline')}</label>` : nothing}
      <label>Source ${this.select('source', ['', EVERY_SOURCE, ...this.sources], val('source'), sourceLabels)}${this.err('source')}</label>
      ${has('op') ? html`<label>Comparison ${this.select('op', COMPARISONS, val('op', '>'))}${this.err('op')}</label>` : nothing}
      ${has('threshold') ? html`<label>Threshold <input name="threshold" type="number" step="any" .value=${val('threshold')} />${this.err('threshold')}</label>` : nothing}
      ${has('ratio') ? html`<label>Ratio to baseline <input name="ratio" type="number" step="any" .value=${val('ratio', '0.5')} />${this.err('ratio')}</label>` : nothing}
      ${has('absentFor') ? html`<label>Absent for <input name="absentFor" .value=${val('absentFor', '60s')} />${this.err('absentFor')}</label>` : nothing}
      ${has('minCount') && windowed ? html`<label>Min. transactions <input name="minCount" type="number" min="0" step="1" .value=${val('minCount', '0')} />${this.err('minCount')}</label>` : nothing}
      <label>For <input name="for" .value=${val('for', '0s')} />${this.err('for')}</label>
      <label>Keep firing for <input name="keepFiringFor" .value=${val('keepFiringFor', '0s')} />${this.err('keepFiringFor')}</label>
      <label>Severity ${this.select('severity', SEVERITIES, val('severity', 'warning'))}${this.err('severity')}</label>
      <label class="wide">Summary <input name="summary" .value=${r?.annotations?.summary ?? ''} placeholder="{{ $labels.source }} at {{ $value }}" />${this.err('annotations')}</label>
      ${other.length > 0 ? html`<div class="err wide" data-error="rule">${other.map((p) => `${p.field}: ${p.message}`).join('; ')}</div>` : nothing}
      <div class="actions wide">
        <button type="submit" class="primary" data-action="save-rule" ?disabled=${this.busy}>${this.rule ? 'Save changes' : 'Create rule'}</button>
        <button type="button" @click=${this.cancel}>Cancel</button>
      </div>
      ${this.needToken ? html`<div class="wide token"><input name="token" type="password" form="rule-token" placeholder="Admin token" .value=${getAdminToken() ?? ''} /><button type="submit" form="rule-token">Use token</button></div>` : nothing}
    </form>
    <form id="rule-token" @submit=${this.saveToken}></form>`;
  }
}

customElements.define('pb-rule-form', PbRuleForm);
