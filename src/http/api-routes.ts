import type { TemplatedApp } from 'uWebSockets.js';
import { PulseboardError } from '../errors.js';
import type { SnapshotService } from '../metrics/snapshot-service.js';
import { sendError, sendJson, track } from './respond.js';

/** GET /api/metrics, GET /healthz, and JSON 404/405 for the rest of /api. */
export function registerApiRoutes(
  app: TemplatedApp,
  snapshots: SnapshotService,
  startedAt: number,
): void {
  // The snapshot is rebuilt every tick; serving the tick's JSON string keeps this route
  // O(1) whatever the load (at most one tick old: `ts` says when it was taken).
  app.get('/api/metrics', (res) => {
    sendJson(track(res), 200, snapshots.latestJson);
  });

  app.get('/healthz', (res) => {
    sendJson(
      track(res),
      200,
      JSON.stringify({ status: 'ok', uptimeS: Math.round((Date.now() - startedAt) / 1000) }),
    );
  });

  app.any('/api/*', (res, req) => {
    const method = req.getMethod().toUpperCase();
    const url = req.getUrl();
    sendError(
      track(res),
      new PulseboardError('PB_ERR_HTTP_NOT_FOUND', `no route for ${method} ${url}`),
    );
  });
}

/** Answers `405` for a known path with the wrong method. */
export function methodNotAllowed(app: TemplatedApp, path: string, allowed: string): void {
  app.any(path, (res, req) => {
    sendError(
      track(res),
      new PulseboardError(
        'PB_ERR_HTTP_METHOD',
        `${req.getMethod().toUpperCase()} is not allowed on ${path}; use ${allowed}`,
      ),
      { allow: allowed },
    );
  });
}
