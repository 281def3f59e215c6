import uWS, { type TemplatedApp, type WebSocket } from 'uWebSockets.js';
import type { Options } from '../config/option-specs.js';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { envelope } from './envelope.js';
import { CONTROL_TOPIC, MAX_TOPICS_PER_REQUEST, type TopicCatalog } from './topics.js';

/**
 * The `/ws` endpoint: subscribe at open with `?topics=a,b`, then with control frames
 * `{"op":"subscribe"|"unsubscribe","topics":[…]}`. Replies (acks and errors) go to that
 * socket alone on topic `control`. Fan-out itself is uWS topic pub/sub, in C++: this file
 * never loops over clients.
 */

export const MAX_INBOUND_BYTES = 64 * 1024;

interface SocketData {
  /** Topics asked for in the upgrade URL, subscribed at open. */
  initialTopics: string[];
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
): WsStats {
  const stats: WsStats = { open: 0, accepted: 0, rejectedFrames: 0 };

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
    return ws.getTopics().filter((t) => t !== CONTROL_TOPIC);
  }

  /** Validates a topic list; returns the unknown ones. */
  function unknownTopics(topics: readonly string[]): string[] {
    return topics.filter((t) => !catalog.isKnown(t));
  }

  app.ws<SocketData>('/ws', {
    maxPayloadLength: MAX_INBOUND_BYTES,
    idleTimeout: options.wsIdleTimeoutS,
    sendPingsAutomatically: true,
    maxBackpressure: options.wsMaxBackpressure,
    // A client that cannot keep up is closed rather than slowing the others; it reconnects
    // and refetches the snapshot.
    closeOnBackpressureLimit: 1,
    compression: uWS.DISABLED,

    upgrade: (res, req, context) => {
      const query = req.getQuery('topics') ?? '';
      const initialTopics =
        query === ''
          ? []
          : decodeURIComponent(query)
              .split(',')
              .filter((t) => t !== '');
      res.upgrade<SocketData>(
        { initialTopics, controlSeq: 0, closed: false },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },

    open: (ws) => {
      stats.open++;
      stats.accepted++;
      const { initialTopics } = ws.getUserData();
      if (initialTopics.length === 0) return;
      if (initialTopics.length > MAX_TOPICS_PER_REQUEST) {
        refuse(ws, 'PB_ERR_WS_BAD_CONTROL', `at most ${MAX_TOPICS_PER_REQUEST} topics per request`);
        return;
      }
      const unknown = unknownTopics(initialTopics);
      for (const t of initialTopics) if (catalog.isKnown(t)) ws.subscribe(t);
      if (unknown.length > 0) {
        refuse(
          ws,
          'PB_ERR_WS_UNKNOWN_TOPIC',
          `unknown topic(s): ${unknown.join(', ')}; known: ${catalog.list().join(', ')}`,
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
        refuse(
          ws,
          'PB_ERR_WS_UNKNOWN_OP',
          `op must be "subscribe" or "unsubscribe" (got ${JSON.stringify(op) ?? 'nothing'})`,
        );
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
          `unknown topic(s): ${unknown.join(', ')}; known: ${catalog.list().join(', ')}`,
        );
        return;
      }
      for (const t of topics as string[]) {
        if (op === 'subscribe') ws.subscribe(t);
        else ws.unsubscribe(t);
      }
      reply(ws, { ok: true, op, topics: subscribed(ws) });
    },

    close: (ws, code) => {
      ws.getUserData().closed = true;
      stats.open--;
      if (code !== 1000 && code !== 1001 && code !== 1005) log.debug({ code }, 'websocket closed');
    },
  });
  return stats;
}
