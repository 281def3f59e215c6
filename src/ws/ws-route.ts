import uWS, { type HttpRequest, type TemplatedApp, type WebSocket } from 'uWebSockets.js';
import type { Options } from '../config/option-specs.js';
import { type ErrorCode, PulseboardError } from '../errors.js';
import { type AccessControl, bearerToken } from '../http/auth.js';
import { sendError, track } from '../http/respond.js';
import type { Logger } from '../log/logger.js';
import { SlowConsumerSweep } from '../security/slow-consumers.js';
import { envelope } from './envelope.js';
import type { TopicPartitions } from './topic-partitions.js';
import { CONTROL_TOPIC, MAX_TOPICS_PER_REQUEST, type TopicCatalog } from './topics.js';

/**
 * The `/ws` endpoint: subscribe at open with `?topics=a,b`, then with control frames
 * `{"op":"subscribe"|"unsubscribe","topics":[…]}`. Replies (acks and errors) go to that
 * socket alone on topic `control`. Fan-out itself is uWS topic pub/sub, in C++: this file
 * never loops over clients.
 */

export const MAX_INBOUND_BYTES = 64 * 1024;

/** getQuery() has decoded once already; a stray `%` left over must not throw in a handler. */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

interface SocketData {
  /** Topics asked for in the upgrade URL, subscribed at open. */
  initialTopics: string[];
  /** The publish partition of this socket (see topic-partitions.ts). */
  partition: number;
  controlSeq: number;
  closed: boolean;
}

export interface WsStats {
  /** Currently open sockets. */
  open: number;
  /** Sockets opened since start. */
  accepted: number;
  /** Control frames refused (bad JSON, unknown op/topic, binary). */
  rejectedFrames: number;
}

type Reply =
  | { ok: true; op: string; topics: string[] }
  | { ok: false; error: { code: ErrorCode; message: string } };

export function registerWsRoute(
  app: TemplatedApp,
  catalog: TopicCatalog,
  options: Options,
  log: Logger,
  partitions: TopicPartitions,
  access?: AccessControl,
): WsStats {
  const stats: WsStats = { open: 0, accepted: 0, rejectedFrames: 0 };
  // Slow consumers: uWS skips them past WS_MAX_BACKPRESSURE; the sweep drops and counts them.
  const slow = new SlowConsumerSweep<SocketData>(options.wsMaxBackpressure, (_ws, buffered) => {
    if (access) access.counters.slowConsumersDropped++;
    log.debug({ buffered }, 'slow websocket consumer dropped');
  });

  function reply(ws: WebSocket<SocketData>, body: Reply): void {
    const data = ws.getUserData();
    if (data.closed) return;
    data.controlSeq++;
    ws.send(envelope(CONTROL_TOPIC, data.controlSeq, Date.now(), JSON.stringify(body)), false);
  }

  function refuse(ws: WebSocket<SocketData>, code: ErrorCode, message: string): void {
    stats.rejectedFrames++;
    reply(ws, { ok: false, error: { code, message } });
  }

  function subscribed(ws: WebSocket<SocketData>): string[] {
    return ws
      .getTopics()
      .filter((t) => t !== CONTROL_TOPIC)
      .map((t) => partitions.external(t));
  }

  function join(ws: WebSocket<SocketData>, topic: string): void {
    ws.subscribe(partitions.internal(topic, ws.getUserData().partition));
  }

  function leave(ws: WebSocket<SocketData>, topic: string): void {
    ws.unsubscribe(partitions.internal(topic, ws.getUserData().partition));
  }

  /** Validates a topic list; returns the unknown ones. */
  function unknownTopics(topics: readonly string[]): string[] {
    return topics.filter((t) => !catalog.isKnown(t));
  }

  function tooMany(): string {
    return `at most ${options.wsMaxSubscriptions} subscriptions per socket (WS_MAX_SUBSCRIPTIONS)`;
  }

  /** Connection limit, Origin and token of an upgrade: null to accept, else the error. */
  function refuseUpgrade(req: HttpRequest): PulseboardError | null {
    if (stats.open >= options.wsMaxConnections) {
      access!.counters.connectionsRefused++;
      return new PulseboardError(
        'PB_ERR_WS_TOO_MANY_CONNECTIONS',
        `${options.wsMaxConnections} WebSocket connections are open (WS_MAX_CONNECTIONS); retry later`,
      );
    }
    if (!access!.originAllowed(req.getHeader('origin'), req.getHeader('host'))) {
      access!.counters.originRejected++;
      return new PulseboardError(
        'PB_ERR_AUTH_ORIGIN',
        'this Origin may not open /ws (WS_ALLOWED_ORIGINS)',
      );
    }
    // getQuery(key) already percent-decodes.
    const token = bearerToken(req.getHeader('authorization')) || (req.getQuery('token') ?? '');
    return access!.check('read', token, '/ws');
  }

  app.ws<SocketData>('/ws', {
    maxPayloadLength: MAX_INBOUND_BYTES,
    idleTimeout: options.wsIdleTimeoutS,
    sendPingsAutomatically: true,
    maxBackpressure: options.wsMaxBackpressure,
    // A client that cannot keep up is skipped by publish (never slowing the others), then
    // dropped and counted by the sweep (src/security/slow-consumers.ts); it reconnects and
    // refetches the snapshot.
    closeOnBackpressureLimit: 0,
    compression: uWS.DISABLED,

    upgrade: (res, req, context) => {
      if (access) {
        const refused = refuseUpgrade(req);
        if (refused) {
          const headers: Record<string, string> =
            refused.code === 'PB_ERR_WS_TOO_MANY_CONNECTIONS'
              ? { 'retry-after': '5' }
              : refused.code === 'PB_ERR_AUTH_MISSING'
                ? { 'www-authenticate': 'Bearer realm="pulseboard"' }
                : {};
          sendError(track(res), refused, headers);
          return;
        }
      }
      const query = req.getQuery('topics') ?? '';
      const initialTopics =
        query === ''
          ? []
          : safeDecode(query)
              .split(',')
              .filter((t) => t !== '');
      res.upgrade<SocketData>(
        { initialTopics, partition: partitions.assign(), controlSeq: 0, closed: false },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },

    open: (ws) => {
      stats.open++;
      stats.accepted++;
      slow.add(ws);
      const { initialTopics } = ws.getUserData();
      if (initialTopics.length === 0) return;
      if (initialTopics.length > MAX_TOPICS_PER_REQUEST) {
        refuse(ws, 'PB_ERR_WS_BAD_CONTROL', `at most ${MAX_TOPICS_PER_REQUEST} topics per request`);
        return;
      }
      if (new Set(initialTopics).size > options.wsMaxSubscriptions) {
        refuse(ws, 'PB_ERR_WS_TOO_MANY_SUBSCRIPTIONS', tooMany());
        return;
      }
      const unknown = unknownTopics(initialTopics);
      for (const t of initialTopics) if (catalog.isKnown(t)) join(ws, t);
      if (unknown.length > 0) {
        refuse(
          ws,
          'PB_ERR_WS_UNKNOWN_TOPIC',
          `unknown topic (known: ${catalog.list().join(', ')})`,
        );
      }
    },

    message: (ws, message, isBinary) => {
      if (isBinary) {
        refuse(
          ws,
          'PB_ERR_WS_BINARY',
          'control frames are JSON text; binary frames are not accepted',
        );
        return;
      }
      let frame: unknown;
      try {
        frame = JSON.parse(Buffer.from(message).toString('utf8'));
      } catch {
        refuse(ws, 'PB_ERR_WS_BAD_JSON', 'control frame is not valid JSON');
        return;
      }
      if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
        refuse(ws, 'PB_ERR_WS_BAD_CONTROL', 'control frame must be an object {"op", "topics"}');
        return;
      }
      const { op, topics } = frame as { op?: unknown; topics?: unknown };
      if (op !== 'subscribe' && op !== 'unsubscribe') {
        refuse(ws, 'PB_ERR_WS_UNKNOWN_OP', 'op must be "subscribe" or "unsubscribe"');
        return;
      }
      if (
        !Array.isArray(topics) ||
        topics.length === 0 ||
        topics.length > MAX_TOPICS_PER_REQUEST ||
        !topics.every((t) => typeof t === 'string')
      ) {
        refuse(
          ws,
          'PB_ERR_WS_BAD_CONTROL',
          `topics must be an array of 1 to ${MAX_TOPICS_PER_REQUEST} strings`,
        );
        return;
      }
      const unknown = unknownTopics(topics as string[]);
      if (unknown.length > 0) {
        // All or nothing: a frame with one bad topic changes no subscription.
        refuse(
          ws,
          'PB_ERR_WS_UNKNOWN_TOPIC',
          `unknown topic (known: ${catalog.list().join(', ')})`,
        );
        return;
      }
      if (op === 'subscribe') {
        const after = new Set([...subscribed(ws), ...(topics as string[])]);
        if (after.size > options.wsMaxSubscriptions) {
          refuse(ws, 'PB_ERR_WS_TOO_MANY_SUBSCRIPTIONS', tooMany());
          return;
        }
      }
      for (const t of topics as string[]) {
        if (op === 'subscribe') join(ws, t);
        else leave(ws, t);
      }
      reply(ws, { ok: true, op, topics: subscribed(ws) });
    },

    close: (ws, code) => {
      ws.getUserData().closed = true;
      slow.delete(ws);
      stats.open--;
      if (code !== 1000 && code !== 1001 && code !== 1005) log.debug({ code }, 'websocket closed');
    },
  });
  return stats;
}
