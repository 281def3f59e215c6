/**
 * Carrying a token to /ws without putting it in the URL (where proxies and browser history
 * keep it). The browser WebSocket API cannot set `Authorization`, but it can offer
 * subprotocols, which travel in the `Sec-WebSocket-Protocol` request header:
 *
 *   Sec-WebSocket-Protocol: pulseboard, pulseboard.bearer.<base64url(token)>
 *
 * (the scheme Kubernetes uses for its API server's WebSockets). A subprotocol must be an
 * HTTP token, hence base64url. The server answers with `pulseboard` only — a browser
 * refuses an answer naming a protocol it did not offer, or none when it offered some — and
 * never echoes the token entry.
 *
 * No Node or DOM APIs here: the dashboard imports this file too.
 */

export const WS_PROTOCOL = 'pulseboard';
export const WS_BEARER_PREFIX = 'pulseboard.bearer.';

/** The subprotocol that carries `token`. */
export function bearerSubprotocol(token: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(token)) binary += String.fromCharCode(byte);
  return WS_BEARER_PREFIX + btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export interface OfferedProtocols {
  /** The token from a `pulseboard.bearer.*` entry, or '' when none was offered. */
  token: string;
  /** What the upgrade answers in `Sec-WebSocket-Protocol`: `pulseboard` if offered, else ''. */
  answer: string;
}

/** Reads a `Sec-WebSocket-Protocol` request header (comma-separated). */
export function offeredProtocols(header: string): OfferedProtocols {
  let token = '';
  let answer = '';
  if (header === '') return { token, answer };
  for (const raw of header.split(',')) {
    const p = raw.trim();
    if (p === WS_PROTOCOL) answer = WS_PROTOCOL;
    else if (p.startsWith(WS_BEARER_PREFIX) && token === '') token = decodeBearer(p);
  }
  return { token, answer };
}

function decodeBearer(p: string): string {
  const b64 = p.slice(WS_BEARER_PREFIX.length);
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(b64)) throw new Error('not base64url');
    const binary = atob(b64.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Undecodable: still a credential that was offered, and a wrong one.
    return p;
  }
}
