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
import { hostName } from '../security/host-origin-policy.js';
import { SlowConsumerSweep } from '../security/slow-consumers.js';
import type { ConnectionSlots } from './connection-slots.js';
import { envelope } from './envelope.js';
import type { ThreadCounters } from './fanout-counters.js';
import { type InitialTopics, planInitialTopics } from './initial-topics.js';
import type { TopicPartitions } from './topic-partitions.js';
import { CONTROL_TOPIC, MAX_TOPICS_PER_REQUEST, type TopicCatalog } from './topics.js';
import { type OfferedProtocols, offeredProtocols } from './ws-subprotocol.js';

/**
 * The `/ws` endpoint: subscribe at open with `?topics=a,b`, then with control frames
 * `{"op":"subscribe"|"unsubscribe","topics":[…]}`. Replies (acks and errors) go to that
 * socket alone on topic `control`. Fan-out itself is uWS topic pub/sub, in C++: this file
 * never loops over clients.
 *
 * The same route runs on the primary (WS_THREADS=1) and in every fan-out thread
 * (workers/fanout/): connection slots, subscriber counts and counters are in shared memory
 * (fanout-layout.ts), so limits and figures hold for the process, not per thread.
 */

export const MAX_INBOUND_BYTES = 64 * 1024;

interface SocketData {
  /** What `?topics=` was granted, applied at open and then dropped (initial-topics.ts). */
  initial: InitialTopics | null;
  /** The key this socket is counted under per address ('' = not counted: connection-slots.ts). */
  addressKey: string;
  /** Public names of the topics this socket is subscribed to (counted in shared memory). */
  topics: Set<string>;
  /**
   * open() ran (uWS calls it from inside res.upgrade). An object: uWS copies the user
   * data's properties into the socket, so only a shared reference reaches back.
   */
  slot: { opened: boolean };
  /** The publish partition of this socket (see topic-partitions.ts). */
  partition: number;
  controlSeq: number;
  closed: boolean;
}

export interface WsStats {
  /** Currently open sockets. */
  readonly open: number;
  /** Sockets opened since start. */
  readonly accepted: number;
  /** Control frames refused (bad JSON, unknown op/topic, binary). */
  readonly rejectedFrames: number;
}

/** What the route shares with the other threads serving /ws (fanout-layout.ts). */
export interface WsShared {
  readonly slots: ConnectionSlots;
  readonly counters: ThreadCounters;
  /**
   * A fan-out thread's: the dashboard's page is on PORT, its socket on WS_PORT, so an
   * Origin naming this Host's name on PORT is our own page too. null on the primary.
   */
  readonly pagePort?: number | null;
}

/** `host` (a Host header) with its port replaced by `port`; both forms for 80 and 443. */
function onPort(host: string, port: number): string[] {
  const name = hostName(host);
  if (name === '') return [];
  return port === 80 || port === 443 ? [`${name}:${port}`, name] : [`${name}:${port}`];
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
  shared: WsShared,
  access?: AccessControl,
): void {
  const { slots, counters } = shared;
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
    counters.add('rejectedFrames');
    reply(ws, { ok: false, error: { code, message } });
  }

  function subscribed(ws: WebSocket<SocketData>): string[] {
    return [...ws.getUserData().topics];
  }

  function join(ws: WebSocket<SocketData>, topic: string): void {
    const data = ws.getUserData();
    if (data.topics.has(topic)) return;
    data.topics.add(topic);
    ws.subscribe(partitions.internal(topic, data.partition));
    counters.subscribers(catalog.column(topic), 1);
  }

  function leave(ws: WebSocket<SocketData>, topic: string): void {
    const data = ws.getUserData();
    if (!data.topics.delete(topic)) return;
    ws.unsubscribe(partitions.internal(topic, data.partition));
    counters.subscribers(catalog.column(topic), -1);
  }

  /** Validates a topic list; returns the unknown ones. */
  function unknownTopics(topics: readonly string[]): string[] {
    return topics.filter((t) => !catalog.isKnown(t));
  }

  function tooMany(): string {
    return `at most ${options.wsMaxSubscriptions} subscriptions per socket (WS_MAX_SUBSCRIPTIONS)`;
  }

  /**
   * Host, Origin, connection limits and token of an upgrade, cheapest first: null to
   * accept (a connection slot is then reserved for `addressKey`), else the error to answer.
   * Nothing of the request is kept.
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
    const origin = req.getHeader('origin');
    const pagePort = shared.pagePort ?? null;
    if (
      !access!.originAllowed(origin, host) &&
      !(pagePort !== null && onPort(host, pagePort).some((h) => access!.originAllowed(origin, h)))
    ) {
      access!.counters.originRejected++;
      return new PulseboardError(
        'PB_ERR_AUTH_ORIGIN',
        'this Origin may not open /ws (ALLOWED_ORIGINS)',
      );
    }
    const full = slots.tryOpen(addressKey);
    if (full === 'total') {
      access!.counters.connectionsRefused++;
      return new PulseboardError(
        'PB_ERR_WS_TOO_MANY_CONNECTIONS',
        `${options.wsMaxConnections} WebSocket connections are open (WS_MAX_CONNECTIONS); retry later`,
        { retryAfterS: 5 },
      );
    }
    if (full === 'address') {
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
    const refused = access!.check('read', token, '/ws', address);
    if (refused) slots.close(addressKey);
    return refused;
  }

  /** Without access control (benchmarks): only the connection slot. */
  function reserveOnly(addressKey: string): PulseboardError | null {
    return slots.tryOpen(addressKey) === null
      ? null
      : new PulseboardError(
          'PB_ERR_WS_TOO_MANY_CONNECTIONS',
          `${options.wsMaxConnections} WebSocket connections are open (WS_MAX_CONNECTIONS); retry later`,
          { retryAfterS: 5 },
        );
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
      const refused = access
        ? refuseUpgrade(res, req, protocols, addressKey)
        : reserveOnly(addressKey);
      if (refused) {
        sendError(track(res), refused, refusalHeaders(refused));
        return;
      }
      // A slot is reserved from here: every way out gives it back or hands it to open().
      try {
        initial = planInitialTopics(
          req.getQuery('topics') ?? '',
          catalog,
          options.wsMaxSubscriptions,
        );
      } catch (err) {
        slots.close(addressKey);
        const e = err as PulseboardError;
        sendError(track(res), e, refusalHeaders(e));
        return;
      }
      const data: SocketData = {
        initial,
        addressKey,
        topics: new Set(),
        slot: { opened: false },
        partition: partitions.assign(),
        controlSeq: 0,
        closed: false,
      };
      // uWS calls open() from inside upgrade(); a client gone meanwhile never opens.
      res.upgrade<SocketData>(
        data,
        req.getHeader('sec-websocket-key'),
        protocols.answer,
        req.getHeader('sec-websocket-extensions'),
        context,
      );
      if (!data.slot.opened) slots.close(addressKey);
    },

    open: (ws) => {
      counters.add('open');
      counters.add('accepted');
      slow.add(ws);
      const data = ws.getUserData();
      data.slot.opened = true;
      partitions.opened(data.partition);
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
      slots.close(data.addressKey);
      partitions.closed(data.partition);
      for (const t of data.topics) counters.subscribers(catalog.column(t), -1);
      slow.delete(ws);
      counters.add('open', -1);
      if (code !== 1000 && code !== 1001 && code !== 1005) log.debug({ code }, 'websocket closed');
    },
  });
}
