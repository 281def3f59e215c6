import type { TemplatedApp } from 'uWebSockets.js';
import { PulseboardError } from '../errors.js';
import type { SnapshotService } from '../metrics/snapshot-service.js';
import { answerNow, sendError, sendJson, track } from './respond.js';

/** GET /api/metrics, GET /healthz, and JSON 404/405 for the rest of /api. */
export function registerApiRoutes(
  app: TemplatedApp,
  snapshots: SnapshotService,
  startedAt: number,
): void {
  // The snapshot is rebuilt every tick; serving the tick's JSON keeps this route O(1)
  // whatever the load (at most one tick old: `ts` says when it was taken). Its UTF-8 bytes
  // are encoded once per tick, not by uWS on every request, and the answer is written at
  // once, so the request needs no abort tracking.
  let json = '';
  let body = Buffer.alloc(0);
  app.get('/api/metrics', (res) => {
    if (snapshots.latestJson !== json) {
      json = snapshots.latestJson;
      body = Buffer.from(json);
    }
    sendJson(answerNow(res), 200, body);
  });

  app.get('/healthz', (res) => {
    sendJson(
      track(res),
      200,
      JSON.stringify({ status: 'ok', uptimeS: Math.round((Date.now() - startedAt) / 1000) }),
    );
  });

  // The method and path are the client's text: never echoed in the answer.
  app.any('/api/*', (res) => {
    sendError(
      track(res),
      new PulseboardError('PB_ERR_HTTP_NOT_FOUND', 'no API route for this method and path'),
    );
  });
}

/** Answers `405` for a known path with the wrong method. */
export function methodNotAllowed(app: TemplatedApp, path: string, allowed: string): void {
  app.any(path, (res) => {
    sendError(
      track(res),
      new PulseboardError('PB_ERR_HTTP_METHOD', `${path} takes ${allowed} only`),
      { allow: allowed },
    );
  });
}
