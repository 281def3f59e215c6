import { type IngestParts, PART_FIELDS } from '../shared/ingest-protocol.js';

/** Longest a part waits while the thread commits: well under one commit (~2–5 ms). */
const FLUSH_DELAY_MS = 1;
const FLUSH_PARTS = 64;

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
  private chunks: Uint8Array[] = [];
  private parts: number[] = [];
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
      this.chunks.push(new Uint8Array(bytes.slice(0)));
      this.size += bytes.byteLength;
    }
    this.parts.push(reqId, start, this.size, flags);
    if (this.parts.length >= FLUSH_PARTS * PART_FIELDS) this.flush();
    else if (this.scheduled) return;
    else if (this.committing()) {
      this.scheduled = true;
      this.timer = setTimeout(() => this.flush(), FLUSH_DELAY_MS);
    } else {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Drops what is queued (the thread is gone; its requests are answered elsewhere). */
  clear(): void {
    this.chunks = [];
    this.parts = [];
    this.size = 0;
  }

  /** Sends what is queued now (also when the thread just finished a commit). */
  flush(): void {
    this.scheduled = false;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.parts.length === 0) return;
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : new Uint8Array(this.size);
    if (this.chunks.length > 1) {
      let at = 0;
      for (const c of this.chunks) {
        bytes.set(c, at);
        at += c.byteLength;
      }
    }
    const parts = new Int32Array(this.parts);
    const message: IngestParts = { type: 'parts', bytes, parts };
    this.clear();
    this.send(message, [bytes.buffer as ArrayBuffer, parts.buffer]);
  }
}
