import { B_SOURCES, OVERFLOW_SLOT, ROW_STRIDE, SOURCE_FIELDS } from '../shared/window-row.js';

/**
 * One node's per-tick partial on the backplane: what the node adds to the global view,
 * as absolute per-(second, node) window rows (window-row.ts), so a receiver replaces rather
 * than adds and a message seen twice changes nothing.
 *
 *   | u32 header length | header (JSON) | row × n: u16 k, then k × (u16 index, f64 value) |
 *
 * Rows are sparse: only their non-zero words travel, 10 B each. A row has ROW_STRIDE (937)
 * words, of which a second of traffic uses a few dozen (a few currencies, the latency
 * buckets hit, the sources seen): more of them as the rate rises, until every field the
 * traffic can touch is in use (bench:cluster measures the words per part of the row), and
 * at most 10 × ROW_STRIDE B. Source slots are each node's own numbering (its registry), so
 * the header names the slots the rows use and the receiver maps them to its own.
 */

export interface PartialHeader {
  /** Node id (0–15) and the process instance (a restart is a new instance). */
  node: number;
  instance: string;
  /** Sender's epoch ms when the partial was built. */
  ts: number;
  /** Seconds ≤ closedThrough are final; the rows up to it are the closed ones not sent before. */
  closedThrough: number;
  /** Seconds of `rows`, in order: closed ones (≤ closedThrough), then the open ones. */
  seconds: number[];
  /** Completions in the node's last full second, its WebSocket clients. */
  tps: number;
  clients: number;
  /** In-flight pending, processing. */
  inFlight: [number, number];
  /** Slot → source name for every source slot the rows use (the overflow slot needs none). */
  slots: Record<number, string>;
}

export interface Partial {
  header: PartialHeader;
  /** ROW_STRIDE words per second of header.seconds. */
  rows: Float64Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The source slot a row index belongs to, or −1 for the shared part of the row. */
export function slotOfIndex(i: number): number {
  return i < B_SOURCES ? -1 : Math.floor((i - B_SOURCES) / SOURCE_FIELDS);
}

export function encodePartial(
  header: Omit<PartialHeader, 'slots'>,
  rows: Float64Array,
  nameOf: (slot: number) => string,
): Uint8Array {
  const n = header.seconds.length;
  const slots: Record<number, string> = {};
  let nonZero = 0;
  for (let i = 0; i < n * ROW_STRIDE; i++) {
    if (rows[i] === 0) continue;
    nonZero++;
    const slot = slotOfIndex(i % ROW_STRIDE);
    if (slot >= 0 && slot !== OVERFLOW_SLOT && slots[slot] === undefined)
      slots[slot] = nameOf(slot);
  }
  const head = encoder.encode(JSON.stringify({ ...header, slots }));
  const out = new Uint8Array(4 + head.length + n * 2 + nonZero * 10);
  const view = new DataView(out.buffer);
  view.setUint32(0, head.length, true);
  out.set(head, 4);
  let at = 4 + head.length;
  for (let r = 0; r < n; r++) {
    const base = r * ROW_STRIDE;
    const countAt = at;
    at += 2;
    let k = 0;
    // B_SECOND (index 0) is a label, not a sum: it travels in header.seconds.
    for (let i = 1; i < ROW_STRIDE; i++) {
      const v = rows[base + i]!;
      if (v === 0) continue;
      view.setUint16(at, i, true);
      view.setFloat64(at + 2, v, true);
      at += 10;
      k++;
    }
    view.setUint16(countAt, k, true);
  }
  return out;
}

/** Decodes a partial; throws on a malformed message (the caller drops it). */
export function decodePartial(data: Uint8Array): Partial {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headLength = view.getUint32(0, true);
  const header = JSON.parse(decoder.decode(data.subarray(4, 4 + headLength))) as PartialHeader;
  if (!Array.isArray(header.seconds) || typeof header.node !== 'number')
    throw new TypeError('not a partial');
  const rows = new Float64Array(header.seconds.length * ROW_STRIDE);
  let at = 4 + headLength;
  for (let r = 0; r < header.seconds.length; r++) {
    const k = view.getUint16(at, true);
    at += 2;
    for (let j = 0; j < k; j++) {
      const i = view.getUint16(at, true);
      if (i === 0 || i >= ROW_STRIDE) throw new TypeError('row index out of range');
      rows[r * ROW_STRIDE + i] = view.getFloat64(at + 2, true);
      at += 10;
    }
  }
  return { header, rows };
}
