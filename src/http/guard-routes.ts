import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { PulseboardError } from '../errors.js';
import { isLoopbackHost } from '../security/exposure.js';
import type { TokenBuckets } from '../security/token-buckets.js';
import {
  type AccessControl,
  accessFor,
  bearerToken,
  isLoopbackPeer,
  PROBE_PATHS,
  refusalHeaders,
  remoteAddress,
} from './auth.js';
import { gatedApp } from './gated-app.js';
import { mediaType } from './media-type.js';
import { sendError, track } from './respond.js';

/**
 * The guard in front of every HTTP route (the access rules themselves are in auth.ts and
 * src/security/). Order matters: a refused Host or Origin never reaches the token check, and a
 * request is only rate-limited or type-checked once it is known to be allowed.
 */

/** The media types a state-changing route accepts (anything else is 415). */
const INGEST_TYPES: readonly string[] = [
  'application/json',
  'application/x-ndjson',
  'application/ndjson',
];
const ADMIN_TYPES: readonly string[] = ['application/json'];

/**
 * The app as route modules see it, with every handler they register wrapped: the wrapper
 * checks, in order, the Host (all but the probes), the Origin of a state-changing request,
 * the credential the route needs (accessFor), the client's ingest rate, and the content
 * type of a state-changing request; it answers 403/401/429/415 itself without calling the
 * route. Route modules stay unaware of all this; server.ts passes them this instead of the
 * bare app.
 *
 * `loopbackListener`: the server listens on a loopback address (the default HOST), so every
 * peer is on loopback and the ingest rate limit's loopback exemption needs no look at the
 * peer's address (uWS's getRemoteAddress costs ~2 µs per call: a tenth of the primary's time
 * per ingest request at 256 connections, profiles/README.md).
 */
export function guardRoutes(
  app: TemplatedApp,
  control: AccessControl,
  ingestLimiter?: TokenBuckets,
  limitLoopback = false,
  loopbackListener = false,
): TemplatedApp {
  function refuse(res: HttpResponse, err: PulseboardError): false {
    sendError(track(res), err, refusalHeaders(err));
    return false;
  }

  function admit(res: HttpResponse, req: HttpRequest): boolean {
    const path = req.getUrl();
    if (PROBE_PATHS.has(path)) return true;
    const host = req.getHeader('host');
    const badHost = control.checkHost(host);
    if (badHost) return refuse(res, badHost);
    const access = accessFor(req.getMethod(), path);
    if (access === 'open') return true;
    const changesState = access === 'ingest' || access === 'admin';
    if (
      changesState &&
      !control.policy.originAllowed(req.getHeader('origin'), host, req.getHeader('sec-fetch-site'))
    ) {
      control.counters.httpOriginRejected++;
      return refuse(
        res,
        new PulseboardError(
          'PB_ERR_AUTH_ORIGIN',
          'this Origin may not change state here (ALLOWED_ORIGINS)',
        ),
      );
    }
    let address = '';
    // Without a token to check, neither the peer's address nor the header is read.
    if (control.required(access)) {
      address = remoteAddress(res);
      const denied = control.check(
        access,
        bearerToken(req.getHeader('authorization')),
        // 'this route', not the path: error answers never echo the client's text.
        'this route',
        address,
      );
      if (denied) return refuse(res, denied);
    }
    if (access === 'ingest' && ingestLimiter?.enabled) {
      const exempt =
        !limitLoopback &&
        (loopbackListener || (address === '' ? isLoopbackPeer(res) : isLoopbackHost(address)));
      if (!exempt && address === '') address = remoteAddress(res);
      const waitS = exempt ? 0 : ingestLimiter.take(address);
      if (waitS > 0) {
        control.counters.rateLimited++;
        return refuse(
          res,
          new PulseboardError(
            'PB_ERR_RATE_LIMITED',
            `too many requests from this client (INGEST_RATE_LIMIT); retry after ${waitS} s`,
            { retryAfterS: waitS },
          ),
        );
      }
    }
    // A DELETE carries no body, and no HTML form can send one (only fetch, which a foreign
    // page cannot do without a CORS preflight we never answer): the Origin check above is its
    // CSRF defence, so it needs no content type.
    if (changesState && req.getMethod() !== 'delete') {
      const type = mediaType(req.getHeader('content-type'));
      const accepted = access === 'ingest' ? INGEST_TYPES : ADMIN_TYPES;
      if (!accepted.includes(type)) {
        return refuse(
          res,
          new PulseboardError(
            'PB_ERR_HTTP_CONTENT_TYPE',
            `this route takes content-type ${accepted.join(' or ')}` +
              (access === 'admin' ? ' (an empty body is fine)' : ''),
          ),
        );
      }
    }
    return true;
  }

  return gatedApp(app, admit);
}
