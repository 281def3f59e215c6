import type { HttpRequest, HttpResponse, RecognizedString, TemplatedApp } from 'uWebSockets.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Options } from '../config/option-specs.js';
import { PulseboardError } from '../errors.js';
import { isLoopbackHost } from '../security/exposure.js';
import type { RateLimiter } from './rate-limit.js';
import { sendError, track } from './respond.js';

/**
 * Access control for HTTP routes and the WebSocket upgrade.
 *
 *   route                                         needs (when that token is set)
 *   GET /healthz, GET /readyz                     nothing (probes stay open)
 *   POST /api/transactions                        INGEST_TOKEN (+ per-client rate limit)
 *   POST /api/load-test, /api/load-test/stop,     ADMIN_TOKEN
 *        /api/reset; POST/PUT/DELETE /api/rules…
 *   every other /api/* and GET /metrics           READ_TOKEN (ADMIN_TOKEN also accepted)
 *   GET /ws (upgrade)                             READ_TOKEN via ?token= or the header, and
 *                                                 an allowed Origin
 *   the dashboard's static files                  nothing (code only; its data needs READ_TOKEN)
 *
 * Tokens are compared as SHA-256 digests with timingSafeEqual: equal lengths always, so
 * neither the content nor the length of a token leaks through timing. A token is never
 * logged or echoed; a missing credential is 401, a wrong one 403.
 */

export type Access = 'open' | 'read' | 'ingest' | 'admin';

const ADMIN_PATHS = new Set(['/api/load-test', '/api/load-test/stop', '/api/reset']);
const OPEN_PATHS = new Set(['/healthz', '/readyz']);

/** Which credential a request needs, from its method (any case) and path (no query). */
export function accessFor(method: string, path: string): Access {
  if (OPEN_PATHS.has(path)) return 'open';
  const m = method.toLowerCase();
  if (m === 'post' && path === '/api/transactions') return 'ingest';
  if (m === 'post' && ADMIN_PATHS.has(path)) return 'admin';
  // Alert rules: reading them is like any read; changing them is the admin's.
  if (m !== 'get' && m !== 'head' && (path === '/api/rules' || path.startsWith('/api/rules/')))
    return 'admin';
  return 'read';
}

/** Rejections, for the snapshot's pipeline section and /metrics. */
export interface SecurityCounters {
  /** HTTP requests and upgrades refused for a missing or wrong token (401/403). */
  authRejected: number;
  /** WebSocket upgrades refused for their Origin. */
  originRejected: number;
  /** Ingest requests answered 429. */
  rateLimited: number;
  /** WebSocket upgrades refused because WS_MAX_CONNECTIONS were open. */
  connectionsRefused: number;
  /** WebSocket clients dropped for passing WS_MAX_BACKPRESSURE (slow consumers). */
  slowConsumersDropped: number;
}

export function newSecurityCounters(): SecurityCounters {
  return {
    authRejected: 0,
    originRejected: 0,
    rateLimited: 0,
    connectionsRefused: 0,
    slowConsumersDropped: 0,
  };
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The credential in `Authorization: Bearer <token>` (scheme case-insensitive), or ''. */
export function bearerToken(header: string): string {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : '';
}

export class AccessControl {
  private readonly ingest: Buffer | null;
  private readonly admin: Buffer | null;
  private readonly read: Buffer | null;
  private readonly origins: readonly string[];

  constructor(
    o: Pick<Options, 'ingestToken' | 'adminToken' | 'readToken' | 'wsAllowedOrigins'>,
    readonly counters: SecurityCounters = newSecurityCounters(),
  ) {
    this.ingest = o.ingestToken === '' ? null : digest(o.ingestToken);
    this.admin = o.adminToken === '' ? null : digest(o.adminToken);
    this.read = o.readToken === '' ? null : digest(o.readToken);
    this.origins = o.wsAllowedOrigins;
  }

  /** Whether `access` needs any credential at all with this configuration. */
  required(access: Access): boolean {
    return this.accepted(access).length > 0;
  }

  private accepted(access: Access): Buffer[] {
    const list: (Buffer | null)[] =
      access === 'open'
        ? []
        : access === 'ingest'
          ? [this.ingest]
          : access === 'admin'
            ? [this.admin]
            : // Reading is open without READ_TOKEN, whatever ADMIN_TOKEN says.
              this.read
              ? [this.read, this.admin]
              : [];
    return list.filter((b): b is Buffer => b !== null);
  }

  /** null when `token` grants `access`; otherwise the 401/403 error to answer. */
  check(access: Access, token: string, what: string): PulseboardError | null {
    const accepted = this.accepted(access);
    if (accepted.length === 0) return null;
    if (token === '') {
      this.counters.authRejected++;
      return new PulseboardError(
        'PB_ERR_AUTH_MISSING',
        `${what} needs a token: Authorization: Bearer <${access.toUpperCase()}_TOKEN>`,
      );
    }
    const got = digest(token);
    let ok = false;
    // Compare against every accepted token, no early exit: the time does not say which matched.
    for (const want of accepted) ok = timingSafeEqual(got, want) || ok;
    if (ok) return null;
    this.counters.authRejected++;
    return new PulseboardError(
      'PB_ERR_AUTH_INVALID',
      `the token does not grant ${access} access to ${what}`,
    );
  }

  /**
   * Origin check of a WebSocket upgrade (cross-site WebSocket hijacking). No Origin header:
   * not a browser, nothing to check (the token still applies). With WS_ALLOWED_ORIGINS: the
   * list (`*` = any). Without: any origin when reading is open, same origin when READ_TOKEN
   * is set.
   */
  originAllowed(origin: string, host: string): boolean {
    if (origin === '') return true;
    const o = origin.toLowerCase().replace(/\/$/, '');
    if (this.origins.length > 0) return this.origins.includes('*') || this.origins.includes(o);
    if (!this.read) return true;
    try {
      return new URL(o).host === host.toLowerCase();
    } catch {
      return false;
    }
  }
}

function remoteAddress(res: HttpResponse): string {
  return Buffer.from(res.getRemoteAddressAsText()).toString();
}

const ROUTE_METHODS = new Set([
  'get',
  'post',
  'put',
  'del',
  'patch',
  'options',
  'head',
  'any',
  'connect',
  'trace',
]);

type Handler = (res: HttpResponse, req: HttpRequest) => void | Promise<void>;

/**
 * The app as route modules see it, with every handler they register wrapped: the wrapper
 * checks the credential the route needs (accessFor) and, for ingest, the client's rate,
 * and answers 401/403/429 itself without calling the route. Route modules stay unaware of
 * tokens; server.ts passes them this instead of the bare app.
 */
export function guardRoutes(
  app: TemplatedApp,
  control: AccessControl,
  ingestLimiter?: RateLimiter,
  limitLoopback = false,
): TemplatedApp {
  function admit(res: HttpResponse, req: HttpRequest): boolean {
    const path = req.getUrl();
    const access = accessFor(req.getMethod(), path);
    if (access === 'open') return true;
    const denied = control.check(access, bearerToken(req.getHeader('authorization')), path);
    if (denied) {
      const headers: Record<string, string> =
        denied.code === 'PB_ERR_AUTH_MISSING'
          ? { 'www-authenticate': 'Bearer realm="pulseboard"' }
          : {};
      sendError(track(res), denied, headers);
      return false;
    }
    if (access === 'ingest' && ingestLimiter?.enabled) {
      const address = remoteAddress(res);
      const waitS = !limitLoopback && isLoopbackHost(address) ? 0 : ingestLimiter.take(address);
      if (waitS > 0) {
        control.counters.rateLimited++;
        sendError(
          track(res),
          new PulseboardError(
            'PB_ERR_RATE_LIMITED',
            `too many requests from this client (INGEST_RATE_LIMIT); retry after ${waitS} s`,
          ),
          { 'retry-after': String(waitS) },
        );
        return false;
      }
    }
    return true;
  }

  const guarded: TemplatedApp = new Proxy(app, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof prop === 'string' && ROUTE_METHODS.has(prop) && typeof value === 'function') {
        return (pattern: RecognizedString, handler: Handler) => {
          (value as (p: RecognizedString, h: Handler) => unknown).call(
            target,
            pattern,
            (res, req) => (admit(res, req) ? handler(res, req) : undefined),
          );
          return guarded;
        };
      }
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
  return guarded;
}
