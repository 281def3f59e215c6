import type { TemplatedApp } from 'uWebSockets.js';
import type { Options } from '../config/option-specs.js';
import { sendJson, track } from '../http/respond.js';

/**
 * GET /api/ws-endpoint: where the dashboard opens its WebSocket, since with WS_THREADS > 1
 * /ws is served on WS_PORT by the fan-out threads rather than on the page's own port.
 *
 *   {"url": null, "port": null}     the page's own origin, /ws          (WS_THREADS=1)
 *   {"url": null, "port": 8081}     the page's host name on that port    (WS_THREADS > 1)
 *   {"url": "/ws", "port": null}    WS_PUBLIC_URL: a path on the page's origin (behind a
 *                                   proxy routing /ws to WS_PORT) or a ws(s):// URL
 */

export interface WsEndpoint {
  url: string | null;
  port: number | null;
}

export function wsEndpoint(options: Pick<Options, 'wsPublicUrl'>, wsPort: number | null) {
  const body: WsEndpoint =
    options.wsPublicUrl !== ''
      ? { url: options.wsPublicUrl, port: null }
      : { url: null, port: wsPort };
  return body;
}

export function registerWsEndpointRoute(
  app: TemplatedApp,
  options: Pick<Options, 'wsPublicUrl'>,
  wsPort: number | null,
): void {
  const json = JSON.stringify(wsEndpoint(options, wsPort));
  app.get('/api/ws-endpoint', (res) => {
    sendJson(track(res), 200, json);
  });
}
