import type { TemplatedApp } from 'uWebSockets.js';
import { sendJson, track } from '../http/respond.js';

/**
 * GET /readyz: 200 only when the database answers and the writers keep up; 503 with the
 * reason otherwise (a load balancer stops routing ingest here until it recovers).
 */
export function registerReadyzRoute(
  app: TemplatedApp,
  notReadyReason: () => string | null,
  /** Dependencies that do not decide readiness but are worth seeing (e.g. Alertmanager). */
  detail: () => Record<string, unknown> = () => ({}),
): void {
  app.get('/readyz', (res) => {
    const t = track(res);
    const reason = notReadyReason();
    const checks = detail();
    if (reason === null) sendJson(t, 200, JSON.stringify({ status: 'ready', checks }));
    else {
      sendJson(
        t,
        503,
        JSON.stringify({
          status: 'not ready',
          error: { code: 'PB_ERR_NOT_READY', message: reason },
          checks,
        }),
        {
          'retry-after': '1',
        },
      );
    }
  });
}
