import type { TemplatedApp } from 'uWebSockets.js';
import { PulseboardError } from '../../errors.js';
import { readBody } from '../../http/read-body.js';
import { sendError, sendJson, track } from '../../http/respond.js';
import type { IngestService } from '../ingest-service.js';
import type { IngestQueueBudget } from './queue-budget.js';

/**
 * POST /api/transactions. The primary checks the token and the content type, reserves the
 * body's bytes in the queue budget (503 + Retry-After before reading a byte when the
 * bodies already taken in and not yet answered fill INGEST_MAX_QUEUED_BYTES), reads the
 * body (413 past the limit) and hands the bytes to the ingest thread; it never parses or
 * validates them, so a 1 MB body costs this loop a copy, not a JSON.parse. The reply comes
 * after the COMMIT (see workers/ingest/), and only then are the bytes released.
 */

export interface IngestRouteOptions {
  bodyLimit: number;
  budget: IngestQueueBudget;
}

const RETRY_AFTER_S = '1';

function backpressure(budget: IngestQueueBudget): PulseboardError {
  return new PulseboardError(
    'PB_ERR_INGEST_BACKPRESSURE',
    `${budget.maxBytes} bytes of ingest bodies are waiting for the database (INGEST_MAX_QUEUED_BYTES); retry later`,
  );
}

export function registerIngestRoute(
  app: TemplatedApp,
  ingest: () => IngestService | undefined,
  o: IngestRouteOptions,
): void {
  app.post('/api/transactions', async (res, req) => {
    const t = track(res);
    // Headers must be read before the first await: uWS reuses the request object.
    // Host, Origin, INGEST_TOKEN and the content type are checked before this handler runs
    // (src/http/guard-routes.ts).
    const type = req.getHeader('content-type').split(';')[0]!.trim().toLowerCase();
    const lengthHeader = req.getHeader('content-length');
    // Without Content-Length the body is chunked: its size is known only as it arrives.
    const length = lengthHeader === '' ? undefined : Number(lengthHeader);
    let reserved = 0;
    try {
      const ndjson = type === 'application/x-ndjson' || type === 'application/ndjson';
      if (!ndjson && type !== 'application/json') {
        throw new PulseboardError(
          'PB_ERR_HTTP_CONTENT_TYPE',
          'use content-type application/json or application/x-ndjson',
        );
      }
      if (length !== undefined && length > o.bodyLimit) {
        throw new PulseboardError(
          'PB_ERR_HTTP_BODY_TOO_LARGE',
          `request body exceeds ${o.bodyLimit} bytes (INGEST_BODY_LIMIT)`,
        );
      }
      const service = ingest();
      if (!service) {
        throw new PulseboardError(
          'PB_ERR_INGEST_OFF',
          'ingest needs the database, and persistence is off (see GET /readyz)',
        );
      }
      if (length !== undefined) {
        if (!o.budget.tryReserve(length)) throw backpressure(o.budget);
        reserved = length;
      }
      const body = await readBody(
        t,
        o.bodyLimit,
        length !== undefined
          ? undefined
          : (bytes) => {
              if (!o.budget.tryReserve(bytes)) return backpressure(o.budget);
              reserved += bytes;
              return null;
            },
      );
      const answer = await service.submit(body, ndjson);
      if (answer.status === 503 && answer.json.includes('"PB_ERR_INGEST_BACKPRESSURE"'))
        o.budget.backpressureAnswers++;
      sendJson(
        t,
        answer.status,
        answer.json,
        answer.retryAfterS ? { 'retry-after': String(answer.retryAfterS) } : {},
      );
    } catch (err) {
      const e = err as PulseboardError;
      if (e.code === 'PB_ERR_INGEST_BACKPRESSURE') o.budget.backpressureAnswers++;
      const headers: Record<string, string> =
        e.code === 'PB_ERR_INGEST_OFF' || e.code === 'PB_ERR_INGEST_BACKPRESSURE'
          ? { 'retry-after': e.code === 'PB_ERR_INGEST_OFF' ? '5' : RETRY_AFTER_S }
          : {};
      sendError(t, err, headers);
    } finally {
      o.budget.release(reserved);
    }
  });
}
