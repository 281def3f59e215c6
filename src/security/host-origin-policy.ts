import { isIP } from 'node:net';
import type { Options } from '../config/option-specs.js';

/**
 * What a browser may make this server do on behalf of a page it did not serve: the
 * `Host` check against DNS rebinding and the `Origin` check against cross-site requests
 * (CSRF) and cross-site WebSocket hijacking. Both guard against browsers only; a client
 * that is not a browser can send any header and meets the tokens instead.
 *
 * Host (every route but /healthz and /readyz, and the /ws upgrade). A page on
 * evil.example whose name is rebound to 127.0.0.1 talks to us with `Host: evil.example`,
 * so a request must name a host we know:
 *   - localhost and *.localhost (RFC 6761: they resolve to loopback, nobody can rebind them);
 *   - any IP address literal: a rebound page always sends its own domain name, and a page
 *     whose origin is our IP:port is ours (the approach of Vite's `server.allowedHosts`);
 *   - HOST itself, and ALLOWED_HOSTS (`.example.com` = the domain and its subdomains,
 *     `*` = any, which turns this check off).
 * The port is not compared: behind a proxy the client's port is the proxy's, and the name
 * alone is what rebinding changes.
 *
 * Origin (state-changing requests and /ws). Allowed: no Origin (not a browser), the
 * server's own origin (Origin's host:port equals the Host header, which passed the check
 * above), and ALLOWED_ORIGINS (`*` = any). `null` (sandboxed frames, no-referrer pages) is
 * never the server's own. Browsers that send `Sec-Fetch-Site` but no Origin are judged
 * by it: cross-site and same-site (a sibling subdomain) are refused.
 */

/** Distinct Host headers whose verdict is remembered. */
const HOST_MEMORY = 256;

/** Wildcard bind addresses: they name no host a client would put in `Host`. */
const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '[::]']);

export type PolicyOptions = Pick<
  Options,
  'host' | 'allowedHosts' | 'allowedOrigins' | 'wsAllowedOrigins'
>;

export class HostOriginPolicy {
  private readonly anyHost: boolean;
  private readonly hosts: Set<string>;
  /** `.example.com` entries, kept with their leading dot. */
  private readonly domains: string[];
  private readonly anyOrigin: boolean;
  private readonly origins: Set<string>;
  private readonly verdicts = new Map<string, boolean>();

  constructor(o: PolicyOptions) {
    const hosts = o.allowedHosts.filter((h) => !h.startsWith('.'));
    const bound = o.host.trim().toLowerCase().replace(/\.$/, '');
    if (!WILDCARD_BINDS.has(bound)) hosts.push(bound);
    this.anyHost = hosts.includes('*');
    this.hosts = new Set(hosts);
    this.domains = o.allowedHosts.filter((h) => h.startsWith('.'));
    // WS_ALLOWED_ORIGINS is the deprecated name; parse-options refuses both at once.
    const origins = o.allowedOrigins.length > 0 ? o.allowedOrigins : o.wsAllowedOrigins;
    this.anyOrigin = origins.includes('*');
    this.origins = new Set(origins);
  }

  /**
   * Whether the `Host` header names a host this server answers to (see above). A server sees
   * few distinct Host headers, so verdicts are remembered: the first HOST_MEMORY distinct
   * headers of up to 255 characters, then no more (bounded, whatever clients send).
   */
  hostAllowed(hostHeader: string): boolean {
    const known = this.verdicts.get(hostHeader);
    if (known !== undefined) return known;
    const ok = this.judgeHost(hostHeader);
    if (this.verdicts.size < HOST_MEMORY && hostHeader.length <= 255)
      this.verdicts.set(hostHeader, ok);
    return ok;
  }

  private judgeHost(hostHeader: string): boolean {
    if (this.anyHost) return true;
    const name = hostName(hostHeader);
    if (name === '') return false;
    if (this.hosts.has(name)) return true;
    if (name === 'localhost' || name.endsWith('.localhost')) return true;
    if (isIPv4(name)) return true;
    if (name.charCodeAt(0) === 91 /* [ */) return isIP(name.slice(1, -1)) === 6;
    for (const d of this.domains) if (name.endsWith(d) || name === d.slice(1)) return true;
    return false;
  }

  /**
   * Whether a request carrying `origin` (or, without one, `secFetchSite`) may change state
   * or open /ws. `hostHeader` has passed hostAllowed.
   */
  originAllowed(origin: string, hostHeader: string, secFetchSite = ''): boolean {
    if (origin === '') return secFetchSite !== 'cross-site' && secFetchSite !== 'same-site';
    if (this.anyOrigin) return true;
    // Same origin: `scheme://` + exactly the Host header (any case). No allocation when the
    // two are already equal, which is what a browser on our own page sends.
    const sep = origin.indexOf('://');
    if (sep !== -1 && origin.length - sep - 3 === hostHeader.length) {
      if (origin.endsWith(hostHeader)) return true;
      if (origin.slice(sep + 3).toLowerCase() === hostHeader.toLowerCase()) return true;
    }
    return this.origins.size > 0 && this.origins.has(lower(origin));
  }
}

/**
 * The host name of a `Host` header: lower case, without port or trailing dot; '' if
 * malformed. Per request, so by character codes rather than regular expressions.
 */
export function hostName(hostHeader: string): string {
  const n = hostHeader.length;
  if (n === 0) return '';
  let end: number;
  if (hostHeader.charCodeAt(0) === 91 /* [ */) {
    const close = hostHeader.indexOf(']');
    if (close === -1 || !isPortSuffix(hostHeader, close + 1)) return '';
    end = close + 1;
  } else {
    const colon = hostHeader.indexOf(':');
    end = colon === -1 ? n : colon;
    if (colon !== -1 && !isPortSuffix(hostHeader, colon)) return '';
    if (hostHeader.charCodeAt(end - 1) === 46 /* . */) end--;
    if (end === 0) return '';
  }
  return lower(end === n ? hostHeader : hostHeader.slice(0, end));
}

/** Nothing, or `:` and 1–5 digits, from `from` to the end. */
function isPortSuffix(s: string, from: number): boolean {
  if (from === s.length) return true;
  const digits = s.length - from - 1;
  if (s.charCodeAt(from) !== 58 /* : */ || digits < 1 || digits > 5) return false;
  for (let i = from + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Dotted-quad IPv4 (four numbers 0–255). */
function isIPv4(s: string): boolean {
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i === s.length ? 46 : s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || value > 255) return false;
      parts++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      value = value * 10 + (c - 48);
      digits++;
    } else return false;
  }
  return parts === 4;
}

/** Lower case, without allocating when there is nothing to change. */
function lower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.toLowerCase();
  }
  return s;
}
