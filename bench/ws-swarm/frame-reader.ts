/**
 * Reads server→client WebSocket frames from a byte stream without parsing JSON: the swarm
 * must not be the bottleneck, so per message it only finds `"topic":"…"`, `"seq":N` and
 * `"ts":N` at the start of the envelope (the server writes them first, in that order).
 * Server frames are never masked (RFC 6455 §5.1). Fragmented messages are not used by uWS
 * for publish and are not handled. Socket.IO frames (`42["m",{"topic":…}]`) carry the same
 * envelope, so the same search finds it.
 */

export interface FrameSink {
  message(topic: string, seq: number, ts: number, bytes: number): void;
  close(): void;
  /** Short text frames that are not envelopes (Engine.IO open/ping packets). */
  control?(text: string): void;
  /** Server pings (opcode 0x9) with their payload; a long-lived client must answer pong. */
  ping?(payload: Buffer): void;
}

export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let off = 0;
    const b = this.buf;
    while (b.length - off >= 2) {
      const opcode = b[off]! & 0x0f;
      let len = b[off + 1]! & 0x7f;
      let head = 2;
      if (len === 126) {
        if (b.length - off < 4) break;
        len = b.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (b.length - off < 10) break;
        len = Number(b.readBigUInt64BE(off + 2));
        head = 10;
      }
      if (b.length - off < head + len) break;
      const start = off + head;
      if (opcode === 0x1) this.text(b, start, len);
      else if (opcode === 0x8) this.sink.close();
      else if (opcode === 0x9) this.sink.ping?.(Buffer.from(b.subarray(start, start + len)));
      off = start + len;
    }
    this.buf = off === b.length ? Buffer.alloc(0) : b.subarray(off);
  }

  private text(b: Buffer, start: number, len: number): void {
    // {"topic":"metrics","seq":12,"ts":1700000000000,"data":…
    const head = b.toString('latin1', start, start + Math.min(len, 120));
    const t0 = head.indexOf('"topic":"') + 9;
    const t1 = head.indexOf('"', t0);
    const s0 = head.indexOf('"seq":', t1) + 6;
    const s1 = head.indexOf(',', s0);
    const ts0 = head.indexOf('"ts":', s1) + 5;
    const ts1 = head.indexOf(',', ts0);
    if (t0 < 9 || s0 < 6 || ts0 < 5) {
      this.sink.control?.(head);
      return;
    }
    this.sink.message(
      head.slice(t0, t1),
      Number(head.slice(s0, s1)),
      Number(head.slice(ts0, ts1)),
      len,
    );
  }
}
