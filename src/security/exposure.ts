import type { Options } from '../config/option-specs.js';

/**
 * The start-up guard against exposing an open server: on loopback nothing is required
 * (frictionless local use), but binding any other address without the tokens that protect
 * it refuses to start unless an option says it is deliberate:
 *
 *   missing token            what anyone on the network could do    deliberate with
 *   INGEST_TOKEN, ADMIN_TOKEN ingest, run scenarios, reset           ALLOW_UNAUTHENTICATED=true
 *   READ_TOKEN               read refs, accounts, amounts, the feed  ALLOW_PUBLIC_READ=true
 *                                                                    (or ALLOW_UNAUTHENTICATED)
 *
 * A public read-only wall display is a legitimate deployment, so reads have their own
 * switch: it opens reading without opening writing.
 */

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/^(0{1,4}:){5}ffff:|^::ffff:/, ''); // IPv4-mapped IPv6, as uWS may report peers
  return (
    h === 'localhost' ||
    h === '::1' ||
    /^(0{1,4}:){7}0{0,3}1$/.test(h) || // ::1 written out in full
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
  );
}

/** Adds a problem (never the token values) when the configuration would expose an open server. */
export function checkExposure(o: Options, problems: string[]): void {
  if (isLoopbackHost(o.host) || o.allowUnauthenticated) return;
  const missing = [
    o.ingestToken === '' && 'INGEST_TOKEN',
    o.adminToken === '' && 'ADMIN_TOKEN',
  ].filter((x): x is string => x !== false);
  if (missing.length > 0) {
    problems.push(
      `options.host ${JSON.stringify(o.host)} is reachable from the network, but ${missing.join(' and ')} ` +
        `${missing.length === 1 ? 'is' : 'are'} not set: anyone could ingest, run scenarios or reset. ` +
        'Set the token(s) (e.g. ADMIN_TOKEN=$(openssl rand -hex 32)), bind HOST=127.0.0.1, ' +
        'or pass --allow-unauthenticated true to accept the risk',
    );
  }
  if (o.readToken === '' && !o.allowPublicRead) {
    problems.push(
      `options.host ${JSON.stringify(o.host)} is reachable from the network, but READ_TOKEN is not set: ` +
        'anyone could read transactions (refs, accounts, amounts), the metrics and the live feed. ' +
        'Set READ_TOKEN=$(openssl rand -hex 32), bind HOST=127.0.0.1, or pass ' +
        '--allow-public-read true to publish them deliberately',
    );
  }
}
