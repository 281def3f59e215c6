import type { Options } from '../../config/option-specs.js';

/**
 * The bytes of ingest bodies the primary has taken in and not yet answered: bodies being
 * read, bodies handed to the ingest thread and waiting there for their COMMIT. Bounded by
 * INGEST_MAX_QUEUED_BYTES, and checked before a body is read, so a slow database turns
 * into 503 + Retry-After at the door instead of memory growing with every request (the
 * ingest thread's own INGEST_MAX_QUEUED bound counts items, and only after parsing).
 *
 *   request ─► Content-Length known: reserve it all, or 503 before reading a byte
 *          └─► chunked: reserve each chunk as it arrives, 503 at the first that does not fit
 *   answer sent (or client gone while reading) ─► release
 */

/** INGEST_MAX_QUEUED_BYTES=auto: this many bodies at INGEST_BODY_LIMIT. */
export const AUTO_BODIES = 16;

export function ingestQueueBytes(
  o: Pick<Options, 'ingestMaxQueuedBytes' | 'ingestBodyLimit'>,
): number {
  return o.ingestMaxQueuedBytes === 'auto'
    ? AUTO_BODIES * o.ingestBodyLimit
    : o.ingestMaxQueuedBytes;
}

export class IngestQueueBudget {
  private used = 0;
  /** Requests answered 503 for backpressure (this budget, or the thread's item bound). */
  backpressureAnswers = 0;

  constructor(readonly maxBytes: number) {}

  /**
   * Takes `bytes` from the budget; false (and nothing taken) when they do not fit, or when
   * the budget is spent (then even an empty body waits its turn).
   */
  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.maxBytes || this.used >= this.maxBytes) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }

  get usedBytes(): number {
    return this.used;
  }
}
