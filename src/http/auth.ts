import type { HttpResponse } from 'uWebSockets.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Options } from '../config/option-specs.js';
import { PulseboardError } from '../errors.js';
import type { RejectedFigures } from '../metrics/snapshot-types.js';
import { AuthThrottle } from '../security/auth-throttle.js';
import { HostOriginPolicy, type PolicyOptions } from '../security/host-origin-policy.js';

/**
 * Access control for HTTP routes and the WebSocket upgrade.
 *
 *   route                                         needs (when that token is set)
 *   GET /healthz, GET /readyz                     nothing (probes stay open, any Host)
 *   POST /api/transactions                        INGEST_TOKEN (+ per-client rate limit)
 *   POST /api/load-test, /api/load-test/stop,     ADMIN_TOKEN
 *        /api/reset; POST/PUT/DELETE /api/rules…
 *   every other /api/* and GET /metrics           READ_TOKEN (ADMIN_TOKEN also accepted)
 *   GET /ws (upgrade)                             READ_TOKEN via the header, the
 *                                                 `pulseboard.bearer.*` subprotocol or ?token=
 *   the dashboard's static files                  nothing (code only; its data needs READ_TOKEN)
 *
 * Before any token, every request but the probes must name an allowed Host (DNS
 * rebinding), and the state-changing POSTs (ingest, admin) must come from an allowed
 * Origin (CSRF) with a JSON content type — which a plain HTML form or a no-cors fetch
 * cannot send (src/security/host-origin-policy.ts).
 *
 * Tokens are compared as SHA-256 digests with timingSafeEqual: equal lengths always, so
 * neither the content nor the length of a token leaks through timing. A token is never
 * logged or echoed; a missing credential is 401, a wrong one 403, and an address that sent
 * AUTH_FAILURE_LIMIT wrong ones in a minute gets 429 unchecked (src/security/auth-throttle.ts).
 */

export type Access = 'open' | 'read' | 'ingest' | 'admin';

const ADMIN_PATHS = new Set(['/api/load-test', '/api/load-test/stop', '/api/reset']);
/** Probes: no token and any Host (load balancers probe by IP or by service name). */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/**
 * Which credential a request needs, from its method (any case) and path (no query): the API
 * and /metrics are data; the rest (the dashboard's files, unknown paths) is open.
 */
export function accessFor(method: string, path: string): Access {
  if (PROBE_PATHS.has(path)) return 'open';
  if (path !== '/metrics' && !path.startsWith('/api/')) return 'open';
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
  /** HTTP requests and upgrades refused unchecked after AUTH_FAILURE_LIMIT wrong tokens (429). */
  authThrottled: number;
  /** HTTP requests and upgrades refused for their Host header (DNS rebinding). */
  hostRejected: number;
  /** WebSocket upgrades refused for their Origin. */
  originRejected: number;
  /** State-changing HTTP requests refused for their Origin (CSRF). */
  httpOriginRejected: number;
  /** Ingest requests answered 429. */
  rateLimited: number;
  /** WebSocket upgrades refused because WS_MAX_CONNECTIONS were open. */
  connectionsRefused: number;
  /** WebSocket upgrades refused because their address had WS_MAX_CONNECTIONS_PER_ADDRESS open. */
  addressLimited: number;
  /** WebSocket clients dropped for passing WS_MAX_BACKPRESSURE (slow consumers). */
  slowConsumersDropped: number;
}

export function newSecurityCounters(): SecurityCounters {
  return {
    authRejected: 0,
    authThrottled: 0,
    hostRejected: 0,
    originRejected: 0,
    httpOriginRejected: 0,
    rateLimited: 0,
    connectionsRefused: 0,
    addressLimited: 0,
    slowConsumersDropped: 0,
  };
}

/** The snapshot's `pipeline.rejected` (zeros when nothing counts: tests, benchmarks). */
export function rejectedFigures(c: SecurityCounters | undefined): RejectedFigures {
  return {
    auth: c?.authRejected ?? 0,
    authThrottled: c?.authThrottled ?? 0,
    host: c?.hostRejected ?? 0,
    origin: c?.originRejected ?? 0,
    httpOrigin: c?.httpOriginRejected ?? 0,
    rateLimited: c?.rateLimited ?? 0,
    wsConnections: c?.connectionsRefused ?? 0,
    wsPerAddress: c?.addressLimited ?? 0,
  };
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
const present = (list: (Buffer | null)[]): Buffer[] => list.filter((b): b is Buffer => b !== null);

/** The credential in `Authorization: Bearer <token>` (scheme case-insensitive), or ''. */
export function bearerToken(header: string): string {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : '';
}

export type AccessOptions = Pick<
  Options,
  'ingestToken' | 'adminToken' | 'readToken' | 'authFailureLimit' | 'loopbackLimits'
> &
  PolicyOptions;

export class AccessControl {
  private readonly ingest: Buffer | null;
  private readonly admin: Buffer | null;
  private readonly read: Buffer | null;
  /** The digests each kind of access accepts (none: open). */
  private readonly acceptedBy: Readonly<Record<Access, readonly Buffer[]>>;
  /** Host and Origin rules (DNS rebinding, CSRF, cross-site WebSocket). */
  readonly policy: HostOriginPolicy;
  readonly throttle: AuthThrottle;

  constructor(
    o: AccessOptions,
    /**
     * Where the wrong-token buckets live (auth-throttle.ts): the primary creates the table
     * (holder WS_THREADS), fan-out thread t opens the primary's (holder t).
     */
    shared: { holder: number; sab?: SharedArrayBuffer },
    readonly counters: SecurityCounters = newSecurityCounters(),
  ) {
    this.ingest = o.ingestToken === '' ? null : digest(o.ingestToken);
    this.admin = o.adminToken === '' ? null : digest(o.adminToken);
    this.read = o.readToken === '' ? null : digest(o.readToken);
    // Fixed for the process: built once rather than per request (two lists per ingest request
    // were measurable on the primary at 256 connections, profiles/README.md).
    this.acceptedBy = {
      open: [],
      ingest: present([this.ingest]),
      admin: present([this.admin]),
      // Reading is open without READ_TOKEN, whatever ADMIN_TOKEN says.
      read: this.read ? present([this.read, this.admin]) : [],
    };
    this.policy = new HostOriginPolicy(o);
    this.throttle = new AuthThrottle(o.authFailureLimit, o.loopbackLimits, shared);
  }

  /** Whether `access` needs any credential at all with this configuration. */
  required(access: Access): boolean {
    return this.accepted(access).length > 0;
  }

  private accepted(access: Access): readonly Buffer[] {
    return this.acceptedBy[access];
  }

  /**
   * null when `token` grants `access`; otherwise the 401/403 error to answer, or 429 when
   * `address` is throttled for wrong tokens (then the token is not even compared).
   */
  check(access: Access, token: string, what: string, address = ''): PulseboardError | null {
    const accepted = this.accepted(access);
    if (accepted.length === 0) return null;
    const waitS = address === '' ? 0 : this.throttle.retryAfterS(address);
    if (waitS > 0) {
      this.counters.authThrottled++;
      return new PulseboardError(
        'PB_ERR_AUTH_THROTTLED',
        `too many wrong tokens from this client (AUTH_FAILURE_LIMIT); retry after ${waitS} s`,
        { retryAfterS: waitS },
      );
    }
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
    if (address !== '') this.throttle.failed(address);
    return new PulseboardError(
      'PB_ERR_AUTH_INVALID',
      `the token does not grant ${access} access to ${what}`,
    );
  }

  /** null when the Host header is allowed; else the 403 to answer (counted). */
  checkHost(hostHeader: string): PulseboardError | null {
    if (this.policy.hostAllowed(hostHeader)) return null;
    this.counters.hostRejected++;
    return new PulseboardError(
      'PB_ERR_HTTP_HOST',
      'this Host is not one this server answers to (ALLOWED_HOSTS)',
    );
  }

  /**
   * Origin check of a WebSocket upgrade (cross-site WebSocket hijacking), whether or not
   * reading needs a token: see HostOriginPolicy.
   */
  originAllowed(origin: string, host: string): boolean {
    return this.policy.originAllowed(origin, host);
  }
}

/** Headers that go with a refusal: the Bearer challenge with a 401, Retry-After with a 429. */
export function refusalHeaders(err: PulseboardError): Record<string, string> {
  if (err.code === 'PB_ERR_AUTH_MISSING')
    return { 'www-authenticate': 'Bearer realm="pulseboard"' };
  const waitS = err.detail?.retryAfterS;
  return typeof waitS === 'number' ? { 'retry-after': String(waitS) } : {};
}

/**
 * Whether the peer is this machine, from uWS's binary address (4 bytes, or 16 for IPv6):
 * 127.0.0.0/8, ::1, or ::ffff:127.x.y.z. No text conversion, so an ingest request from a
 * local producer pays no string work for the rate-limit exemption.
 */
export function isLoopbackPeer(res: HttpResponse): boolean {
  const a = new Uint8Array(res.getRemoteAddress());
  if (a.length === 4) return a[0] === 127;
  if (a.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  if (a[10] === 0xff && a[11] === 0xff) return a[12] === 127;
  if (a[10] !== 0 || a[11] !== 0 || a[12] !== 0 || a[13] !== 0 || a[14] !== 0) return false;
  return a[15] === 1;
}

/** The client's address as uWS reports it (IPv4 dotted, IPv6 in full). */
export function remoteAddress(res: HttpResponse): string {
  return Buffer.from(res.getRemoteAddressAsText()).toString();
}
