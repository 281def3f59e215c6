/**
 * Errors with stable codes (PB_ERR_<AREA>_<WHAT>) and, where they reach a client, the HTTP
 * status they map to. Tests assert the code, never the message. Errors that cross a thread
 * boundary travel as {code, message} and are rebuilt here.
 */

export const ERROR_STATUS = {
  PB_ERR_OPTIONS_UNKNOWN: 0,
  PB_ERR_OPTIONS_INVALID: 0,
  PB_ERR_UWS_FALLBACK: 0,
  PB_ERR_LISTEN_FAILED: 0,
  PB_ERR_LISTEN_PORT_IN_USE: 0,
  PB_ERR_HTTP_NOT_FOUND: 404,
  PB_ERR_HTTP_METHOD: 405,
  PB_ERR_HTTP_BAD_JSON: 400,
  PB_ERR_HTTP_BODY_TOO_LARGE: 413,
  PB_ERR_HTTP_CONTENT_TYPE: 415,
  /** A Content-Encoding the route does not decode (ingest takes gzip or none). */
  PB_ERR_HTTP_CONTENT_ENCODING: 415,
  /** A body sent as gzip that does not inflate (corrupt or truncated). */
  PB_ERR_HTTP_BAD_GZIP: 400,
  PB_ERR_HTTP_BAD_QUERY: 400,
  PB_ERR_HTTP_HOST: 403,
  PB_ERR_HTTP_ABORTED: 0,
  PB_ERR_SCENARIO_INVALID: 400,
  PB_ERR_WS_BAD_JSON: 0,
  PB_ERR_WS_BAD_CONTROL: 0,
  PB_ERR_WS_UNKNOWN_OP: 0,
  PB_ERR_WS_UNKNOWN_TOPIC: 0,
  PB_ERR_WS_BINARY: 0,
  PB_ERR_WORKER_FAILED: 0,
  PB_ERR_THREAD_DOWN: 503,
  PB_ERR_THREAD_RESTARTS_EXHAUSTED: 0,
  PB_ERR_DB_CONFIG: 0,
  PB_ERR_DB_UNREACHABLE: 0,
  PB_ERR_DB_MIGRATION: 0,
  PB_ERR_DB_WRITER: 0,
  PB_ERR_DB_DRAIN_TIMEOUT: 0,
  /** Log codes of the JetStream door (src/ingest/stream/; /readyz names them too). */
  PB_ERR_STREAM_CONFIG: 0,
  PB_ERR_STREAM_UNREACHABLE: 0,
  PB_ERR_STREAM_DEAD_LETTER: 0,
  PB_ERR_STREAM_FAILED: 0,
  /** Log code: a simulator row the database refused for good went to the quarantine. */
  PB_ERR_DB_QUARANTINED: 0,
  PB_ERR_DB_UNAVAILABLE: 503,
  PB_ERR_DB_TIMEOUT: 503,
  PB_ERR_READ_BUSY: 503,
  PB_ERR_NOT_READY: 503,
  PB_ERR_INGEST_INVALID: 400,
  /** Log code: a source name past SOURCES_MAX; it counts under `other` (nothing refused). */
  PB_ERR_SOURCE_OVERFLOW: 0,
  PB_ERR_INGEST_EMPTY: 400,
  PB_ERR_INGEST_TOO_MANY: 413,
  PB_ERR_INGEST_BACKPRESSURE: 503,
  PB_ERR_INGEST_OFF: 503,
  /** The database refused a validated request's rows for good (out of range, constraint…). */
  PB_ERR_INGEST_REJECTED: 422,
  /** Storing a request failed with an unclassified error, after its bounded attempts. */
  PB_ERR_INGEST_DB_FAILED: 500,
  PB_ERR_AUTH_MISSING: 401,
  PB_ERR_AUTH_INVALID: 403,
  PB_ERR_AUTH_ORIGIN: 403,
  PB_ERR_AUTH_THROTTLED: 429,
  PB_ERR_RATE_LIMITED: 429,
  PB_ERR_WS_TOO_MANY_CONNECTIONS: 503,
  // WS_THREADS > 1: /ws is served on WS_PORT (the message names it).
  PB_ERR_WS_OTHER_PORT: 421,
  PB_ERR_WS_ADDRESS_LIMIT: 429,
  PB_ERR_WS_TOO_MANY_SUBSCRIPTIONS: 0,
  PB_ERR_RULES_INVALID: 400,
  PB_ERR_RULES_NOT_FOUND: 404,
  PB_ERR_RULES_EXISTS: 409,
  PB_ERR_ALERTMANAGER: 0,
  PB_ERR_CLUSTER_UNREACHABLE: 503,
  PB_ERR_CLUSTER_NODE_ID_TAKEN: 0,
  PB_ERR_CLUSTER_FULL: 0,
  PB_ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class PulseboardError extends Error {
  readonly code: ErrorCode;
  /** Extra structured detail (e.g. the offending field), serialised with the error. */
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, detail?: Record<string, unknown>) {
    super(message);
    this.name = 'PulseboardError';
    this.code = code;
    this.detail = detail;
  }

  get status(): number {
    return ERROR_STATUS[this.code] || 500;
  }

  toJSON(): { code: ErrorCode; message: string } & Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.detail };
  }
}

/**
 * Where JSON.parse gave up, in our words. Its own message quotes the input ("Unexpected
 * token 'x', "xyz…" is not valid JSON"), and error answers never echo request input; the
 * position is a number, so it is safe to keep.
 */
export function jsonSyntaxWhere(err: unknown): string {
  const at = /at position (\d+)/.exec((err as Error)?.message ?? '');
  return at ? ` (at character ${at[1]})` : '';
}
