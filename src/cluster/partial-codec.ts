import { B_SOURCES, OVERFLOW_SLOT, ROW_STRIDE, SOURCE_FIELDS } from '../shared/window-row.js';

/**
 * One node's per-tick partial on the backplane: what the node adds to the global view,
 * as absolute per-(second, node) window rows (window-row.ts), so a receiver replaces rather
 * than adds and a message seen twice changes nothing.
 *
 *   | u32 header length | header (JSON) | row × n: the row's words 1…B_SOURCES−1, then
 *                                         SOURCE_FIELDS words per named source and the
 *                                         overflow's, each an f64 |
 *
 * Rows are dense and of one fixed size, so a partial's bytes do not depend on the traffic:
 * (B_SOURCES − 1 + SOURCE_FIELDS × (sources + 1)) × 8 B a second, where sources is how many
 * names the node's registry holds (at most SOURCES_MAX). A sparse encoding (only the
 * non-zero words, 10 B each) is smaller at a few sources, but its size follows the words a
 * second touches (latency buckets, currencies, sources), which grow with the rate: a
 * backplane's size should follow the layout, not the load (bench:cluster measures its bytes
 * and the non-zero words of its rows).
 * Source slots are each node's own numbering (its registry), so the header names them in
 * order and the receiver maps them to its own.
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
  /** The sender's source names by slot: slot i of each row is sources[i]. */
  sources: string[];
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

/** Words a row takes on the wire with `sources` named slots (B_SECOND travels in the header). */
export function wireWords(sources: number): number {
  return B_SOURCES - 1 + (sources + 1) * SOURCE_FIELDS;
}

export function encodePartial(
  header: Omit<PartialHeader, 'sources'>,
  rows: Float64Array,
  sources: readonly string[],
): Uint8Array {
  const n = header.seconds.length;
  const head = encoder.encode(JSON.stringify({ ...header, sources }));
  const named = sources.length * SOURCE_FIELDS;
  const overflow = B_SOURCES + OVERFLOW_SLOT * SOURCE_FIELDS;
  const out = new Uint8Array(4 + head.length + n * wireWords(sources.length) * 8);
  const view = new DataView(out.buffer);
  view.setUint32(0, head.length, true);
  out.set(head, 4);
  let at = 4 + head.length;
  const put = (from: number, to: number) => {
    for (let i = from; i < to; i++, at += 8) view.setFloat64(at, rows[i]!, true);
  };
  for (let r = 0; r < n; r++) {
    const base = r * ROW_STRIDE;
    put(base + 1, base + B_SOURCES + named);
    put(base + overflow, base + overflow + SOURCE_FIELDS);
  }
  return out;
}

/** Decodes a partial; throws on a malformed message (the caller drops it). */
export function decodePartial(data: Uint8Array): Partial {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headLength = view.getUint32(0, true);
  const header = JSON.parse(decoder.decode(data.subarray(4, 4 + headLength))) as PartialHeader;
  if (
    !Array.isArray(header.seconds) ||
    typeof header.node !== 'number' ||
    !Array.isArray(header.sources) ||
    header.sources.length > OVERFLOW_SLOT
  )
    throw new TypeError('not a partial');
  const n = header.seconds.length;
  if (data.byteLength !== 4 + headLength + n * wireWords(header.sources.length) * 8)
    throw new TypeError('partial length does not match its header');
  const rows = new Float64Array(n * ROW_STRIDE);
  const named = header.sources.length * SOURCE_FIELDS;
  const overflow = B_SOURCES + OVERFLOW_SLOT * SOURCE_FIELDS;
  let at = 4 + headLength;
  const get = (from: number, to: number) => {
    for (let i = from; i < to; i++, at += 8) rows[i] = view.getFloat64(at, true);
  };
  for (let r = 0; r < n; r++) {
    const base = r * ROW_STRIDE;
    get(base + 1, base + B_SOURCES + named);
    get(base + overflow, base + overflow + SOURCE_FIELDS);
  }
  return { header, rows };
}
