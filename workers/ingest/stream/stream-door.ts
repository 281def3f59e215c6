import {
  ConsumerEvents,
  type ConsumerMessages,
  connect,
  Events,
  headers,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import {
  LAG_REFRESH_MS,
  PULL_BATCH,
  type StreamDoorConfig,
} from '../../../src/ingest/stream/stream-config.js';
import {
  SS_ACK_PENDING,
  SS_CONSUMED,
  SS_COUNT,
  SS_DEAD,
  SS_HELD,
  SS_LAG_AT_MS,
  SS_PENDING,
  SS_REDELIVERED,
  SS_SINCE_MS,
  SS_STATE,
  STREAM_STATE_CONSUMING,
  STREAM_STATE_MISCONFIGURED,
  STREAM_STATE_STARTING,
  STREAM_STATE_UNREACHABLE,
} from '../../../src/ingest/stream/stream-status.js';
import { backoffMs, sleep } from '../../common/backoff.js';
import { AckBatch } from './ack-batch.js';
import { isRedelivery } from './ack-subject.js';
import { type DeadLetter, deadLetterOf } from './dead-letter.js';
import { ensureStreamAndConsumer, StreamSetupError } from './ensure-stream.js';

/**
 * The JetStream door: the second door into the ingest thread's path, next to POST
 * /api/transactions. Each message's payload goes through the same `submit` as an HTTP body
 * (same parser and validator, same ids, same group commit, same (source, ref) idempotency,
 * same live windows), and the message is settled by the answer:
 *
 *   consume (pull, ≤ PULL_BATCH asked at once) ──► held ──► submit ──► answer
 *        ▲ the server stops delivering at                 200, all valid ──► ack
 *        │ max_ack_pending unacknowledged (the            some / all invalid, or the
 *        │ database is slow or down: nothing more)        database refused them ──►
 *        │                                                dead letter, then ack
 *        └── in-progress acks keep held ones alive        503 backpressure ──► submit again
 *                                                         later (still held)
 *
 * A message is acknowledged only after its rows are committed (or its dead letter is
 * stored), so a crash or a lost ack means a redelivery, which (source, ref) turns into
 * `duplicate` answers: the effect is exactly-once. The consumer is durable and pulled, so
 * several nodes with the same INGEST_STREAM_CONSUMER share its messages.
 */

export type StreamAnswer = (status: number, body: unknown, retryAfterS?: number) => void;
export type Submit = (payload: Uint8Array, answer: StreamAnswer) => void;
export type StreamLog = (level: 'info' | 'warn' | 'error', code: string, message: string) => void;

/** How long a misconfigured stream or consumer waits before it is checked again. */
const RECHECK_MS = 30_000;
const DRAIN_TIMEOUT_MS = 5000;

export class StreamDoor {
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private messages: ConsumerMessages | undefined;
  private acks: AckBatch | undefined;
  /** Delivered, not yet settled → when we last told the server we are working on it. */
  private readonly held = new Map<JsMsg, number>();
  /** Held messages answered with backpressure, waiting to be submitted again. */
  private blocked: JsMsg[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private retryQueued = false;
  private stopping = false;
  private readonly status: Float64Array;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly cfg: StreamDoorConfig,
    private readonly submit: Submit,
    private readonly log: StreamLog,
  ) {
    this.status = new Float64Array(cfg.statusSab, 0, SS_COUNT);
    this.setState(STREAM_STATE_STARTING);
  }

  start(): void {
    void this.run().catch((err) => {
      // Unexpected (every known failure is handled in run): say so; the thread stays up
      // for HTTP ingest, and /readyz shows the door is not consuming.
      this.setState(STREAM_STATE_UNREACHABLE);
      this.log('error', 'PB_ERR_STREAM_FAILED', `the JetStream door stopped: ${String(err)}`);
    });
  }

  /** Stops taking messages and waits until every held one is settled, then drains. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.messages?.stop();
    this.retryBlocked(); // answered PB_ERR_INGEST_OFF now: nak'd for redelivery
    while (this.held.size > 0) await sleep(5);
    const nc = this.nc;
    if (nc && !nc.isClosed()) {
      // Flush the last acks; a server that is down loses them, and redelivery is idempotent.
      await Promise.race([nc.drain().catch(() => {}), sleep(DRAIN_TIMEOUT_MS)]);
      if (!nc.isClosed()) await nc.close();
    }
  }

  private async run(): Promise<void> {
    const { target } = this.cfg;
    this.nc = await connect({
      servers: target.servers,
      ...(target.user !== undefined ? { user: target.user, pass: target.pass ?? '' } : {}),
      ...(target.token !== undefined ? { token: target.token } : {}),
      name: 'pulseboard-ingest',
      // An unreachable server at start (or later) is retried for ever, with backoff.
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      reconnectJitter: 500,
    });
    if (this.stopping) return;
    AckBatch.check(this.nc);
    this.acks = new AckBatch(this.nc);
    void this.watchConnection(this.nc);
    this.jsm = await this.nc.jetstreamManager();
    this.js = this.nc.jetstream();
    this.timers.push(
      setInterval(() => void this.refreshLag(), LAG_REFRESH_MS),
      setInterval(() => this.keepAlive(), Math.max(1000, this.cfg.ackWaitMs / 3)),
    );
    while (!this.stopping) {
      try {
        // Again after the consumer or stream went away (deleted by hand, a server that
        // lost its store): recreated with the same settings, then consumed.
        await this.setUp();
        await this.consume();
        if (!this.stopping) await sleep(1000);
      } catch (err) {
        if (this.stopping) break;
        this.log('warn', 'PB_ERR_STREAM_UNREACHABLE', `consuming failed, retrying: ${String(err)}`);
        await sleep(1000);
      }
    }
  }

  /** Stream and consumer: created or checked; a misconfiguration is retried every 30 s. */
  private async setUp(): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        const done = await ensureStreamAndConsumer(this.jsm!, this.cfg);
        this.log(
          'info',
          'PB_STREAM_READY',
          `consuming ${this.cfg.target.subject}: ${done.join('; ')}`,
        );
        this.setState(STREAM_STATE_CONSUMING);
        return;
      } catch (err) {
        if (err instanceof StreamSetupError) {
          this.setState(STREAM_STATE_MISCONFIGURED);
          if (attempt === 0) this.log('error', err.code, err.message);
          await sleep(RECHECK_MS);
        } else {
          if (attempt === 0)
            this.log(
              'warn',
              'PB_ERR_STREAM_UNREACHABLE',
              `setting up the stream failed, retrying: ${String(err)}`,
            );
          await sleep(backoffMs(attempt));
        }
      }
    }
  }

  private async consume(): Promise<void> {
    const consumer = await this.js!.consumers.get(this.cfg.stream, this.cfg.consumer);
    const max = Math.min(PULL_BATCH, this.cfg.maxAckPending);
    // Callback mode: each message is taken in the client's own receive loop, without an
    // async iterator's promises per message. There is no pausing here: the server delivers
    // at most max_ack_pending unacknowledged messages (over every node sharing the
    // consumer), so that bounds what we hold; each is held (kept alive) from its arrival.
    const messages = await consumer.consume({ max_messages: max, callback: (m) => this.take(m) });
    this.messages = messages;
    void (async () => {
      for await (const st of await messages.status()) {
        if (
          st.type === ConsumerEvents.ConsumerDeleted ||
          st.type === ConsumerEvents.ConsumerNotFound ||
          st.type === ConsumerEvents.StreamNotFound
        ) {
          this.log(
            'warn',
            'PB_ERR_STREAM_UNREACHABLE',
            `${st.type} (${this.cfg.stream} / ${this.cfg.consumer}): setting it up again`,
          );
          messages.stop();
        }
      }
    })().catch(() => {});
    const err = await messages.closed();
    if (err instanceof Error && !this.stopping) throw err;
  }

  private take(m: JsMsg): void {
    if (isRedelivery(m)) this.status[SS_REDELIVERED]!++;
    this.held.set(m, Date.now());
    this.status[SS_HELD] = this.held.size;
    // Behind the ones already waiting out backpressure, in order.
    if (this.blocked.length > 0) this.blocked.push(m);
    else this.hand(m);
  }

  private hand(m: JsMsg): void {
    this.submit(m.data, (status, body, retryAfterS) => this.settle(m, status, body, retryAfterS));
  }

  private settle(m: JsMsg, status: number, body: unknown, retryAfterS?: number): void {
    if (status === 503) {
      if (this.stopping) {
        // Shutting down before it was taken: another node (or our restart) gets it now.
        m.nak();
        this.release(m);
      } else {
        // The ingest queue is full: again as soon as one of ours commits, else after
        // Retry-After (the queue may be full of HTTP requests).
        this.blocked.push(m);
        this.retryTimer ??= setTimeout(() => this.retryBlocked(), (retryAfterS ?? 1) * 1000);
      }
      return;
    }
    const dead = deadLetterOf(status, body);
    if (dead === undefined) {
      this.acks!.ack(m);
      this.status[SS_CONSUMED]!++;
      this.release(m);
    } else void this.deadLetter(m, dead);
  }

  /**
   * Publishes the original payload with the reason to the dead-letter subject, then acks.
   * The publish is retried until the dead-letter stream stores it (msgID: a retry after a
   * crash is deduplicated by the server), so a poison message is never dropped unseen.
   */
  private async deadLetter(m: JsMsg, dead: DeadLetter): Promise<void> {
    const h = headers();
    for (const [k, v] of Object.entries(dead.headers)) h.set(k, v);
    h.set('Pulseboard-Stream', this.cfg.stream);
    h.set('Pulseboard-Stream-Seq', String(m.seq));
    for (let attempt = 0; ; attempt++) {
      try {
        await this.js!.publish(this.cfg.deadSubject, m.data, {
          headers: h,
          msgID: `${this.cfg.stream}:${m.seq}`,
        });
        break;
      } catch (err) {
        if (this.stopping) {
          // Not acknowledged: it is redelivered (to another node, or after the restart).
          this.release(m);
          return;
        }
        if (attempt === 0)
          this.log(
            'warn',
            'PB_ERR_STREAM_DEAD_LETTER',
            `storing a dead letter failed, retrying: ${String(err)}`,
          );
        await sleep(backoffMs(attempt));
      }
    }
    m.ack();
    this.status[SS_DEAD]!++;
    this.release(m);
  }

  private release(m: JsMsg): void {
    this.held.delete(m);
    this.status[SS_HELD] = this.held.size;
    // A commit freed room in the ingest queue: the blocked ones go first (once per turn).
    if (this.blocked.length > 0 && !this.retryQueued) {
      this.retryQueued = true;
      queueMicrotask(() => this.retryBlocked());
    }
  }

  private retryBlocked(): void {
    this.retryQueued = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const again = this.blocked;
    this.blocked = [];
    for (const m of again) this.hand(m);
  }

  /** In-progress acks: a message waiting on a slow database is not redelivered elsewhere. */
  private keepAlive(): void {
    const now = Date.now();
    const due = now - this.cfg.ackWaitMs / 3;
    for (const [m, at] of this.held) {
      if (at > due) continue;
      m.working();
      this.held.set(m, now);
    }
  }

  private async refreshLag(): Promise<void> {
    if (this.nc?.isClosed() !== false) return;
    try {
      const info = await this.jsm!.consumers.info(this.cfg.stream, this.cfg.consumer);
      this.status[SS_PENDING] = info.num_pending;
      this.status[SS_ACK_PENDING] = info.num_ack_pending;
      this.status[SS_LAG_AT_MS] = Date.now();
    } catch {
      // Unreachable: the state says so; the last figures stay with their time.
    }
  }

  /** One log line per outage, and per recovery. */
  private async watchConnection(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === Events.Disconnect && this.status[SS_STATE] === STREAM_STATE_CONSUMING) {
        this.setState(STREAM_STATE_UNREACHABLE);
        this.log(
          'warn',
          'PB_ERR_STREAM_UNREACHABLE',
          `NATS server ${String(s.data)} unreachable; reconnecting with backoff, consumption paused`,
        );
      } else if (
        s.type === Events.Reconnect &&
        this.status[SS_STATE] === STREAM_STATE_UNREACHABLE
      ) {
        this.setState(STREAM_STATE_CONSUMING);
        this.log(
          'info',
          'PB_STREAM_RECONNECTED',
          `NATS server ${String(s.data)} reachable again; consuming`,
        );
      }
    }
  }

  private setState(state: number): void {
    if (this.status[SS_STATE] === state && this.status[SS_SINCE_MS] !== 0) return;
    this.status[SS_STATE] = state;
    this.status[SS_SINCE_MS] = Date.now();
  }
}
