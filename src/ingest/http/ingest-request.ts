import type { HttpResponse } from 'uWebSockets.js';
import { PulseboardError } from '../../errors.js';
import { retryAfterOf, writeJsonHead } from '../../http/respond.js';
import type { IngestService, IngestWaiter } from '../ingest-service.js';
import type { IngestQueueBudget } from './queue-budget.js';

/**
 * One POST /api/transactions between its headers and its answer, in an object that is
 * reused by the next request once this one is over (a free list per route).
 *
 * Why reused: the primary's young generation. A request lives ~10 ms (until its group's
 * COMMIT), far less than the ~150 ms between two scavenges at 256 connections, yet the
 * primary promoted ~2 MB per scavenge, nearly all of it per-request objects (the handler's
 * closures and context, the answer, the uWS response), and its scavenges took 5 ms
 * (profiles/README.md, "The primary's event-loop delay"). These objects (and the bound
 * callbacks given to uWS) are made once, live in the old generation, and a request now
 * allocates little beyond what uWS itself creates. Every reference to the request's uWS
 * objects is dropped when it ends, so nothing old keeps a finished request's young objects.
 *
 * Reuse is safe only once uWS will not call this request's callbacks again: after its last
 * body chunk (or its abort) *and* its answer (or abort). A request answered before its body
 * ended (413, 503) whose connection is then closed without an abort is simply not reused:
 * it is dropped, and collected as any object.
 */

const RETRY_AFTER_OFF = '5';
const BACKPRESSURE = '"PB_ERR_INGEST_BACKPRESSURE"';

export interface IngestRequestContext {
  bodyLimit: number;
  budget: IngestQueueBudget;
  /** Where a finished request goes to be reused. */
  pool: IngestRequest[];
}

export class IngestRequest implements IngestWaiter {
  private res: HttpResponse | null = null;
  private service: IngestService | null = null;
  private reqId = 0;
  /** Content-Length, or -1: chunked, the size is known as it arrives. */
  private length = -1;
  private reserved = 0;
  private size = 0;
  /** The response is written (or refused): nothing more is sent. */
  private finished = false;
  private aborted = false;
  private bodyRead = false;
  /** In the free list (a guard: an object is pooled once per request). */
  private pooled = false;
  /** The thread's answer, kept until the body has been read. */
  private status = 0;
  private json = '';
  private retryAfter = '';
  /** The answer being written (read by `writeCorked`). */
  private outStatus = 0;
  private outJson = '';
  private outRetryAfter = '';

  /** Which request this object serves now (start() counts): see abortedFor(). */
  private serving = 0;

  /** Given to uWS for every request this object serves: bound once. */
  readonly onData = (chunk: ArrayBuffer, isLast: boolean): void => this.data(chunk, isLast);
  private readonly writeCorked = (): void => this.write();

  constructor(private readonly ctx: IngestRequestContext) {}

  /**
   * Starts serving `res`; returns the number to give abortedFor() (the caller registers
   * onData and onAborted next).
   */
  start(res: HttpResponse, length: number): number {
    this.res = res;
    this.length = length;
    this.reserved = 0;
    this.size = 0;
    this.finished = false;
    this.aborted = false;
    this.bodyRead = false;
    this.pooled = false;
    this.status = 0;
    return ++this.serving;
  }

  /**
   * The client of request number `serving` went away. uWS does not call onAborted once a
   * response has ended, but an abort meant for an earlier request must never reach the one
   * this object serves now: the abort callback is a small closure per request, holding only
   * this object and the number (a diagnostic build that gave uWS closures per request this
   * way kept the scavenges as cheap, profiles/README.md).
   */
  abortedFor(serving: number): void {
    if (serving === this.serving) this.abort();
  }

  /** Reserves the Content-Length's bytes; false: refuse with backpressure. */
  reserve(length: number): boolean {
    if (!this.ctx.budget.tryReserve(length)) return false;
    this.reserved = length;
    return true;
  }

  /** Hands the body to `service`; its answer comes to answered(). */
  open(service: IngestService, ndjson: boolean, gzip: boolean): void {
    this.service = service;
    this.reqId = service.open(ndjson, gzip, this);
  }

  /** The thread's answer (after the COMMIT, or a refusal): sent once the body is read. */
  answered(status: number, json: string, retryAfterS: number): void {
    if (this.finished) return;
    this.status = status;
    this.json = json;
    this.retryAfter = retryAfterS > 0 ? String(retryAfterS) : '';
    if (this.bodyRead) this.answerNow();
  }

  /**
   * Refuses the request before its body is asked for (no callback of this object was given
   * to uWS), so it can be reused at once.
   */
  refuseEarly(err: PulseboardError): void {
    this.refuse(err);
    this.bodyRead = true;
    this.recycle();
  }

  /** Refuses the request with `err` (its JSON error), at once. */
  private refuse(err: PulseboardError): void {
    if (this.finished) return;
    // Backpressure is a 503: 1 s, as every 503 (respond.ts).
    const retryAfter = retryAfterOf(err, err.code === 'PB_ERR_INGEST_OFF' ? RETRY_AFTER_OFF : '');
    if (err.code === 'PB_ERR_INGEST_BACKPRESSURE') this.ctx.budget.backpressureAnswers++;
    this.send(err.status, JSON.stringify({ error: err.toJSON() }), retryAfter);
  }

  private data(chunk: ArrayBuffer, isLast: boolean): void {
    if (isLast) this.bodyRead = true;
    if (this.finished) {
      if (isLast) this.recycle();
      return;
    }
    this.size += chunk.byteLength;
    let refused: PulseboardError | null = null;
    if (this.size > this.ctx.bodyLimit) {
      refused = new PulseboardError(
        'PB_ERR_HTTP_BODY_TOO_LARGE',
        `request body exceeds ${this.ctx.bodyLimit} bytes (INGEST_BODY_LIMIT)`,
      );
    } else if (this.length < 0) {
      if (this.ctx.budget.tryReserve(chunk.byteLength)) this.reserved += chunk.byteLength;
      else refused = backpressure(this.ctx.budget);
    }
    if (refused !== null) {
      this.service?.abort(this.reqId);
      this.refuse(refused);
      if (isLast) this.recycle();
      return;
    }
    this.service!.part(this.reqId, chunk, isLast);
    if (isLast && this.status !== 0) this.answerNow();
  }

  private answerNow(): void {
    if (this.status === 503 && this.json.includes(BACKPRESSURE))
      this.ctx.budget.backpressureAnswers++;
    this.send(this.status, this.json, this.retryAfter);
    this.json = '';
    this.recycle();
  }

  private send(status: number, json: string, retryAfter: string): void {
    this.finished = true;
    this.ctx.budget.release(this.reserved);
    this.reserved = 0;
    this.outStatus = status;
    this.outJson = json;
    this.outRetryAfter = retryAfter;
    this.res!.cork(this.writeCorked);
    this.outJson = '';
  }

  /** The answer as respond.ts sendJson writes it, without a closure or header object. */
  private write(): void {
    const res = this.res!;
    writeJsonHead(res, this.outStatus);
    if (this.outRetryAfter !== '') res.writeHeader('retry-after', this.outRetryAfter);
    res.end(this.outJson);
  }

  private abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    if (!this.finished) {
      this.finished = true;
      this.service?.abort(this.reqId);
      this.ctx.budget.release(this.reserved);
      this.reserved = 0;
    }
    this.bodyRead = true;
    this.recycle();
  }

  /** Over (answered or aborted, and no more body to come): drop its references, reuse it. */
  private recycle(): void {
    if (!this.finished || !this.bodyRead || this.pooled) return;
    this.pooled = true;
    this.res = null;
    this.service = null;
    this.json = '';
    this.ctx.pool.push(this);
  }
}

export function backpressure(budget: IngestQueueBudget): PulseboardError {
  return new PulseboardError(
    'PB_ERR_INGEST_BACKPRESSURE',
    `${budget.maxBytes} bytes of ingest bodies are waiting for the database (INGEST_MAX_QUEUED_BYTES); retry later`,
  );
}
