/**
 * Row templates for the transaction lists (feed and alerts), with each transaction's
 * display text formatted once and cached.
 */
import { html, type TemplateResult } from 'lit';
import { fmtClock, fmtMoney, fmtMs, ruleLabel } from '../lib/format.js';
import type { TxItem } from '../types.js';

/** Fixed row height (px): the virtual list computes its visible range from it. */
export const ROW_HEIGHT = 28;

interface RowText {
  cls: string;
  time: string;
  amount: string;
  status: string;
  ms: string;
  rule: string;
}

/**
 * Formatted text per transaction, built once: every arriving row shifts the others, so
 * without this each visible row would be re-formatted (Intl calls) on every tick.
 */
const texts = new WeakMap<TxItem, RowText>();

function text(tx: TxItem): RowText {
  let t = texts.get(tx);
  if (!t) {
    const failed = tx.status === 'failed';
    t = {
      cls: `row${failed ? ' failed' : ''}${tx.flagged ? ' flagged' : ''}`,
      time: fmtClock(tx.completedAt),
      amount: fmtMoney(tx.amount, tx.currency),
      status: failed ? `✕ ${tx.failureReason ?? 'failed'}` : '✓ ok',
      ms: fmtMs(tx.processingMs),
      rule: ruleLabel(tx.flagRule),
    };
    texts.set(tx, t);
  }
  return t;
}

export function feedRow(tx: TxItem): TemplateResult {
  const t = text(tx);
  return html`<div class=${t.cls} role="listitem" data-status=${tx.status} data-flagged=${tx.flagged}>
    <span class="time">${t.time}</span>
    <span class="src">${tx.source}</span>
    <span class="type">${tx.type}</span>
    <span class="acct" title=${tx.account}>${tx.account}</span>
    <span class="amt">${t.amount}</span>
    <span class="st st-${tx.status}" title=${t.status}>${t.status}</span>
    <span class="ms">${t.ms}</span>
    <span class="flag" title=${t.rule}>${tx.flagged ? '⚑' : ''}</span>
  </div>`;
}

export function alertRow(tx: TxItem): TemplateResult {
  const t = text(tx);
  return html`<div class="row flagged" role="listitem" data-rule=${tx.flagRule ?? ''}>
    <span class="time">${t.time}</span>
    <span class="rule" title=${tx.flagRule ?? ''}>${t.rule}</span>
    <span class="risk" title="risk score">${tx.riskScore}</span>
    <span class="amt">${t.amount}</span>
    <span class="src">${tx.source}</span>
    <span class="acct" title=${`${tx.account} · id ${tx.id}`}>${tx.account}</span>
  </div>`;
}
