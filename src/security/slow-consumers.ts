import type { WebSocket } from 'uWebSockets.js';

/**
 * Slow consumers. uWS skips publishing to a socket whose unsent backlog passed
 * maxBackpressure (so one stuck client never slows the others), but with
 * closeOnBackpressureLimit it closes such a socket from inside its own loop with the same
 * code (1006) as a client that vanished, so the drop could not be counted. Instead uWS only
 * skips, and this sweep, once per `intervalMs`, closes every socket at or past the limit
 * and counts it. Cost: one native getBufferedAmount per open socket per second (~1 ms for
 * 10,000 sockets), off the tick; a stuck client lives at most one interval past the limit,
 * holding at most the limit plus one frame.
 */

export class SlowConsumerSweep<T> {
  private readonly sockets = new Set<WebSocket<T>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limitBytes: number,
    private readonly onDrop: (ws: WebSocket<T>, bufferedBytes: number) => void,
    private readonly intervalMs = 1000,
  ) {}

  add(ws: WebSocket<T>): void {
    this.sockets.add(ws);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.intervalMs);
      this.timer.unref();
    }
  }

  delete(ws: WebSocket<T>): void {
    this.sockets.delete(ws);
    if (this.sockets.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  sweep(): void {
    for (const ws of this.sockets) {
      const buffered = ws.getBufferedAmount();
      if (buffered < this.limitBytes) continue;
      this.sockets.delete(ws);
      this.onDrop(ws, buffered);
      // close(), not end(): a close frame would queue behind the backlog it cannot drain.
      ws.close();
    }
  }
}
