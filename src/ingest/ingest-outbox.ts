import {
  type IngestParts,
  PART_END,
  PART_FIELDS,
  PART_FLAGS,
  PART_REQ_ID,
  PART_START,
} from '../shared/ingest-protocol.js';

/** Longest a part waits while the thread commits: well under one commit (~2–5 ms). */
const FLUSH_DELAY_MS = 1;
const FLUSH_PARTS = 64;
/** The first size of a message's byte buffer (64 bodies of ~250 bytes fit; grown when not). */
const STAGING_BYTES = 16 * 1024;

/**
 * Body bytes on their way to the ingest thread, gathered and sent as one message
 * (src/shared/ingest-protocol.ts: IngestParts). A postMessage costs the primary ~5 µs
 * however small (structured clone, a port write, a wake-up): one per request was a quarter
 * of the primary's busy time at 256 connections (profiles/README.md). When to send:
 *
 *   thread idle (no group commit running) ─► at the end of this loop turn (setImmediate):
 *                                            nothing waits, latency is all that counts
 *   thread committing                     ─► within FLUSH_DELAY_MS, or at FLUSH_PARTS parts:
 *                                            the requests join the *next* group anyway, which
 *                                            starts when the running COMMIT returns, so a
 *                                            short wait costs them nothing, and one message
 *                                            carries dozens of requests
 *
 * The thread still receives the bytes during the running commit, and parses them then.
 */
export class IngestOutbox {
  /**
   * The next message's bytes, copied in as chunks arrive, and its parts (PART_FIELDS each):
   * both made when the message gets its first part and handed over (transferred) with it.
   * One buffer per message rather than a copy per chunk joined at the flush: at 256
   * connections a message carries dozens of ~200-byte bodies, and an ArrayBuffer per chunk
   * cost the primary more than the copy itself (profiles/README.md).
   */
  private staging: Uint8Array | null = null;
  private parts: Int32Array | null = null;
  private count = 0;
  private size = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (message: IngestParts, transfer: ArrayBuffer[]) => void,
    /** Whether the thread is inside a group commit now (a hint; read without a lock). */
    private readonly committing: () => boolean = () => false,
  ) {}

  /** Queues `bytes` (copied now: uWS reuses its chunk after the callback) as part of `reqId`. */
  add(reqId: number, bytes: ArrayBuffer | null, flags: number): void {
    const start = this.size;
    if (bytes !== null && bytes.byteLength > 0) {
      this.room(bytes.byteLength).set(new Uint8Array(bytes), start);
      this.size += bytes.byteLength;
    }
    if (this.parts === null) this.parts = new Int32Array(FLUSH_PARTS * PART_FIELDS);
    const parts = this.parts;
    const at = this.count;
    parts[at + PART_REQ_ID] = reqId;
    parts[at + PART_START] = start;
    parts[at + PART_END] = this.size;
    parts[at + PART_FLAGS] = flags;
    this.count = at + PART_FIELDS;
    if (this.count === parts.length) this.flush();
    else if (this.scheduled) return;
    else if (this.committing()) {
      this.scheduled = true;
      this.timer = setTimeout(() => this.flush(), FLUSH_DELAY_MS);
    } else {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** The staging buffer, with room for `n` more bytes (grown by copying when it has not). */
  private room(n: number): Uint8Array {
    const need = this.size + n;
    const old = this.staging;
    if (old !== null && need <= old.byteLength) return old;
    const grown = new Uint8Array(Math.max(need, old === null ? STAGING_BYTES : old.byteLength * 2));
    if (old !== null) grown.set(old.subarray(0, this.size));
    this.staging = grown;
    return grown;
  }

  /** Drops what is queued (the thread is gone; its requests are answered elsewhere). */
  clear(): void {
    this.staging = null;
    this.parts = null;
    this.count = 0;
    this.size = 0;
  }

  /** Sends what is queued now (also when the thread just finished a commit). */
  flush(): void {
    this.scheduled = false;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.count === 0 || this.parts === null) return;
    // Views of just what was written; the whole buffers are transferred (the thread reads
    // each part by its offsets, ingest-worker.ts onParts).
    const bytes = this.staging === null ? new Uint8Array(0) : this.staging.subarray(0, this.size);
    const parts = this.parts.subarray(0, this.count);
    const message: IngestParts = { type: 'parts', bytes, parts };
    this.clear();
    this.send(message, [bytes.buffer as ArrayBuffer, parts.buffer as ArrayBuffer]);
  }
}
