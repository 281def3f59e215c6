import { createGunzip, type Gunzip } from 'node:zlib';
import { jsonSyntaxWhere, PulseboardError } from '../../errors.js';
import type { RawItem } from '../validate-batch.js';
import type { Rejection } from '../validate-item.js';
import { NdjsonLines } from './ndjson-lines.js';

/**
 * One POST /api/transactions body as the ingest thread receives it, chunk by chunk
 * (src/shared/ingest-protocol.ts: IngestParts), decoded into raw items:
 *
 *   chunks ─► [gunzip, when Content-Encoding: gzip] ─► NDJSON: one JSON.parse per line, as
 *                                                      lines complete
 *                                                    └► JSON: kept, one JSON.parse at the end
 *
 * Bounds: the decoded body may not exceed `maxBytes` (INGEST_BODY_LIMIT) — a gzip bomb is
 * cut off (413) as soon as its output passes the limit, after at most one zlib chunk (16 KiB)
 * more; and at most `maxItems` items. Anything wrong refuses the whole body: a line that is
 * not JSON is a broken stream (400 naming the line), not one bad item, and nothing of the
 * body is stored. Items that parse but do not validate are judged one by one later
 * (validate-batch.ts), as for a JSON array.
 */

export interface BodyLimits {
  maxBytes: number;
  maxItems: number;
  /**
   * Bytes inflated by every gzip body still being received, together (shared by all
   * RequestBody objects of the thread), and their bound. The primary's byte budget counts
   * what arrives, compressed; without this, many small bombs received at once would each
   * inflate to maxBytes. Past it, a body is refused with 503 + Retry-After.
   */
  inflated: { bytes: number; max: number };
}

export type BodyResult =
  | { ok: true; raws: RawItem[] }
  | { ok: false; error: PulseboardError; rejected?: Rejection[] };

export class RequestBody {
  private readonly raws: RawItem[] = [];
  private readonly lines: NdjsonLines | null;
  private chunks: Buffer[] = [];
  private size = 0;
  /** This body's share of limits.inflated (gzip only), given back when it ends. */
  private inflatedHeld = 0;
  private gunzip: Gunzip | null = null;
  private failure: Extract<BodyResult, { ok: false }> | null = null;
  private ended = false;
  private done = false;

  constructor(
    ndjson: boolean,
    gzip: boolean,
    private readonly limits: BodyLimits,
    private readonly onDone: (r: BodyResult) => void,
  ) {
    this.lines = ndjson ? new NdjsonLines((text, line) => this.line(text, line)) : null;
    if (gzip) {
      const z = createGunzip();
      z.on('data', (c: Buffer) => this.decoded(c));
      z.on('end', () => this.finish());
      z.on('error', () => {
        this.fail(
          new PulseboardError(
            'PB_ERR_HTTP_BAD_GZIP',
            'request body is not valid gzip (corrupt or truncated); nothing was stored',
          ),
        );
      });
      this.gunzip = z;
    }
  }

  /** The next chunk of the body as sent. */
  push(chunk: Buffer): void {
    if (this.failure !== null || this.done) return;
    if (this.gunzip !== null) this.gunzip.write(chunk);
    else this.decoded(chunk);
  }

  /** The body is complete: onDone follows (at once, or when gunzip has finished). */
  end(): void {
    this.ended = true;
    if (this.gunzip !== null && this.failure === null) this.gunzip.end();
    else this.finish();
  }

  /** The request is gone: stop, and never call onDone. */
  abort(): void {
    this.done = true;
    this.gunzip?.destroy();
    this.gunzip = null;
    this.releaseInflated();
  }

  private releaseInflated(): void {
    this.limits.inflated.bytes -= this.inflatedHeld;
    this.inflatedHeld = 0;
  }

  private decoded(c: Buffer): void {
    if (this.failure !== null) return;
    this.size += c.byteLength;
    if (this.size > this.limits.maxBytes) {
      this.fail(tooLarge(this.limits.maxBytes));
      return;
    }
    if (this.gunzip !== null) {
      const inflated = this.limits.inflated;
      if (inflated.bytes + c.byteLength > inflated.max) {
        this.fail(
          new PulseboardError(
            'PB_ERR_INGEST_BACKPRESSURE',
            `${inflated.max} bytes of gzip bodies are being inflated (INGEST_MAX_QUEUED_BYTES); retry later`,
          ),
        );
        return;
      }
      inflated.bytes += c.byteLength;
      this.inflatedHeld += c.byteLength;
    }
    if (this.lines !== null) this.lines.push(c);
    else this.chunks.push(c);
  }

  private line(text: string, line: number): boolean {
    if (text.trim() === '') return true;
    const index = this.raws.length;
    if (index >= this.limits.maxItems) {
      this.fail(tooMany(this.limits.maxItems));
      return false;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const reason = `line ${line} is not valid JSON${jsonSyntaxWhere(err)}`;
      this.fail(
        new PulseboardError('PB_ERR_INGEST_INVALID', `${reason}; nothing in this body was stored`, {
          line,
        }),
        [{ index, field: null, reason }],
      );
      return false;
    }
    this.raws.push({ index, value });
    return true;
  }

  private fail(error: PulseboardError, rejected?: Rejection[]): void {
    if (this.failure !== null) return;
    this.failure = rejected ? { ok: false, error, rejected } : { ok: false, error };
    this.chunks = [];
    const z = this.gunzip;
    this.gunzip = null;
    // A destroyed gunzip emits neither 'end' nor 'error': if the body has ended, answer now.
    z?.destroy();
    if (this.ended) this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.releaseInflated();
    // The last line may still fail (fail() then sees `done` and does not finish again).
    if (this.failure === null) this.lines?.end();
    this.onDone(this.failure ?? this.parsed());
  }

  private parsed(): BodyResult {
    if (this.lines !== null) {
      return this.raws.length === 0
        ? { ok: false, error: new PulseboardError('PB_ERR_INGEST_EMPTY', 'request body is empty') }
        : { ok: true, raws: this.raws };
    }
    const text =
      this.chunks.length === 1
        ? this.chunks[0]!.toString('utf8')
        : Buffer.concat(this.chunks, this.size).toString('utf8');
    this.chunks = [];
    return jsonBody(text, this.limits.maxItems);
  }
}

/**
 * A JSON (not NDJSON, not gzip) body that is already whole, such as a stream message's
 * payload: the same checks and answers as a RequestBody given it in one chunk, without
 * the object and its chunk list.
 */
export function wholeJsonBody(bytes: Buffer, limits: BodyLimits): BodyResult {
  if (bytes.byteLength > limits.maxBytes) return { ok: false, error: tooLarge(limits.maxBytes) };
  return jsonBody(bytes.toString('utf8'), limits.maxItems);
}

function jsonBody(text: string, maxItems: number): BodyResult {
  if (text.trim() === '')
    return {
      ok: false,
      error: new PulseboardError('PB_ERR_INGEST_EMPTY', 'request body is empty'),
    };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      error: new PulseboardError(
        'PB_ERR_HTTP_BAD_JSON',
        `request body is not valid JSON${jsonSyntaxWhere(err)}`,
      ),
    };
  }
  if (!Array.isArray(value)) return { ok: true, raws: [{ index: 0, value }] };
  if (value.length === 0)
    return {
      ok: false,
      error: new PulseboardError('PB_ERR_INGEST_EMPTY', 'request body is an empty array'),
    };
  if (value.length > maxItems) return { ok: false, error: tooMany(maxItems) };
  return { ok: true, raws: value.map((v, index) => ({ index, value: v })) };
}

function tooLarge(max: number): PulseboardError {
  return new PulseboardError(
    'PB_ERR_HTTP_BODY_TOO_LARGE',
    `request body exceeds ${max} bytes once decompressed (INGEST_BODY_LIMIT)`,
  );
}

function tooMany(max: number): PulseboardError {
  return new PulseboardError(
    'PB_ERR_INGEST_TOO_MANY',
    `at most ${max} transactions per request (INGEST_MAX_ITEMS)`,
  );
}
