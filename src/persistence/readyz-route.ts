import type { TemplatedApp } from 'uWebSockets.js';
import { sendJson, track } from '../http/respond.js';

/**
 * GET /readyz: 200 only when every worker thread runs, the database answers and the writers
 * keep up; 503 with the reason otherwise (a load balancer stops routing here until it
 * recovers). A reason is a message (PB_ERR_NOT_READY), or an error object with its own code
 * and fields, e.g. {code: 'PB_ERR_THREAD_DOWN', message, threads: ['ingest']}.
 */
export type NotReadyReason = string | { code: string; message: string; [field: string]: unknown };

export function registerReadyzRoute(
  app: TemplatedApp,
  notReadyReason: () => NotReadyReason | null,
  /** Dependencies that do not decide readiness but are worth seeing (e.g. Alertmanager). */
  detail: () => Record<string, unknown> = () => ({}),
): void {
  app.get('/readyz', (res) => {
    const t = track(res);
    const reason = notReadyReason();
    const checks = detail();
    if (reason === null) sendJson(t, 200, JSON.stringify({ status: 'ready', checks }));
    else {
      const error =
        typeof reason === 'string' ? { code: 'PB_ERR_NOT_READY', message: reason } : reason;
      sendJson(t, 503, JSON.stringify({ status: 'not ready', error, checks }), {
        'retry-after': '1',
      });
    }
  });
}
