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
  /** HH:MM:SS: alerts are rarer, and their rule needs the width. */
  timeShort: string;
  amount: string;
  status: string;
  ms: string;
  rule: string;
  /** Hover text with what narrow columns cut off. */
  title: string;
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
    const status = failed ? `✕ ${tx.failureReason ?? 'failed'}` : '✓ ok';
    const rule = ruleLabel(tx.flagRule);
    t = {
      cls: `row${failed ? ' failed' : ''}${tx.flagged ? ' flagged' : ''}`,
      time: fmtClock(tx.completedAt),
      timeShort: fmtClock(tx.completedAt).slice(0, 8),
      amount: fmtMoney(tx.amount, tx.currency),
      status,
      ms: fmtMs(tx.processingMs),
      rule,
      title:
        `${tx.id} · ${tx.source} · ${tx.type} · ${tx.account} · ${status}` +
        (tx.flagged ? ` · flagged: ${rule} (risk ${tx.riskScore})` : ''),
    };
    texts.set(tx, t);
  }
  return t;
}

// Few bindings per row on purpose: all visible rows change on every tick (new items push
// the old ones down), so each binding is a DOM write per row per tick.

export function feedRow(tx: TxItem): TemplateResult {
  const t = text(tx);
  return html`<div class=${t.cls} role="listitem" title=${t.title}>
    <span class="time">${t.time}</span>
    <span class="src">${tx.source}</span>
    <span class="type">${tx.type}</span>
    <span class="acct">${tx.account}</span>
    <span class="amt">${t.amount}</span>
    <span class="st">${t.status}</span>
    <span class="ms">${t.ms}</span>
    <span class="flag">${tx.flagged ? '⚑' : ''}</span>
  </div>`;
}

export function alertRow(tx: TxItem): TemplateResult {
  const t = text(tx);
  return html`<div class="row flagged" role="listitem" title=${t.title}>
    <span class="time">${t.timeShort}</span>
    <span class="rule">${t.rule}</span>
    <span class="risk">${tx.riskScore}</span>
    <span class="amt">${t.amount}</span>
    <span class="src">${tx.source}</span>
    <span class="acct">${tx.account}</span>
  </div>`;
}
