/**
 * Splits an NDJSON body into lines as its chunks arrive, so each line is parsed as soon as it
 * is complete and a body is never held whole. Only the unfinished tail of the last chunk is
 * kept. Lines end at LF (a CR before it is JSON whitespace, so CRLF bodies work); the split
 * is on the byte 0x0A, which never occurs inside a multi-byte UTF-8 sequence, so a character
 * cut across two chunks is decoded whole.
 *
 *   chunk 1: {"ref":"a",…}\n{"ref":"b","so      chunk 2: urce":…}\n\n{"ref":"c"…}
 *            └── line 1 ──┘ └─ tail kept ──┘ + └─ line 2 ─┘ └3┘ └─ line 4 (at end())
 *
 * `onLine` gets each line's text and its 1-based line number (blank lines count, so the
 * number is the one an editor shows); it returns false to stop (the rest is ignored).
 */
export class NdjsonLines {
  private tail: Buffer | null = null;
  private line = 0;
  private stopped = false;

  constructor(private readonly onLine: (text: string, line: number) => boolean) {}

  push(chunk: Buffer): void {
    if (this.stopped) return;
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      let text: string;
      if (this.tail === null) text = chunk.toString('utf8', start, nl);
      else {
        text = Buffer.concat([this.tail, chunk.subarray(start, nl)]).toString('utf8');
        this.tail = null;
      }
      start = nl + 1;
      if (!this.emit(text)) return;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      // Copied: the caller may reuse its buffer.
      this.tail = this.tail === null ? Buffer.from(rest) : Buffer.concat([this.tail, rest]);
    }
  }

  /** The body ended: its last line needs no newline. */
  end(): void {
    if (this.stopped || this.tail === null) return;
    const text = this.tail.toString('utf8');
    this.tail = null;
    this.emit(text);
  }

  private emit(text: string): boolean {
    this.line++;
    if (this.onLine(text, this.line)) return true;
    this.stopped = true;
    this.tail = null;
    return false;
  }
}
