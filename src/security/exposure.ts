import type { Options } from '../config/option-specs.js';

/**
 * The start-up guard against exposing an open server: on loopback nothing is required
 * (frictionless local use), but binding any other address without the tokens that protect
 * state-changing endpoints (INGEST_TOKEN, ADMIN_TOKEN) refuses to start unless
 * ALLOW_UNAUTHENTICATED=true says it is deliberate. READ_TOKEN stays optional: a public
 * read-only wall display is a legitimate deployment.
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
  if (missing.length === 0) return;
  problems.push(
    `options.host ${JSON.stringify(o.host)} is reachable from the network, but ${missing.join(' and ')} ` +
      `${missing.length === 1 ? 'is' : 'are'} not set: anyone could ingest, run scenarios or reset. ` +
      'Set the token(s) (e.g. ADMIN_TOKEN=$(openssl rand -hex 32)), bind HOST=127.0.0.1, ' +
      'or pass --allow-unauthenticated true to accept the risk',
  );
}
