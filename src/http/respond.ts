import type { HttpResponse } from 'uWebSockets.js';
import { PulseboardError } from '../errors.js';

/**
 * Writing responses safely with uWS: a response may be aborted (client gone) at any time
 * while we await something, and writing to an aborted response throws. So every handler
 * that awaits calls `track(res)` first; `sendJson` checks the flag and writes the whole
 * response inside one `res.cork` (one syscall).
 */

export interface Tracked {
  readonly res: HttpResponse;
  aborted: boolean;
  done: boolean;
  /** Called once if the client goes away (e.g. readBody rejects, so its caller cleans up). */
  onAbort?: () => void;
}

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

export function statusLine(status: number): string {
  return STATUS_TEXT[status] ?? `${status} Status`;
}

export function track(res: HttpResponse): Tracked {
  const t: Tracked = { res, aborted: false, done: false };
  res.onAborted(() => {
    t.aborted = true;
    t.onAbort?.();
  });
  return t;
}

/**
 * For a handler that answers before it returns: uWS only needs `onAborted` for answers
 * written later, and registering one costs a native call and a closure per request.
 */
export function answerNow(res: HttpResponse): Tracked {
  return { res, aborted: false, done: false };
}

/**
 * The status line and the headers of every JSON answer; the caller adds its own headers and
 * ends the response (inside a cork). http/ingest-request.ts writes its answers with it too.
 */
export function writeJsonHead(res: HttpResponse, status: number): void {
  res.writeStatus(statusLine(status));
  res.writeHeader('content-type', 'application/json; charset=utf-8');
  res.writeHeader('cache-control', 'no-store');
  // Browsers must not sniff an answer into HTML or script, whatever text it carries.
  res.writeHeader('x-content-type-options', 'nosniff');
}

export function sendJson(
  t: Tracked,
  status: number,
  json: string | Uint8Array,
  headers: Record<string, string> = {},
): void {
  if (t.aborted || t.done) return;
  t.done = true;
  t.res.cork(() => {
    writeJsonHead(t.res, status);
    for (const [k, v] of Object.entries(headers)) t.res.writeHeader(k, v);
    t.res.end(json);
  });
}

/**
 * The Retry-After of an error answer: `chosen` if the route chose one, else 1 s for every
 * 503 (a thread restarting, the database away: each says when to come back), else none ('').
 */
export function retryAfterOf(err: PulseboardError, chosen = ''): string {
  return chosen !== '' ? chosen : err.status === 503 ? '1' : '';
}

export function sendError(t: Tracked, err: unknown, headers: Record<string, string> = {}): void {
  if (err instanceof PulseboardError) {
    const retryAfter = retryAfterOf(err, headers['retry-after']);
    const h = retryAfter === '' ? headers : { ...headers, 'retry-after': retryAfter };
    sendJson(t, err.status, JSON.stringify({ error: err.toJSON() }), h);
    return;
  }
  sendJson(
    t,
    500,
    JSON.stringify({ error: { code: 'PB_ERR_INTERNAL', message: 'internal error' } }),
    headers,
  );
}
