import { connect, type Socket } from 'node:net';
import hdr from 'hdr-histogram-js';
import type { Done, HttpLoadConfig, LoadMessage, SpanEnd } from './http-load-messages.js';
import { ResponseReader } from './http-response-reader.js';
import { RequestTemplate } from './request-template.js';

/**
 * The load client's child process (started by http-load-client.ts): `connections`
 * keep-alive HTTP/1.1 connections over plain `net`, each with exactly one request in flight
 * (send, read the whole response, send the next: no pipelining), every request new items
 * with new refs. A process of its own so its CPU is read apart from the bench's, and so the
 * bench's own work (the refs' bookkeeping, /proc reads) never delays a request.
 *
 * What keeps it cheap (issue 12: autocannon spent ~30 µs of CPU per request on this 2-core
 * box, more than the server it measured): the request is one pre-serialised Buffer per
 * connection with only the ref digits rewritten (request-template.ts); responses are read
 * straight from one shared read buffer (net's `onread`: no Buffer per read, no stream
 * `data` events) by a minimal parser (http-response-reader.ts); the refs answered are one
 * byte per request, sent to the parent as ranges once at the end; latency goes into an
 * HdrHistogram (hdr-histogram-js, the one autocannon uses) in µs.
 */

const config = JSON.parse(process.env.HTTP_LOAD_CONFIG!) as HttpLoadConfig;
const K = config.itemsPerRequest;
const CONNECT_ATTEMPTS = 10;
/** 1 µs to 60 s at 3 significant digits: ≤ 0.1 % error at any latency. */
const histogram = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 60_000_000,
  numberOfSignificantValueDigits: 3,
});
/**
 * One read buffer for every socket: an `onread` callback runs to its end before the next,
 * and the reader consumes the bytes (or copies a cut head) before it returns.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

type Phase = 'connect' | 'span' | 'drain' | 'over';
let phase: Phase = 'connect';
const counts = { requests2xx: 0, non2xx: 0, errors: 0, timeouts: 0, closedByServer: 0 };
const failures = new Map<string, number>();
/** answered[r] = 1: request r was answered 2xx. Grows by doubling. */
let answered = new Uint8Array(1 << 16);
let nextRequest = 0;
let inFlight = 0;
let spanStartedAt = 0;
let connected = 0;
let gaveUp = 0;
/** Requests given up during the drain (timed out, or their connection closed). */
let lostInDrain = 0;

const send = (m: LoadMessage, then: () => void = () => {}) => process.send!(m, then);

class Connection {
  private socket!: Socket;
  private reader!: ResponseReader;
  private readonly template: RequestTemplate;
  /** The request in flight, or −1. */
  private request = -1;
  private sentAt = 0;
  private attempts = 0;
  private errorCode = '';
  /** Closed by us (a timeout, a stop): not the server's doing. */
  private retired = false;
  /** Counted in `connected` (once: a reopen does not count again). */
  private counted = false;
  /** Never connected, after CONNECT_ATTEMPTS: sends nothing. */
  private dead = false;

  constructor(index: number) {
    this.template = new RequestTemplate(
      `${config.host}:${config.port}`,
      config.path,
      config.refPrefix,
      K,
      index,
    );
  }

  open(): void {
    this.retired = false;
    this.errorCode = '';
    this.reader = new ResponseReader({
      response: (status, close) => this.answered(status, close),
      malformed: (reason) => {
        this.errorCode = `malformed: ${reason}`;
        this.socket.destroy();
      },
    });
    const socket = connect({
      host: config.host,
      port: config.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n) => {
          this.reader.push(READ_BUFFER, 0, n);
          return true;
        },
      },
    });
    this.socket = socket;
    socket.on('connect', () => {
      this.attempts = 0;
      if (phase === 'connect' && !this.counted) {
        this.counted = true;
        if (++connected + gaveUp === config.connections) startSpan();
      } else if (phase === 'span') this.send();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.errorCode = err.code ?? 'error';
    });
    socket.on('close', () => this.closed(socket));
  }

  /** Sends the next request, if the run still wants one. */
  send(): void {
    if (phase !== 'span' || this.request !== -1 || this.dead) return;
    const r = nextRequest++;
    if (r >= answered.length) {
      const grown = new Uint8Array(answered.length * 2);
      grown.set(answered);
      answered = grown;
    }
    // A response can come before the whole request has left (an early 4xx): then the last
    // bytes may still be queued, and must not be rewritten under the socket.
    const bytes =
      this.socket.writableLength === 0 ? this.template.bytes : Buffer.from(this.template.bytes);
    this.request = r;
    inFlight++;
    this.sentAt = performance.now();
    this.socket.write(this.template.fill(r * K, bytes));
  }

  /** A request in flight for longer than the timeout: counted, and its socket replaced. */
  checkTimeout(now: number): void {
    if (this.request === -1 || now - this.sentAt < config.timeoutMs) return;
    if (phase === 'span') counts.timeouts++;
    this.abandon();
    this.retired = true;
    this.socket.destroy();
  }

  stop(): void {
    this.retired = true;
    this.socket.destroy();
  }

  private answered(status: number, close: boolean): void {
    const r = this.request;
    if (r === -1) {
      this.errorCode = 'unsolicited response';
      this.socket.destroy();
      return;
    }
    if (phase === 'span') {
      histogram.recordValue(Math.round((performance.now() - this.sentAt) * 1000));
      if (status >= 200 && status < 300) counts.requests2xx++;
      else counts.non2xx++;
    }
    if (status >= 200 && status < 300) answered[r] = 1;
    this.request = -1;
    inFlight--;
    if (phase === 'drain' && inFlight === 0) finish();
    // `Connection: close`: the server closes after this answer (we end our side too, in case
    // it does not); 'close' reopens.
    if (close) this.socket.end();
    else this.send();
  }

  private closed(socket: Socket): void {
    if (socket !== this.socket) return;
    this.reader.end();
    const mine = this.retired;
    if (!mine) {
      // A request cut by the close is lost: not acknowledged, so its ref is not checked.
      if (this.request !== -1) {
        this.abandon();
        this.fail(this.errorCode || 'closed mid-request');
      } else if (this.errorCode !== '') this.fail(this.errorCode);
      else if (phase === 'span') counts.closedByServer++;
    }
    if (phase === 'connect' && !this.counted) {
      // A refused connect while 256 open at once (listen backlog full): retry with backoff;
      // a connection that never gets in is left out of the run (its failure is in `failures`).
      if (++this.attempts < CONNECT_ATTEMPTS)
        setTimeout(() => this.open(), 50 * 2 ** this.attempts);
      else {
        this.dead = true;
        failures.set(
          this.errorCode || 'closed',
          (failures.get(this.errorCode || 'closed') ?? 0) + 1,
        );
        if (connected + ++gaveUp === config.connections) startSpan();
      }
      return;
    }
    if (phase === 'connect' || phase === 'span') {
      if (this.errorCode !== '') setTimeout(() => this.open(), 50);
      else this.open();
    }
  }

  private abandon(): void {
    this.request = -1;
    inFlight--;
    if (phase === 'drain') lostInDrain++;
    if (phase === 'drain' && inFlight === 0) finish();
  }

  private fail(code: string): void {
    if (phase !== 'span') return;
    counts.errors++;
    failures.set(code, (failures.get(code) ?? 0) + 1);
  }
}

const connections = Array.from({ length: config.connections }, (_, i) => new Connection(i));
let watchdog: NodeJS.Timeout | undefined;

function startSpan(): void {
  phase = 'span';
  send({ type: 'span-start' });
  spanStartedAt = performance.now();
  for (const c of connections) c.send();
  watchdog = setInterval(() => {
    const now = performance.now();
    for (const c of connections) c.checkTimeout(now);
  }, 250);
  setTimeout(endSpan, config.seconds * 1000);
}

const ms = (us: number) => Math.round(us / 10) / 100;

function endSpan(): void {
  const seconds = (performance.now() - spanStartedAt) / 1000;
  phase = 'drain';
  const m: SpanEnd = {
    type: 'span-end',
    seconds,
    ...counts,
    latencyMs: {
      p50: ms(histogram.getValueAtPercentile(50)),
      p90: ms(histogram.getValueAtPercentile(90)),
      p99: ms(histogram.getValueAtPercentile(99)),
      max: ms(histogram.maxValue),
    },
    failures: Object.fromEntries(failures),
  };
  send(m);
  if (inFlight === 0) finish();
  // The watchdog keeps running: a request unanswered for the timeout ends the drain.
}

function finish(): void {
  if (phase === 'over') return;
  phase = 'over';
  clearInterval(watchdog);
  for (const c of connections) c.stop();
  const acked: [number, number][] = [];
  let from = -1;
  for (let r = 0; r <= nextRequest; r++) {
    const yes = r < nextRequest && answered[r] === 1;
    if (yes && from === -1) from = r;
    else if (!yes && from !== -1) {
      acked.push([from * K, r * K]);
      from = -1;
    }
  }
  const done: Done = { type: 'done', acked, unanswered: lostInDrain };
  send(done, () => process.exit(0));
}

// The parent gone (a killed bench): stop rather than load a server nobody measures.
process.on('disconnect', () => process.exit(0));
for (const c of connections) c.open();
