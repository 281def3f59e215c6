import uWS, {
  type HttpRequest,
  type HttpResponse,
  type TemplatedApp,
  type WebSocket,
} from 'uWebSockets.js';
import type { Options } from '../config/option-specs.js';
import { type ErrorCode, PulseboardError } from '../errors.js';
import { type AccessControl, bearerToken, refusalHeaders, remoteAddress } from '../http/auth.js';
import { sendError, track } from '../http/respond.js';
import type { Logger } from '../log/logger.js';
import { AddressSlots } from '../security/address-slots.js';
import { SlowConsumerSweep } from '../security/slow-consumers.js';
import { envelope } from './envelope.js';
import { type InitialTopics, planInitialTopics } from './initial-topics.js';
import type { TopicPartitions } from './topic-partitions.js';
import { CONTROL_TOPIC, MAX_TOPICS_PER_REQUEST, type TopicCatalog } from './topics.js';
import { type OfferedProtocols, offeredProtocols } from './ws-subprotocol.js';

/**
 * The `/ws` endpoint: subscribe at open with `?topics=a,b`, then with control frames
 * `{"op":"subscribe"|"unsubscribe","topics":[…]}`. Replies (acks and errors) go to that
 * socket alone on topic `control`. Fan-out itself is uWS topic pub/sub, in C++: this file
 * never loops over clients.
 */

export const MAX_INBOUND_BYTES = 64 * 1024;

interface SocketData {
  /** What `?topics=` was granted, applied at open and then dropped (initial-topics.ts). */
  initial: InitialTopics | null;
  /** The key this socket is counted under per address ('' = not counted: address-slots.ts). */
  addressKey: string;
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

  const slots = new AddressSlots(options.wsMaxConnectionsPerAddress, options.loopbackLimits);

  /**
   * Host, Origin, connection limits and token of an upgrade, cheapest first: null to
   * accept, else the error to answer. `addressKey` is the per-address key it was counted
   * under. Nothing of the request is kept.
   */
  function refuseUpgrade(
    res: HttpResponse,
    req: HttpRequest,
    protocols: OfferedProtocols,
    addressKey: string,
  ): PulseboardError | null {
    const host = req.getHeader('host');
    const badHost = access!.checkHost(host);
    if (badHost) return badHost;
    if (!access!.originAllowed(req.getHeader('origin'), host)) {
      access!.counters.originRejected++;
      return new PulseboardError(
        'PB_ERR_AUTH_ORIGIN',
        'this Origin may not open /ws (ALLOWED_ORIGINS)',
      );
    }
    if (stats.open >= options.wsMaxConnections) {
      access!.counters.connectionsRefused++;
      return new PulseboardError(
        'PB_ERR_WS_TOO_MANY_CONNECTIONS',
        `${options.wsMaxConnections} WebSocket connections are open (WS_MAX_CONNECTIONS); retry later`,
        { retryAfterS: 5 },
      );
    }
    if (slots.full(addressKey)) {
      access!.counters.addressLimited++;
      return new PulseboardError(
        'PB_ERR_WS_ADDRESS_LIMIT',
        `${options.wsMaxConnectionsPerAddress} WebSocket connections are open from this address ` +
          '(WS_MAX_CONNECTIONS_PER_ADDRESS); close one or retry later',
        { retryAfterS: 5 },
      );
    }
    // getQuery(key) already percent-decodes. ?token= is still read for scripts; the
    // dashboard sends the subprotocol, which stays out of URLs and logs.
    const token =
      bearerToken(req.getHeader('authorization')) ||
      protocols.token ||
      (req.getQuery('token') ?? '');
    const address = access!.required('read') ? remoteAddress(res) : '';
    return access!.check('read', token, '/ws', address);
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
      const protocols = offeredProtocols(req.getHeader('sec-websocket-protocol'));
      const addressKey = slots.keyOf(remoteAddress(res));
      let initial: InitialTopics;
      try {
        const refused = access ? refuseUpgrade(res, req, protocols, addressKey) : null;
        if (refused) throw refused;
        initial = planInitialTopics(
          req.getQuery('topics') ?? '',
          catalog,
          options.wsMaxSubscriptions,
        );
      } catch (err) {
        const e = err as PulseboardError;
        sendError(track(res), e, refusalHeaders(e));
        return;
      }
      // uWS calls open() from inside upgrade(), so the counts cannot race.
      res.upgrade<SocketData>(
        {
          initial,
          addressKey,
          partition: partitions.assign(),
          controlSeq: 0,
          closed: false,
        },
        req.getHeader('sec-websocket-key'),
        protocols.answer,
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },

    open: (ws) => {
      stats.open++;
      stats.accepted++;
      slow.add(ws);
      const data = ws.getUserData();
      slots.add(data.addressKey);
      const initial = data.initial;
      data.initial = null;
      if (!initial) return;
      for (const t of initial.topics) join(ws, t);
      if (initial.error) refuse(ws, initial.error.code, initial.error.message);
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
      const data = ws.getUserData();
      data.closed = true;
      slots.remove(data.addressKey);
      slow.delete(ws);
      stats.open--;
      if (code !== 1000 && code !== 1001 && code !== 1005) log.debug({ code }, 'websocket closed');
    },
  });
  return stats;
}
