import type { HttpRequest, TemplatedApp } from 'uWebSockets.js';
import { gatedApp } from './gated-app.js';

/**
 * Conflicting message lengths (HTTP request smuggling). uWS frames a request by its *first*
 * Content-Length header. A request with two different ones is framed one way by uWS and
 * perhaps another way by a proxy in front that takes the last: the rest of the body then
 * runs as a second request the proxy never saw, on someone else's connection.
 *
 * What this uWS build (v20.30) allows, found with raw sockets:
 *  - JS sees every header (HttpRequest.forEach) before the body is read;
 *  - uWS itself closes a request with both Transfer-Encoding and Content-Length, and one
 *    whose Content-Length is not a number, before any handler;
 *  - an answer cannot be sent without the bytes already read being parsed on: `end(…, true)`
 *    still runs a second request that arrived in the same packet. Only `close()` stops the
 *    parser at once, and it discards the corked answer.
 * So a request whose length headers conflict is refused by closing the connection, before its
 * body is read and before any request behind it runs; the client (or proxy) sees the
 * connection end, without a 400. A proxy in front must refuse such requests with a 400 and
 * normalise the length it forwards (deploy/haproxy.cfg does; README, Security).
 *
 * Cost: two getHeader calls per request (~0.3 µs); the header walk (~1.5 µs for a typical
 * browser request) only for requests that carry a length. Hence the one gap: a first
 * Content-Length with an empty value reads like none (uWS takes it as 0) and is not walked;
 * the proxy refuses that one.
 */

/** Whether `req`'s Content-Length / Transfer-Encoding headers disagree. */
export function conflictingLength(req: HttpRequest): boolean {
  const length = req.getHeader('content-length');
  const encoding = req.getHeader('transfer-encoding');
  if (length === '' && encoding === '') return false;
  let lengths = 0;
  let encodings = 0;
  let conflict = false;
  req.forEach((key, value) => {
    if (key === 'content-length') {
      lengths++;
      // Repeats of the same value are harmless (RFC 9112 §6.3); any other value is not.
      if (value !== length) conflict = true;
    } else if (key === 'transfer-encoding') encodings++;
  });
  return conflict || encodings > 1 || (encodings > 0 && lengths > 0);
}

/**
 * The app with every HTTP route handler and WebSocket upgrade handler gated: a request with
 * conflicting length headers closes its connection (`onRefused` counts it) and never
 * reaches the route.
 */
export function guardFraming(app: TemplatedApp, onRefused: () => void): TemplatedApp {
  return gatedApp(
    app,
    (res, req) => {
      if (!conflictingLength(req)) return true;
      onRefused();
      res.close();
      return false;
    },
    { upgrades: true },
  );
}
