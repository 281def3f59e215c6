/**
 * INGEST_STREAM: where the JetStream door reads, as one URL
 *
 *   nats://[user:password@ | token@]host[:port][,host2[:port]…]/<subject>
 *
 * e.g. nats://127.0.0.1:4222/pulseboard.tx. The path is the subject producers publish to
 * (the stream captures it, the durable consumer filters on it); several servers of one
 * NATS cluster are separated by commas. Credentials in the URL are passed to the client
 * and never logged.
 */

export interface StreamTarget {
  /** host:port of each server, for the client's `servers`. */
  servers: string[];
  subject: string;
  user?: string;
  pass?: string;
  token?: string;
}

/** A subject publishers can use: dot-separated tokens, no wildcards, no spaces. */
const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const HOST_PORT = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:.]+\])(:\d{1,5})?$/;

/** Parses INGEST_STREAM; returns the reason when it is not valid. */
export function parseStreamUrl(raw: string): StreamTarget | string {
  const m = /^nats:\/\/(?:([^@/]*)@)?([^/]+)\/(.+)$/.exec(raw);
  if (!m) return 'must be nats://host[:port]/<subject> (e.g. nats://127.0.0.1:4222/pulseboard.tx)';
  const [, auth, hosts, subject] = m as unknown as [string, string | undefined, string, string];
  if (!SUBJECT.test(subject))
    return 'the subject (the path) must be dot-separated tokens of letters, digits, _ and -, without wildcards';
  const servers = hosts
    .split(',')
    .map((h) => (h.includes(':') && !h.endsWith(']') ? h : `${h}:4222`));
  if (!servers.every((s) => HOST_PORT.test(s))) return 'each server must be host[:port]';
  const target: StreamTarget = { servers, subject };
  if (auth !== undefined && auth !== '') {
    const colon = auth.indexOf(':');
    if (colon === -1) target.token = decodeURIComponent(auth);
    else {
      target.user = decodeURIComponent(auth.slice(0, colon));
      target.pass = decodeURIComponent(auth.slice(colon + 1));
    }
  }
  return target;
}
