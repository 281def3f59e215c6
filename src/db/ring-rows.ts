import { accountName } from '../pipeline/tx-item.js';
import { CURRENCIES, FAILURE_REASONS, FLAG_RULES, STATUS, TX_TYPES } from '../shared/catalog.js';
import { txIdToString } from '../shared/tx-id.js';
import type { RecordViews } from '../shared/tx-ring.js';

/**
 * Turns ring records into the text of one multi-row INSERT plus its rollup upsert. Every
 * string that reaches the SQL here comes from a fixed table (catalog, validated source
 * names), so the quoted literals are built once; numbers are numbers. No per-row escaping.
 */

export const TX_COLUMNS =
  'id, ref, source, account, type, amount, currency, status, failure_reason, created_ms, completed_ms, processing_ms, flag_rule, risk_score';

const q = (s: string) => `'${s}'`;
const TYPE_SQL = TX_TYPES.map(q);
const CURRENCY_SQL = CURRENCIES.map((c) => q(c.code));
const REASON_SQL = FAILURE_REASONS.map((r) => (r === '' ? 'NULL' : q(r)));
const RULE_SQL = FLAG_RULES.map((r) => (r === '' ? 'NULL' : q(r)));

export interface RollupCell {
  second: number;
  source: number;
  currency: number;
  count: number;
  failed: number;
  flagged: number;
  amount: number;
  processingMs: number;
}

/** Rollup cells keyed by second × source × currency, merged over records. */
export class RollupAccumulator {
  readonly cells = new Map<number, RollupCell>();

  add(
    second: number,
    source: number,
    currency: number,
    failed: boolean,
    flagged: boolean,
    amount: number,
    ms: number,
  ): void {
    const key = second * 4096 + source * 64 + currency;
    let c = this.cells.get(key);
    if (c === undefined) {
      c = { second, source, currency, count: 0, failed: 0, flagged: 0, amount: 0, processingMs: 0 };
      this.cells.set(key, c);
    }
    c.count++;
    if (failed) c.failed++;
    if (flagged) c.flagged++;
    c.amount += amount;
    c.processingMs += ms;
  }

  /** The upsert for these cells as writer `writer`, or '' when empty. Sorted: no deadlocks. */
  sql(writer: number, sourceNames: readonly string[]): string {
    if (this.cells.size === 0) return '';
    const keys = [...this.cells.keys()].sort((a, b) => a - b);
    const rows = keys.map((k) => {
      const c = this.cells.get(k)!;
      return `(${c.second},${q(sourceNames[c.source]!)},${CURRENCY_SQL[c.currency]},${writer},${c.count},${c.failed},${c.flagged},${c.amount},${c.processingMs})`;
    });
    return (
      'INSERT INTO rollup_seconds (second, source, currency, writer, count, failed, flagged, amount, processing_ms) VALUES ' +
      rows.join(',') +
      ' ON DUPLICATE KEY UPDATE count = count + VALUES(count), failed = failed + VALUES(failed),' +
      ' flagged = flagged + VALUES(flagged), amount = amount + VALUES(amount), processing_ms = processing_ms + VALUES(processing_ms)'
    );
  }
}

export function ringRowId(f: RecordViews, i: number): string {
  return txIdToString(f.idHi[i]!, f.idLo[i]!);
}

/**
 * Appends the VALUES tuples of ring slots `start..start+count` (masked) whose ids are not in
 * `skip` to `out`, and their rollup cells to `rollup`. Returns the number of rows added.
 */
export function appendRingRows(
  f: RecordViews,
  mask: number,
  start: number,
  count: number,
  sourceSql: readonly string[],
  out: string[],
  rollup: RollupAccumulator,
  skip?: ReadonlySet<string>,
): number {
  let added = 0;
  for (let n = 0; n < count; n++) {
    const i = (start + n) & mask;
    const id = ringRowId(f, i);
    if (skip?.has(id)) continue;
    const status = f.status[i]!;
    const failed = status === STATUS.failed;
    const flag = f.flagRule[i]!;
    const completed = f.completedAt[i]!;
    const amount = f.amount[i]!;
    const ms = f.processingMs[i]!;
    out.push(
      `(${id},NULL,${sourceSql[f.source[i]!]},'${accountName(f.account[i]!)}',${TYPE_SQL[f.type[i]!]},${amount},${CURRENCY_SQL[f.currency[i]!]},${failed ? "'failed'" : "'completed'"},${REASON_SQL[f.failureReason[i]!]},${Math.round(f.createdAt[i]!)},${Math.round(completed)},${ms},${RULE_SQL[flag]},${f.riskScore[i]!})`,
    );
    rollup.add(
      Math.floor(completed / 1000),
      f.source[i]!,
      f.currency[i]!,
      failed,
      flag !== 0,
      amount,
      ms,
    );
    added++;
  }
  return added;
}

export function sourceLiterals(sourceNames: readonly string[]): string[] {
  return sourceNames.map(q);
}
