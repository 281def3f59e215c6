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
  private keys = new Float64Array(8192);
  private order = new Int32Array(8192);
  private sourceStr: string[] = [];
  private sourceBuf: Buffer[] = [];

  /**
   * The rows of ring slots `start..start+count` (masked) whose ids are not in `skip`, with
   * their rollup cells added to `rollup`; the same contract as encodeRingRows' 'load'.
   * The returned Buffer is a view of this encoder's memory, valid until the next call.
   *
   * `byId` writes the rows in id order instead of ring order. A simulator shard mints ids
   * at completion, so its ring is in id order already; the sort keeps a batch in key order
   * whatever fills a ring. When the ids were creation-time ones and
   * processing took 100 ms to 2 s, one batch's ids were scattered over the last ~2 s of the
   * key, and InnoDB descended to and latched a different leaf for nearly every row.
   * Measured with the LOAD DATA alone (2 connections, 5,000 rows, CPU of the two server
   * connection threads): ids in order 3.3 µs/row, in that scattered order 4.9–5.6, the same
   * rows sorted per batch 4.4–4.5 (profiles/README.md, "Persisted pipeline vs the LOAD DATA
   * ceiling").
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
    byId = false,
  ): { payload: Buffer; rows: number } {
    this.pos = 0;
    let rows = 0;
    const order = byId ? this.idOrder(f, mask, start, count) : null;
    for (let j = 0; j < count; j++) {
      const n = order === null ? j : order[j]!;
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

  /**
   * Offsets 0..count-1 of the batch in ascending id order. The usual case is one native
   * numeric sort of float64 keys (id relative to the batch's smallest high half, times
   * 2^bits, plus the offset), exact while they stay below 2^53: a batch of 8,192 rows whose
   * ids span up to 256 × 2^32 (about 4 minutes of id time). Otherwise a comparator.
   */
  private idOrder(f: RecordViews, mask: number, start: number, count: number): Int32Array {
    if (this.order.length < count) {
      this.order = new Int32Array(count);
      this.keys = new Float64Array(count);
    }
    const order = this.order.subarray(0, count);
    let minHi = Number.POSITIVE_INFINITY;
    let maxHi = 0;
    for (let n = 0; n < count; n++) {
      const hi = f.idHi[(start + n) & mask]!;
      if (hi < minHi) minHi = hi;
      if (hi > maxHi) maxHi = hi;
    }
    const bits = Math.max(1, Math.ceil(Math.log2(count)));
    const scale = 2 ** bits;
    if ((maxHi - minHi + 1) * 2 ** 32 * scale <= 2 ** 53) {
      const keys = this.keys.subarray(0, count);
      for (let n = 0; n < count; n++) {
        const i = (start + n) & mask;
        keys[n] = ((f.idHi[i]! - minHi) * 2 ** 32 + f.idLo[i]!) * scale + n;
      }
      keys.sort();
      for (let j = 0; j < count; j++) order[j] = keys[j]! % scale;
      return order;
    }
    for (let n = 0; n < count; n++) order[n] = n;
    return order.sort((a, b) => {
      const i = (start + a) & mask;
      const k = (start + b) & mask;
      return f.idHi[i]! - f.idHi[k]! || f.idLo[i]! - f.idLo[k]!;
    });
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
