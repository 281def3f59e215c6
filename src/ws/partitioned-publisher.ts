import type { TemplatedApp } from 'uWebSockets.js';
import type { TopicPartitions } from './topic-partitions.js';

/**
 * Hands a tick's frames to uWS a few partitions per event-loop turn (topic-partitions.ts):
 * the first partitions now, the next after a setImmediate, so HTTP requests and control
 * frames run in between. A turn takes partitions until they hold `socketsPerTurn` open
 * sockets (at least one partition; empty ones are skipped), so a turn's socket writes are
 * bounded whatever the client count and a small audience still goes out in one turn. The
 * primary uses it with WS_THREADS=1, each fan-out thread with more. A tick
 * whose frames arrive while the previous one is still being handed out waits its turn:
 * frames go out in order, never dropped, never interleaved (that would break `seq`).
 */

/** One tick's frames: [public topic, serialised frame]. */
export type Frames = readonly (readonly [topic: string, frame: string | Uint8Array])[];

/** Where TickPublisher sends each tick's frames. */
export interface FrameSink {
  /** A tick is still being handed out (the primary skips a tick rather than queue it). */
  readonly busy: boolean;
  /** Sends `frames`; `done` gets the CPU time this thread spent on it, ms. */
  publish(frames: Frames, done: (costMs: number) => void): void;
}

export class PartitionedPublisher implements FrameSink {
  private readonly queue: { frames: Frames; done: (costMs: number) => void }[] = [];
  private costMs = 0;
  private stopped = false;

  constructor(
    private readonly app: TemplatedApp,
    private readonly partitions: TopicPartitions,
    private readonly socketsPerTurn: number,
  ) {}

  get busy(): boolean {
    return this.queue.length > 0;
  }

  publish(frames: Frames, done: (costMs: number) => void = () => {}): void {
    this.queue.push({ frames, done });
    if (this.queue.length === 1) this.partition(0);
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  private partition(first: number): void {
    if (this.stopped) return;
    const started = performance.now();
    const { frames, done } = this.queue[0]!;
    const count = this.partitions.count;
    let k = first;
    let sockets = 0;
    for (; k < count && sockets < this.socketsPerTurn; k++) {
      const n = this.partitions.socketsIn(k);
      if (n === 0) continue;
      sockets += n;
      for (const [topic, frame] of frames) {
        this.app.publish(this.partitions.internal(topic, k), frame, false, false);
      }
    }
    this.costMs += performance.now() - started;
    if (k < count) {
      setImmediate(() => this.partition(k));
      return;
    }
    this.queue.shift();
    const cost = this.costMs;
    this.costMs = 0;
    done(cost);
    if (this.queue.length > 0) setImmediate(() => this.partition(0));
  }
}
