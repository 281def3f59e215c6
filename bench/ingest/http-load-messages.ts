/**
 * What the load client's parent (http-load-client.ts) and its child process
 * (http-load-process.ts) say to each other. The config goes in the child's environment;
 * the child then sends, in order:
 *
 *   span-start  every connection is open, the first requests leave now
 *   span-end    `seconds` later: the figures of the span (responses after it not counted)
 *   done        in-flight requests drained: the refs acknowledged over the whole run
 */

export interface HttpLoadConfig {
  host: string;
  port: number;
  path: string;
  connections: number;
  seconds: number;
  itemsPerRequest: number;
  /** Every ref of this run starts with it (request-template.ts gives the rest). */
  refPrefix: string;
  /** A request unanswered this long counts as a timeout; its connection is reopened. */
  timeoutMs: number;
}

export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface SpanStart {
  type: 'span-start';
}

export interface SpanEnd {
  type: 'span-end';
  seconds: number;
  requests2xx: number;
  non2xx: number;
  /** Sockets that failed (reset, refused) or sent bytes that are not HTTP. */
  errors: number;
  timeouts: number;
  /** Connections the server closed (after a `Connection: close` answer or not): reopened. */
  closedByServer: number;
  latencyMs: LatencyMs;
  /** Why sockets failed, by error code. */
  failures: Record<string, number>;
}

export interface Done {
  type: 'done';
  /**
   * Item numbers answered 2xx over the whole run (span and drain), as [from, to) ranges:
   * item n's ref is refOf(refPrefix, n). Mostly one range; a gap is a request not answered 2xx.
   */
  acked: [number, number][];
  /** Requests still unanswered when the drain gave up. */
  unanswered: number;
}

export type LoadMessage = SpanStart | SpanEnd | Done;
