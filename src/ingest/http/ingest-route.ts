import type { TemplatedApp } from 'uWebSockets.js';
import { PulseboardError } from '../../errors.js';
import { mediaType } from '../../http/media-type.js';
import type { IngestService } from '../ingest-service.js';
import { backpressure, IngestRequest } from './ingest-request.js';
import type { IngestQueueBudget } from './queue-budget.js';

/**
 * POST /api/transactions, the HTTP door. The primary checks the token, the content type and
 * the content encoding, reserves the body's bytes in the queue budget (503 + Retry-After
 * before reading a byte when the bodies already taken in and not yet answered fill
 * INGEST_MAX_QUEUED_BYTES), and streams the body's chunks to the ingest thread as they
 * arrive (413 past the limit); it never parses, decompresses or validates them, so a 1 MB
 * body costs this loop a copy, not a JSON.parse. The thread parses NDJSON line by line as
 * chunks come, inflates gzip with a bounded output, and answers after the COMMIT
 * (workers/ingest/); only then are the bytes released.
 *
 * The answer is sent once the whole body has been read, even when the thread decided
 * earlier (a malformed first line, backpressure): the rest of the body is still read and
 * dropped, so the next request on a keep-alive connection starts where the parser expects
 * it.
 */

export interface IngestRouteOptions {
  bodyLimit: number;
  budget: IngestQueueBudget;
}

/** Whether the body is gzip; throws 415 for an encoding we do not decode. */
export function isGzip(contentEncoding: string): boolean {
  const e = contentEncoding.trim().toLowerCase();
  if (e === '' || e === 'identity') return false;
  if (e === 'gzip' || e === 'x-gzip') return true;
  throw new PulseboardError(
    'PB_ERR_HTTP_CONTENT_ENCODING',
    'this route takes content-encoding gzip or none (one encoding)',
  );
}

export function registerIngestRoute(
  app: TemplatedApp,
  ingest: () => IngestService | undefined,
  o: IngestRouteOptions,
): void {
  // Finished requests' objects, reused (ingest-request.ts says why).
  const pool: IngestRequest[] = [];
  const ctx = { bodyLimit: o.bodyLimit, budget: o.budget, pool };
  app.post('/api/transactions', (res, req) => {
    // Host, Origin, INGEST_TOKEN and the content type are checked before this handler runs
    // (src/http/guard-routes.ts).
    const type = mediaType(req.getHeader('content-type'));
    const lengthHeader = req.getHeader('content-length');
    // Without Content-Length the body is chunked: its size is known only as it arrives.
    const length = lengthHeader === '' ? -1 : Number(lengthHeader);
    const r = pool.pop() ?? new IngestRequest(ctx);
    const serving = r.start(res, length);
    let service: IngestService;
    let gzip: boolean;
    const ndjson = type === 'application/x-ndjson' || type === 'application/ndjson';
    try {
      if (!ndjson && type !== 'application/json') {
        throw new PulseboardError(
          'PB_ERR_HTTP_CONTENT_TYPE',
          'use content-type application/json or application/x-ndjson',
        );
      }
      gzip = isGzip(req.getHeader('content-encoding'));
      if (length > o.bodyLimit) {
        throw new PulseboardError(
          'PB_ERR_HTTP_BODY_TOO_LARGE',
          `request body exceeds ${o.bodyLimit} bytes (INGEST_BODY_LIMIT)`,
        );
      }
      const s = ingest();
      if (!s) {
        throw new PulseboardError(
          'PB_ERR_INGEST_OFF',
          'ingest needs the database, and persistence is off (see GET /readyz)',
        );
      }
      service = s;
      if (length >= 0 && !r.reserve(length)) throw backpressure(o.budget);
    } catch (err) {
      r.refuseEarly(err as PulseboardError);
      return;
    }
    res.onAborted(() => r.abortedFor(serving));
    r.open(service, ndjson, gzip);
    res.onData(r.onData);
  });
}
