import { accountName } from '../pipeline/tx-item.js';
import { CURRENCIES, FAILURE_REASONS, FLAG_RULES, STATUS, TX_TYPES } from '../shared/catalog.js';
import { ExactSum } from '../shared/exact-sum.js';
import { HISTOGRAM_BUCKETS, histogramBucket } from '../shared/latency-histogram.js';
import type { RecordViews } from '../shared/tx-ring.js';
import { addItemToCell, type RollupCellSums } from '../shared/window-row.js';

/**
 * Turns ring records into what one batch sends: the rows (as the tab-separated text of a
 * LOAD DATA LOCAL INFILE, or as the VALUES tuples of a multi-row INSERT) plus the rollup
 * upserts. Every string that reaches the SQL here comes from a fixed table (catalog,
 * validated source names), so the literals are built once; numbers are numbers. No
 * per-row escaping.
 *
 * Why LOAD DATA first (bench/db/load-vs-insert.ts): on MariaDB 10.11 it costs the server
 * about half the CPU per row of a multi-row INSERT (the parser does not tokenise a SQL
 * literal per field), and on this box the database's CPU is the pipeline's ceiling.
 */

export const TX_COLUMNS =
  'id, ref, source, account, type, amount, currency, status, failure_reason, created_ms, completed_ms, processing_ms, flag_rule, risk_score';

/** How a batch's rows travel: LOAD DATA LOCAL INFILE (tab-separated) or INSERT … VALUES. */
export type RowFormat = 'load' | 'insert';

/** The LOAD DATA statement matching `appendRingRows(…, 'load', …)` text. */
export const LOAD_TX_SQL = `LOAD DATA LOCAL INFILE 'pulseboard-batch' IGNORE INTO TABLE transactions CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${TX_COLUMNS})`;

const q = (s: string) => `'${s}'`;

/** Literals per format: [load text, insert SQL]. NULL is `\N` in LOAD DATA text. */
interface Literals {
  type: readonly string[];
  currency: readonly string[];
  reason: readonly string[];
  rule: readonly string[];
  failed: string;
  completed: string;
  nul: string;
}
const LITERALS: Record<RowFormat, Literals> = {
  load: {
    type: TX_TYPES,
    currency: CURRENCIES.map((c) => c.code),
    reason: FAILURE_REASONS.map((r) => (r === '' ? '\\N' : r)),
    rule: FLAG_RULES.map((r) => (r === '' ? '\\N' : r)),
    failed: 'failed',
    completed: 'completed',
    nul: '\\N',
  },
  insert: {
    type: TX_TYPES.map(q),
    currency: CURRENCIES.map((c) => q(c.code)),
    reason: FAILURE_REASONS.map((r) => (r === '' ? 'NULL' : q(r))),
    rule: FLAG_RULES.map((r) => (r === '' ? 'NULL' : q(r))),
    failed: q('failed'),
    completed: q('completed'),
    nul: 'NULL',
  },
};
const CURRENCY_SQL = LITERALS.insert.currency;

/** One transaction row as plain values (the ingest path); strings passed the validator. */
export interface RowValues {
  id: string;
  ref: string | null;
  source: string;
  account: string;
  type: number;
  amount: number;
  currency: number;
  failed: boolean;
  failureReason: number;
  createdMs: number;
  completedMs: number;
  processingMs: number;
  flagRule: number;
  riskScore: number;
}

/** One row in `format` (a line for LOAD DATA, a tuple for INSERT). */
export function formatRow(r: RowValues, format: RowFormat): string {
  const L = LITERALS[format];
  const s = format === 'load' ? r.source : q(r.source);
  const account = format === 'load' ? r.account : q(r.account);
  const ref = r.ref === null ? L.nul : format === 'load' ? r.ref : q(r.ref);
  const status = r.failed ? L.failed : L.completed;
  const f = [
    r.id,
    ref,
    s,
    account,
    L.type[r.type],
    r.amount,
    L.currency[r.currency],
    status,
    L.reason[r.failureReason],
    Math.round(r.createdMs),
    Math.round(r.completedMs),
    r.processingMs,
    L.rule[r.flagRule],
    r.riskScore,
  ];
  return format === 'load' ? `${f.join('\t')}\n` : `(${f.join(',')})`;
}

export interface RollupCell extends RollupCellSums {
  second: number;
  source: number;
  currency: number;
}

/**
 * Rollup cells keyed by second × source × currency, and the latency histogram keyed by
 * second × bucket, merged over the records of one batch (committed with them). Money sums
 * are exact (ExactSum) and reach the SQL as exact decimal literals; the columns they add
 * to are DECIMAL(38,0) (schema.ts, migration 3, has the arithmetic).
 */
export class RollupAccumulator {
  readonly cells = new Map<number, RollupCell>();
  /** (second * HISTOGRAM_BUCKETS + bucket) → count */
  readonly latency = new Map<number, number>();

  /** Adds one finished transaction (window-row.ts: addItemToCell, the rules of addItem). */
  add(
    second: number,
    source: number,
    currency: number,
    failed: boolean,
    flagged: boolean,
    amount: number,
    ms: number,
  ): void {
    // < 2^53: second < 2^33, source < 2^14 (a batch numbers at most 5,000 names), currency < 64.
    const key = second * 2 ** 20 + source * 64 + currency;
    let c = this.cells.get(key);
    if (c === undefined) {
      c = {
        second,
        source,
        currency,
        count: 0,
        failed: 0,
        flagged: 0,
        amount: new ExactSum(),
        volume: new ExactSum(),
        processingMs: 0,
      };
      this.cells.set(key, c);
    }
    addItemToCell(c, failed, flagged, amount, ms);
    const h = second * HISTOGRAM_BUCKETS + histogramBucket(ms);
    this.latency.set(h, (this.latency.get(h) ?? 0) + 1);
  }

  /**
   * The upserts for these cells as writer `writer` (each statement ends with `;`), or ''
   * when empty. Rows are sorted by key, so two transactions never lock them in opposite
   * orders (no deadlocks).
   */
  sql(writer: number, sourceNames: readonly string[]): string {
    if (this.cells.size === 0) return '';
    const keys = [...this.cells.keys()].sort((a, b) => a - b);
    const rows = keys.map((k) => {
      const c = this.cells.get(k)!;
      return `(${c.second},${q(sourceNames[c.source]!)},${CURRENCY_SQL[c.currency]},${writer},${c.count},${c.failed},${c.flagged},${c.amount.toString()},${c.volume.toString()},${c.processingMs})`;
    });
    const lat = [...this.latency.keys()]
      .sort((a, b) => a - b)
      .map(
        (k) =>
          `(${Math.floor(k / HISTOGRAM_BUCKETS)},${writer},${k % HISTOGRAM_BUCKETS},${this.latency.get(k)})`,
      );
    return (
      'INSERT INTO rollup_seconds (second, source, currency, writer, count, failed, flagged, amount, volume, processing_ms) VALUES ' +
      rows.join(',') +
      ' ON DUPLICATE KEY UPDATE count = count + VALUES(count), failed = failed + VALUES(failed),' +
      ' flagged = flagged + VALUES(flagged), amount = amount + VALUES(amount), volume = volume + VALUES(volume),' +
      ' processing_ms = processing_ms + VALUES(processing_ms);' +
      'INSERT INTO rollup_latency (second, writer, bucket, count) VALUES ' +
      lat.join(',') +
      ' ON DUPLICATE KEY UPDATE count = count + VALUES(count);'
    );
  }
}

/**
 * The decimal text of the 64-bit id hi·2^32 + lo without BigInt (this runs per row):
 * 2^32 = 4294·10^6 + 967296, so id = (hi·4294 + carry)·10^6 + low, each part exact in a
 * float64.
 */
export function idText(hi: number, lo: number): string {
  const low = hi * 967_296 + lo;
  const lowDigits = low % 1_000_000;
  const top = hi * 4294 + Math.floor(low / 1_000_000);
  if (top === 0) return String(lowDigits);
  const d = String(lowDigits);
  return `${top}${'000000'.slice(d.length)}${d}`;
}

export function ringRowId(f: RecordViews, i: number): string {
  return idText(f.idHi[i]!, f.idLo[i]!);
}

/**
 * TEST ONLY (PB_FAULT_POISON_ROWS, read once by each writer thread): the `created_ms` a
 * poisoned row is written with — above a signed BIGINT, so the database refuses it (INSERT:
 * ER_WARN_DATA_OUT_OF_RANGE; LOAD DATA: the same as a warning, which commit-batch.ts turns
 * into that error). Lets the tests make a simulator row the database refuses for good.
 */
export const POISON_CREATED_MS = '100000000000000000000';

/**
 * The rows of ring slots `start..start+count` (masked) whose ids are not in `skip`, as one
 * string in `format` (lines for LOAD DATA; comma-separated tuples for INSERT), with their
 * rollup cells added to `rollup`. `sourceText` holds the source names as that format
 * writes them (see sourceLiterals). `poison` (tests only, see POISON_CREATED_MS) says which
 * ring positions to poison.
 */
export function encodeRingRows(
  f: RecordViews,
  mask: number,
  start: number,
  count: number,
  format: RowFormat,
  sourceText: readonly string[],
  rollup: RollupAccumulator,
  skip?: ReadonlySet<string>,
  poison?: (position: number) => boolean,
): { text: string; rows: number } {
  const L = LITERALS[format];
  const load = format === 'load';
  let text = '';
  let rows = 0;
  for (let n = 0; n < count; n++) {
    const i = (start + n) & mask;
    const id = idText(f.idHi[i]!, f.idLo[i]!);
    if (skip?.has(id)) continue;
    const failed = f.status[i]! === STATUS.failed;
    const flag = f.flagRule[i]!;
    const completed = f.completedAt[i]!;
    const amount = f.amount[i]!;
    const ms = f.processingMs[i]!;
    const account = accountName(f.account[i]!);
    const created = poison?.((start + n) | 0) ? POISON_CREATED_MS : Math.round(f.createdAt[i]!);
    if (load) {
      text += `${id}\t\\N\t${sourceText[f.source[i]!]}\t${account}\t${L.type[f.type[i]!]}\t${amount}\t${L.currency[f.currency[i]!]}\t${failed ? 'failed' : 'completed'}\t${L.reason[f.failureReason[i]!]}\t${created}\t${Math.round(completed)}\t${ms}\t${L.rule[flag]}\t${f.riskScore[i]!}\n`;
    } else {
      text += `${rows === 0 ? '' : ','}(${id},NULL,${sourceText[f.source[i]!]},'${account}',${L.type[f.type[i]!]},${amount},${L.currency[f.currency[i]!]},${failed ? L.failed : L.completed},${L.reason[f.failureReason[i]!]},${created},${Math.round(completed)},${ms},${L.rule[flag]},${f.riskScore[i]!})`;
    }
    rollup.add(
      Math.floor(completed / 1000),
      f.source[i]!,
      f.currency[i]!,
      failed,
      flag !== 0,
      amount,
      ms,
    );
    rows++;
  }
  return { text, rows };
}

/** Source names as `format` writes them. */
export function sourceLiterals(sourceNames: readonly string[], format: RowFormat): string[] {
  return format === 'load' ? [...sourceNames] : sourceNames.map(q);
}
