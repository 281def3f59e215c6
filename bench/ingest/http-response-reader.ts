/**
 * Reads HTTP/1.1 responses from a byte stream, as little as a load client needs: the status
 * code, where the response ends (Content-Length, chunked, or — with neither — the close of
 * the connection, RFC 9112 §6.3) and whether the server will close the connection after it.
 * Bodies are skipped, never copied. Interim 1xx responses are skipped; 204 and 304 have no
 * body. Bytes arrive from a read buffer the socket reuses (net's `onread`), so a head cut
 * across two reads is the only thing ever copied, into `partial`.
 *
 *   head ──(CL > 0)──▶ body ───────────────────────────────▶ head
 *     │ ──(chunked)──▶ chunk-size ─(n > 0)▶ chunk-data ▶ crlf ┘ (back to chunk-size)
 *     │                     └─(0)──▶ trailer ─(empty line)─▶ head
 *     └──(neither)───▶ until-close ─(end())─▶ done
 */

export interface ResponseSink {
  /** A complete response: its status, and whether the connection closes after it. */
  response(status: number, close: boolean): void;
  /** Bytes that are not an HTTP/1.x response: the connection is unusable. */
  malformed(reason: string): void;
}

enum State {
  Head,
  Body,
  ChunkSize,
  ChunkData,
  ChunkCrlf,
  Trailer,
  UntilClose,
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** A head larger than this is not an answer from the servers we measure. */
const MAX_HEAD = 16 * 1024;
const LF = 0x0a;

export class ResponseReader {
  private state = State.Head;
  /** The start of a head or of a chunk-size/trailer line cut by the end of a read. */
  private partial: Buffer | null = null;
  /** Body or chunk bytes still to skip. */
  private remaining = 0;
  private status = 0;
  private close = false;

  constructor(private readonly sink: ResponseSink) {}

  /** Bytes `start`..`end` of `b`, which the caller may overwrite once this returns. */
  push(b: Buffer, start: number, end: number): void {
    if (this.partial !== null) {
      b = Buffer.concat([this.partial, b.subarray(start, end)]);
      start = 0;
      end = b.length;
      this.partial = null;
    }
    let at = start;
    while (at < end) {
      switch (this.state) {
        case State.Head:
          at = this.head(b, at, end);
          break;
        case State.Body: {
          const n = Math.min(this.remaining, end - at);
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.done();
          break;
        }
        case State.ChunkSize:
          at = this.chunkSize(b, at, end);
          break;
        case State.ChunkData: {
          const n = Math.min(this.remaining, end - at);
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = State.ChunkCrlf;
            this.remaining = 2;
          }
          break;
        }
        case State.ChunkCrlf: {
          const n = Math.min(this.remaining, end - at);
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
        case State.Trailer:
          at = this.trailer(b, at, end);
          break;
        case State.UntilClose:
          at = end;
          break;
      }
      if (at < 0) return; // malformed: the sink has been told
    }
  }

  /** The connection closed: a response read until the close is complete now. */
  end(): void {
    if (this.state === State.UntilClose) {
      this.state = State.Head;
      this.sink.response(this.status, true);
    }
  }

  /** Whether a response has begun and not ended (the close would cut it). */
  get midResponse(): boolean {
    return this.state !== State.Head || this.partial !== null;
  }

  private keep(b: Buffer, at: number, end: number): number {
    this.partial = Buffer.from(b.subarray(at, end));
    return end;
  }

  private head(b: Buffer, at: number, end: number): number {
    const stop = b.indexOf(HEAD_END, at);
    if (stop === -1 || stop + 4 > end) {
      if (end - at > MAX_HEAD) return this.bad('response head over 16 KiB');
      return this.keep(b, at, end);
    }
    // Header names are case-insensitive; the head is ~150 bytes, one string is cheap.
    const head = b.toString('latin1', at, stop).toLowerCase();
    const status = Number(head.slice(9, 12)); // "http/1.1 200 …"
    if (!head.startsWith('http/1.') || head.charCodeAt(8) !== 0x20 || !(status >= 100))
      return this.bad('not an HTTP/1.x status line');
    const next = stop + 4;
    if (status < 200) return next; // 100 Continue, 103 Early Hints: the real answer follows
    this.status = status;
    const connection = header(head, 'connection');
    // HTTP/1.0 closes unless told to keep alive; 1.1 keeps alive unless told to close.
    this.close =
      head.charCodeAt(7) === 0x30
        ? connection === null || !connection.includes('keep-alive')
        : connection?.includes('close') === true;
    if (status === 204 || status === 304) {
      this.done();
      return next;
    }
    const te = header(head, 'transfer-encoding');
    if (te?.includes('chunked')) {
      this.state = State.ChunkSize;
      return next;
    }
    const cl = header(head, 'content-length');
    if (cl !== null) {
      const n = Number(cl);
      if (!Number.isSafeInteger(n) || n < 0) return this.bad(`bad content-length ${cl}`);
      if (n === 0) this.done();
      else {
        this.remaining = n;
        this.state = State.Body;
      }
      return next;
    }
    this.state = State.UntilClose;
    this.close = true;
    return next;
  }

  private chunkSize(b: Buffer, at: number, end: number): number {
    const lf = b.indexOf(LF, at);
    if (lf === -1 || lf >= end) return this.keep(b, at, end);
    const line = b.toString('latin1', at, lf);
    const size = Number.parseInt(line, 16); // stops at ';' (extensions) and '\r'
    if (!Number.isSafeInteger(size) || size < 0) return this.bad(`bad chunk size ${line}`);
    if (size === 0) this.state = State.Trailer;
    else {
      this.remaining = size;
      this.state = State.ChunkData;
    }
    return lf + 1;
  }

  private trailer(b: Buffer, at: number, end: number): number {
    const lf = b.indexOf(LF, at);
    if (lf === -1 || lf >= end) return this.keep(b, at, end);
    // An empty line (CRLF) ends the trailer section; any other line is a trailer field.
    if (lf - at <= 1) this.done();
    return lf + 1;
  }

  private done(): void {
    this.state = State.Head;
    this.sink.response(this.status, this.close);
  }

  private bad(reason: string): number {
    this.state = State.Head;
    this.partial = null;
    this.sink.malformed(reason);
    return -1;
  }
}

/** The value of header `name` (lower case) in a lower-cased head, or null. */
function header(head: string, name: string): string | null {
  const i = head.indexOf(`\r\n${name}:`);
  if (i === -1) return null;
  const from = i + name.length + 3;
  const eol = head.indexOf('\r\n', from);
  return head.slice(from, eol === -1 ? head.length : eol).trim();
}
