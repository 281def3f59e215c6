import { CURRENCIES, FAILURE_REASONS, FLAG_RULES, STATUS, TX_TYPES } from '../shared/catalog.js';
import type { RecordViews } from '../shared/tx-ring.js';
import { idText, POISON_CREATED_MS, type RollupAccumulator } from './ring-rows.js';

/**
 * The writers' LOAD DATA text, written straight into a reused Buffer: byte for byte what
 * encodeRingRows(…, 'load', …) returns (test/load-rows-encoder.test.ts compares them).
 *
 * Why not the string: profiling the writer thread under bench:persisted (profiles/README.md,
 * "Persisted pipeline vs the LOAD DATA ceiling") put ~25 % of its busy time in building it:
 * a template string per row, a 5,000-deep rope, then its flattening and latin1 copy into a
 * Buffer (Buffer.write), and the garbage collector collecting all of it. Here a row is a
 * few dozen byte stores into memory that lives as long as the lane; the per-row cost that
 * is left is the digits themselves and the rollup cell.
 *
 * One encoder per lane (connection): the Buffer it returns is the payload of the lane's
 * batch in flight, so it is only reused once that batch's LOAD DATA has been sent.
 */

const TAB = 9;
const NL = 10;
const ZERO = 48;
/** No row is longer (20-digit id, 32-char source, catalog names, 5 numbers); checked per row. */
const MAX_ROW_BYTES = 512;

const ascii = (s: string) => Buffer.from(s, 'latin1');
const NUL = ascii('\\N');
const TYPE = TX_TYPES.map(ascii);
const CURRENCY = CURRENCIES.map((c) => ascii(c.code));
const REASON = FAILURE_REASONS.map((r) => (r === '' ? NUL : ascii(r)));
const RULE = FLAG_RULES.map((r) => (r === '' ? NUL : ascii(r)));
const FAILED = ascii('failed');
const COMPLETED = ascii('completed');
const ACCOUNT_PREFIX = ascii('AC');
const POISON = ascii(POISON_CREATED_MS);

/** Above this, digits by division could round wrong; String() is exact (never in practice). */
const DIGITS_EXACT_BELOW = 1e15;

export class LoadRowsEncoder {
  private buf = Buffer.allocUnsafe(1 << 20);
  private pos = 0;
  private sourceStr: string[] = [];
  private sourceBuf: Buffer[] = [];

  /**
   * The rows of ring slots `start..start+count` (masked) whose ids are not in `skip`, with
   * their rollup cells added to `rollup`; the same contract as encodeRingRows' 'load'.
   * The returned Buffer is a view of this encoder's memory, valid until the next call.
   */
  encode(
    f: RecordViews,
    mask: number,
    start: number,
    count: number,
    sourceText: readonly string[],
    rollup: RollupAccumulator,
    skip?: ReadonlySet<string>,
    poison?: (position: number) => boolean,
  ): { payload: Buffer; rows: number } {
    this.pos = 0;
    let rows = 0;
    for (let n = 0; n < count; n++) {
      const i = (start + n) & mask;
      const hi = f.idHi[i]!;
      const lo = f.idLo[i]!;
      if (skip?.has(idText(hi, lo))) continue;
      if (this.pos + MAX_ROW_BYTES > this.buf.length) this.grow();
      const failed = f.status[i]! === STATUS.failed;
      const flag = f.flagRule[i]!;
      const completed = f.completedAt[i]!;
      const amount = f.amount[i]!;
      const ms = f.processingMs[i]!;
      this.id(hi, lo);
      this.tab();
      this.bytes(NUL);
      this.tab();
      this.bytes(this.source(sourceText, f.source[i]!));
      this.tab();
      this.bytes(ACCOUNT_PREFIX);
      this.int(f.account[i]!, 8);
      this.tab();
      this.bytes(TYPE[f.type[i]!]!);
      this.tab();
      this.int(amount, 1);
      this.tab();
      this.bytes(CURRENCY[f.currency[i]!]!);
      this.tab();
      this.bytes(failed ? FAILED : COMPLETED);
      this.tab();
      this.bytes(REASON[f.failureReason[i]!]!);
      this.tab();
      if (poison?.((start + n) | 0)) this.bytes(POISON);
      else this.int(Math.round(f.createdAt[i]!), 1);
      this.tab();
      this.int(Math.round(completed), 1);
      this.tab();
      this.int(ms, 1);
      this.tab();
      this.bytes(RULE[flag]!);
      this.tab();
      this.int(f.riskScore[i]!, 1);
      this.buf[this.pos++] = NL;
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
    return { payload: this.buf.subarray(0, this.pos), rows };
  }

  private grow(): void {
    const next = Buffer.allocUnsafe(this.buf.length * 2);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private tab(): void {
    this.buf[this.pos++] = TAB;
  }

  /** Short literals: a byte loop beats a native copy call at these lengths. */
  private bytes(b: Buffer): void {
    const buf = this.buf;
    let p = this.pos;
    for (let k = 0; k < b.length; k++) buf[p++] = b[k]!;
    this.pos = p;
  }

  /** Source names can be added at run time: re-encode a slot whose string changed. */
  private source(text: readonly string[], k: number): Buffer {
    const s = text[k]!;
    if (this.sourceStr[k] !== s) {
      this.sourceStr[k] = s;
      this.sourceBuf[k] = ascii(s);
    }
    return this.sourceBuf[k]!;
  }

  /** The id hi·2^32 + lo in decimal, as idText writes it (top part, then 6 digits). */
  private id(hi: number, lo: number): void {
    const low = hi * 967_296 + lo;
    const lowDigits = low % 1_000_000;
    const top = hi * 4294 + Math.floor(low / 1_000_000);
    if (top === 0) {
      this.int(lowDigits, 1);
      return;
    }
    this.int(top, 1);
    this.int(lowDigits, 6);
  }

  /** A whole number in decimal, zero-padded to `width` digits (like padStart). */
  private int(v: number, width: number): void {
    if (v < 0) {
      this.buf[this.pos++] = 45; // '-'
      v = -v;
    }
    if (v >= DIGITS_EXACT_BELOW) {
      const s = String(v);
      for (let k = s.length; k < width; k++) this.buf[this.pos++] = ZERO;
      this.pos += this.buf.write(s, this.pos, 'latin1');
      return;
    }
    // Timestamps and large amounts: two parts below 10^9, so the digits are int32 arithmetic
    // (a float division per digit was most of this function's time). v < 10^15 keeps
    // floor(v / 10^9) exact.
    if (v >= 1e9) {
      const hi = Math.floor(v / 1e9);
      this.small(hi, width > 9 ? width - 9 : 1);
      this.small(v - hi * 1e9, 9);
      return;
    }
    this.small(v, width);
  }

  /** `int` for 0 ≤ v < 10^9. */
  private small(v: number, width: number): void {
    let n = v | 0;
    let len = 1;
    for (let t = n; t >= 10; t = (t / 10) | 0) len++;
    if (len < width) len = width;
    const buf = this.buf;
    let p = this.pos + len;
    this.pos = p;
    for (let k = 0; k < len; k++) {
      const q = (n / 10) | 0;
      buf[--p] = ZERO + (n - q * 10);
      n = q;
    }
  }
}
