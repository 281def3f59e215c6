import { CURRENCIES, MAX_CURRENCIES } from './catalog.js';
import type { ExactSum } from './exact-sum.js';
import { HISTOGRAM_BUCKETS, histogramBucket } from './latency-histogram.js';

/**
 * The window row: what one second of transactions adds up to, and the one definition of
 * how an item is added to it. A shard's second, the primary's window, the rollups read
 * back from MySQL and a cluster merge are all this vector; merging is element-wise
 * addition and a second leaves a window by element-wise subtraction (mergeRow,
 * subtractRow). Every writer of a row goes through addItem (shards, ingest) or
 * addRollupCell (MySQL rollups, whose cells were built by addItemToCell), so the rules of
 * what counts where are written once, here.
 *
 *   window row (float64 × ROW_STRIDE)
 *   +--------+-------+--------+---------+-------+--------+------------+--------------+
 *   | second | count | failed | flagged | procΣ | volUsd | vol[cur]×16| volHi[cur]×16|
 *   +--------+-------+--------+---------+-------+--------+------------+--------------+
 *   | hist ×128 | source slot × 257: (count, usd, failed)                             |
 *   +-----------+---------------------------------------------------------------------+
 *
 * Volume per currency is money and must be exact, but one second may hold more than 2^53
 * minor units (ten ingested amounts of 10^15 do). So it is two limbs: vol = volHi · 2^32 +
 * vol, and addVolume keeps a bucket's low limb below 2^32 (carrying into volHi). Sums of
 * limbs stay exact integers while each stays below 2^53: the low limbs of a window
 * (≤ 4096 seconds × 64 shards × 2^32 < 2^50) always do; the high limbs do while a window's
 * volume in one currency stays below 2^85 ≈ 3.9·10^25 minor units (an hour of 10^5
 * maximal amounts per second is 3.6·10^23). Adding and subtracting seconds (the window's
 * running sums) is then exact too, so a large second leaves no rounding behind when it
 * leaves the window. volUsd and a source's usd are approximate by nature (fixed demo
 * rates). A source's failed counts its failed transactions (per-source failure-rate rules).
 *
 * Source slots: slot i is the source the registry (source-registry.ts) numbered i; slot
 * OVERFLOW_SLOT counts every name that came after the registry was full (`other`).
 * Why SOURCES_LIMIT = 256 named slots: the per-source part is 3 × 257 × 8 B = 6,168 B of
 * a 7,496 B row (ROW_BYTES), so a shard's ring of 4,096 seconds is 30.7 MB, and each
 * further 256 sources would add another 25 MB per writer thread and to the primary's ring.
 * Rows are cleared by clearRow, which writes only non-zero words, so a page no slot in use
 * reaches is never written and stays out of the resident set: with a handful of sources a
 * ring is ~22.8 MB resident (each 7.5 KB row still writes its first page or two; 8.6 MB
 * when a row held 32 source slots), 30.7 MB with every slot busy.
 */

/** Named source slots a row reserves: the most SOURCES_MAX may be (config/option-specs.ts). */
export const SOURCES_LIMIT = 256;
/** The slot of names that came after the registry was full. */
export const OVERFLOW_SLOT = SOURCES_LIMIT;
/** Named slots plus the overflow slot. */
export const SOURCE_SLOTS = SOURCES_LIMIT + 1;

export const B_SECOND = 0;
export const B_COUNT = 1;
export const B_FAILED = 2;
export const B_FLAGGED = 3;
export const B_PROC_SUM = 4;
export const B_VOLUME_USD = 5;
export const B_VOLUME = 6; // per currency: low limb (< 2^32 in a shard's bucket)
export const B_VOLUME_HI = B_VOLUME + MAX_CURRENCIES; // per currency: multiples of 2^32
export const B_HISTOGRAM = B_VOLUME_HI + MAX_CURRENCIES;
/** Source slot s starts at B_SOURCES + s · SOURCE_FIELDS. */
export const B_SOURCES = B_HISTOGRAM + HISTOGRAM_BUCKETS;
export const S_COUNT = 0;
export const S_USD = 1;
export const S_FAILED = 2;
export const SOURCE_FIELDS = 3;
export const ROW_STRIDE = B_SOURCES + SOURCE_SLOTS * SOURCE_FIELDS;
export const ROW_BYTES = ROW_STRIDE * 8;

/** The volume limbs' base: vol = volHi · VOLUME_LIMB + vol. */
export const VOLUME_LIMB = 2 ** 32;

/** Offset, within a row, of source slot `slot`'s fields. */
export function sourceField(slot: number, field: number): number {
  return B_SOURCES + slot * SOURCE_FIELDS + field;
}

/**
 * Adds one finished transaction. Volume is money that moved: a failed transaction counts
 * (count, failed, latency) but adds no volume.
 */
export function addItem(
  b: Float64Array,
  r: number,
  failed: boolean,
  flagged: boolean,
  processingMs: number,
  currency: number,
  amount: number,
  amountUsd: number,
  source: number,
): void {
  const s = r + B_SOURCES + source * SOURCE_FIELDS;
  b[r + B_COUNT]!++;
  b[s + S_COUNT]!++;
  if (failed) {
    b[r + B_FAILED]!++;
    b[s + S_FAILED]!++;
  } else {
    addVolume(b, r, currency, amount); // exact past 2^53
    b[r + B_VOLUME_USD]! += amountUsd;
    b[s + S_USD]! += amountUsd;
  }
  if (flagged) b[r + B_FLAGGED]!++;
  b[r + B_PROC_SUM]! += processingMs;
  b[r + B_HISTOGRAM + histogramBucket(processingMs)]!++;
}

/** dst row += src row. B_SECOND (index 0) is a label, not a sum: it is left alone. */
export function mergeRow(dst: Float64Array, dOff: number, src: Float64Array, sOff: number): void {
  for (let i = 1; i < ROW_STRIDE; i++) dst[dOff + i]! += src[sOff + i]!;
}

/** dst row −= src row (a second leaving a window's running sum). */
export function subtractRow(
  dst: Float64Array,
  dOff: number,
  src: Float64Array,
  sOff: number,
): void {
  for (let i = 1; i < ROW_STRIDE; i++) dst[dOff + i]! -= src[sOff + i]!;
}

/**
 * Zeroes a row, writing only the words that are not zero already: a page no source slot
 * ever used stays untouched (out of the resident set; see the header).
 */
export function clearRow(b: Float64Array, off: number): void {
  clearRows(b, off, off + ROW_STRIDE);
}

/** clearRow for b[start, end): a whole ring of rows (a reset) likewise. */
export function clearRows(b: Float64Array, start = 0, end = b.length): void {
  for (let i = start; i < end; i++) if (b[i] !== 0) b[i] = 0;
}

/**
 * Copies rows into a zeroed ring, writing only their non-zero words (the restart reload:
 * an hour of seconds that used a few source slots commits only the pages those use).
 */
export function copyRows(dst: Float64Array, dOff: number, src: Float64Array, sOff: number): void {
  for (let i = 0; i < ROW_STRIDE; i++) {
    const v = src[sOff + i]!;
    if (v !== 0) dst[dOff + i] = v;
  }
}

/**
 * Adds `amount` (an integer in [0, 2^52]) to currency `currency`'s volume in the row at
 * `row`, carrying into the high limb so the low limb stays below 2^32.
 */
export function addVolume(b: Float64Array, row: number, currency: number, amount: number): void {
  const lo = b[row + B_VOLUME + currency]! + amount;
  if (lo < VOLUME_LIMB) {
    b[row + B_VOLUME + currency] = lo;
    return;
  }
  const carry = Math.floor(lo / VOLUME_LIMB);
  b[row + B_VOLUME_HI + currency]! += carry;
  b[row + B_VOLUME + currency] = lo - carry * VOLUME_LIMB;
}

/** Adds an exact volume (e.g. a DECIMAL sum read back from MySQL) to a row, split into limbs. */
export function addVolumeExact(
  b: Float64Array,
  row: number,
  currency: number,
  volume: bigint,
): void {
  const limb = BigInt(VOLUME_LIMB);
  b[row + B_VOLUME_HI + currency]! += Number(volume / limb);
  b[row + B_VOLUME + currency]! += Number(volume % limb);
}

/** Currency `currency`'s volume in the row at `row`, exactly. */
export function volumeOf(b: Float64Array, row: number, currency: number): bigint {
  return (
    BigInt(b[row + B_VOLUME_HI + currency]!) * BigInt(VOLUME_LIMB) +
    BigInt(b[row + B_VOLUME + currency]!)
  );
}

/**
 * A rollup cell: a row restricted to one (second, source, currency), as MySQL keeps it
 * (rollup_seconds). The latency histogram is kept beside it per second (rollup_latency).
 */
export interface RollupCellSums {
  count: number;
  failed: number;
  flagged: number;
  /** Every item's amount (what the producer sent), exact. */
  amount: ExactSum;
  /** Amount of the completed (not failed) ones: the volume a row shows, exact. */
  volume: ExactSum;
  processingMs: number;
}

/** addItem for a rollup cell: the same rules, for the MySQL rollups. */
export function addItemToCell(
  c: RollupCellSums,
  failed: boolean,
  flagged: boolean,
  amount: number,
  processingMs: number,
): void {
  c.count++;
  if (failed) c.failed++;
  else c.volume.add(amount);
  if (flagged) c.flagged++;
  c.amount.add(amount);
  c.processingMs += processingMs;
}

const USD_PER_MINOR = CURRENCIES.map((c) => c.usdPerMinor);

/**
 * Adds a rollup cell read back from MySQL (sums of its columns) to the row at `off`.
 * `currency` −1 (a code no longer in the catalog) and `source` −1 (no slot) still count in
 * the totals. Returns nothing; the latency histogram comes separately (addLatency).
 */
export function addRollupCell(
  b: Float64Array,
  off: number,
  source: number,
  currency: number,
  count: number,
  failed: number,
  flagged: number,
  volume: bigint,
  processingMs: number,
): void {
  const usd = currency < 0 ? 0 : Number(volume) * USD_PER_MINOR[currency]!;
  b[off + B_COUNT]! += count;
  b[off + B_FAILED]! += failed;
  b[off + B_FLAGGED]! += flagged;
  b[off + B_PROC_SUM]! += processingMs;
  if (currency >= 0) addVolumeExact(b, off, currency, volume);
  b[off + B_VOLUME_USD]! += usd;
  if (source >= 0) {
    const s = off + B_SOURCES + source * SOURCE_FIELDS;
    b[s + S_COUNT]! += count;
    b[s + S_USD]! += usd;
    b[s + S_FAILED]! += failed;
  }
}

/** Adds `count` items of latency bucket `bucket` (a rollup_latency row); ignores others. */
export function addLatency(b: Float64Array, off: number, bucket: number, count: number): void {
  if (bucket < 0 || bucket >= HISTOGRAM_BUCKETS) return;
  b[off + B_HISTOGRAM + bucket]! += count;
}
