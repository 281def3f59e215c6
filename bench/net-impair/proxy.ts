import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A degraded network of our own (netem is not available on these machines): a loopback
 * TCP proxy that delays every chunk by latency ± jitter (order kept, as TCP would),
 * throttles each direction of each connection to `bytesPerSec`, and resets a share of the
 * connections at random (RST, not FIN). Backpressure is honest: past HIGH_WATER bytes
 * queued in one direction the proxy stops reading that side, so a throttled client looks
 * like a slow reader to the server.
 *
 *   client ──► [queue: due = max(now + latency ± jitter, previous due, link free)] ──► server
 *   client ◄── [same, other direction]                                            ◄── server
 */

export interface Impairment {
  name: string;
  /** One-way delay added to every chunk, ms. */
  latencyMs: number;
  /** Uniform ± spread around latencyMs, ms. */
  jitterMs: number;
  /** Per connection and direction; 0 = unlimited. */
  bytesPerSec: number;
  /** Share of open connections reset per minute (0.05 = 5 % per minute). */
  resetsPerMinute: number;
}

export interface ProxyStats {
  connections: number;
  resets: number;
  bytes: number;
}

const HIGH_WATER = 256 * 1024;
const LOW_WATER = 64 * 1024;

/** One direction of one connection. */
class Pipe {
  private readonly queue: { due: number; chunk: Buffer }[] = [];
  private queued = 0;
  private lastDue = 0;
  private linkFreeAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly imp: Impairment,
    private readonly stats: ProxyStats,
  ) {
    from.on('data', (chunk: Buffer) => this.push(chunk));
  }

  private push(chunk: Buffer): void {
    const now = performance.now();
    const jitter = (Math.random() * 2 - 1) * this.imp.jitterMs;
    let due = Math.max(now + this.imp.latencyMs + jitter, this.lastDue);
    if (this.imp.bytesPerSec > 0) {
      const start = Math.max(due, this.linkFreeAt);
      this.linkFreeAt = start + (chunk.length / this.imp.bytesPerSec) * 1000;
      due = this.linkFreeAt;
    }
    this.lastDue = due;
    this.queue.push({ due, chunk });
    this.queued += chunk.length;
    if (this.queued > HIGH_WATER && !this.paused) {
      this.paused = true;
      this.from.pause();
    }
    if (!this.timer) this.schedule();
  }

  private schedule(): void {
    const head = this.queue[0];
    if (!head) {
      this.timer = undefined;
      return;
    }
    this.timer = setTimeout(() => this.flush(), Math.max(0, head.due - performance.now()));
  }

  private flush(): void {
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= now + 0.5) {
      const { chunk } = this.queue.shift()!;
      this.queued -= chunk.length;
      this.stats.bytes += chunk.length;
      if (!this.to.destroyed) this.to.write(chunk);
    }
    if (this.paused && this.queued < LOW_WATER) {
      this.paused = false;
      this.from.resume();
    }
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
  }
}

export class ImpairProxy {
  readonly stats: ProxyStats = { connections: 0, resets: 0, bytes: 0 };
  private readonly server: Server;
  private readonly open = new Set<{ client: Socket; upstream: Socket }>();
  private resetTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly imp: Impairment,
  ) {
    if (target.host !== '127.0.0.1' && target.host !== '::1' && target.host !== 'localhost') {
      throw new Error(`the proxy forwards to loopback only (got ${target.host})`);
    }
    this.server = createServer((client) => this.accept(client));
  }

  private accept(client: Socket): void {
    this.stats.connections++;
    const upstream = connect(this.target);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair = { client, upstream };
    this.open.add(pair);
    const up = new Pipe(client, upstream, this.imp, this.stats);
    const down = new Pipe(upstream, client, this.imp, this.stats);
    const end = () => {
      if (!this.open.delete(pair)) return;
      up.stop();
      down.stop();
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
      s.on('end', end);
    }
  }

  /** Listens on 127.0.0.1 (port 0 = any); resolves to the port. */
  listen(port = 0): Promise<number> {
    if (this.imp.resetsPerMinute > 0) {
      // Once a second, each open connection is reset with probability rate / 60.
      this.resetTimer = setInterval(() => {
        for (const pair of [...this.open]) {
          if (Math.random() >= this.imp.resetsPerMinute / 60) continue;
          this.stats.resets++;
          pair.client.resetAndDestroy();
          pair.upstream.resetAndDestroy();
        }
      }, 1000);
    }
    return new Promise((resolve) => {
      this.server.listen(port, '127.0.0.1', () =>
        resolve((this.server.address() as { port: number }).port),
      );
    });
  }

  /** No more resets from now on (the clients' run is ending: see runReconnectingClients). */
  stopResets(): void {
    clearInterval(this.resetTimer);
  }

  close(): Promise<void> {
    this.stopResets();
    for (const { client, upstream } of this.open) {
      client.destroy();
      upstream.destroy();
    }
    this.open.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
