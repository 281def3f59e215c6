import type { TemplatedApp } from 'uWebSockets.js';
import { PulseboardError } from '../errors.js';
import { readBody } from '../http/read-body.js';
import { sendError, sendJson, track } from '../http/respond.js';
import type { IngestService } from './ingest-service.js';

/**
 * POST /api/transactions. The primary checks the token and the content type, reads the body
 * (413 past the limit) and hands the bytes to the ingest thread; it never parses or
 * validates them, so a 1 MB body costs this loop a copy, not a JSON.parse. The reply comes
 * after the COMMIT (see workers/ingest/).
 */

export interface IngestRouteOptions {
  bodyLimit: number;
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
    const length = Number(req.getHeader('content-length') || '0');
    try {
      const ndjson = type === 'application/x-ndjson' || type === 'application/ndjson';
      if (!ndjson && type !== 'application/json') {
        throw new PulseboardError(
          'PB_ERR_HTTP_CONTENT_TYPE',
          'use content-type application/json or application/x-ndjson',
        );
      }
      if (length > o.bodyLimit) {
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
      const body = await readBody(t, o.bodyLimit);
      const answer = await service.submit(body, ndjson);
      sendJson(
        t,
        answer.status,
        answer.json,
        answer.retryAfterS ? { 'retry-after': String(answer.retryAfterS) } : {},
      );
    } catch (err) {
      const e = err as PulseboardError;
      const headers: Record<string, string> =
        e.code === 'PB_ERR_INGEST_OFF' ? { 'retry-after': '5' } : {};
      sendError(t, err, headers);
    }
  });
}
