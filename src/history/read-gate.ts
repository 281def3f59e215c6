import { PulseboardError } from '../errors.js';

/**
 * The reads' share of the database. MariaDB's connections and CPU are shared with the
 * writers, which carry the persisted rate; however many history or transaction reads
 * arrive, at most `limit` of them (READ_DB_CONNECTIONS) run at once, at most `queueMax`
 * (READ_QUEUE_MAX) wait, each for at most `waitMs` (READ_TIMEOUT_MS), and the rest are
 * refused at once with 503 PB_ERR_READ_BUSY and Retry-After: a read storm costs the
 * database a fixed number of statements, each bounded by its own timeout.
 *
 *   arrivals ──► [ waiting: FIFO, ≤ queueMax, ≤ waitMs each ] ──► [ running: ≤ limit ] ──► done
 *        └─ queue full: 503 at once          └─ waited too long: 503
 */

interface Waiter {
  admit(): void;
  timer: NodeJS.Timeout;
}

export interface ReadGateStats {
  running: number;
  waiting: number;
  /** Reads refused because the queue was full or they waited past waitMs. */
  refused: number;
}

export class ReadGate {
  private running = 0;
  private refused = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly limit: number,
    readonly queueMax: number,
    readonly waitMs: number,
  ) {}

  /** Runs `read` within the share, or rejects with PB_ERR_READ_BUSY. */
  async run<T>(read: () => Promise<T>): Promise<T> {
    await this.enter();
    try {
      return await read();
    } finally {
      this.leave();
    }
  }

  stats(): ReadGateStats {
    return { running: this.running, waiting: this.waiting.length, refused: this.refused };
  }

  private enter(): Promise<void> {
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.queueMax) {
      this.refused++;
      return Promise.reject(
        busy(
          `${this.limit} database reads are running and ${this.queueMax} waiting (READ_DB_CONNECTIONS, READ_QUEUE_MAX); retry later`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        admit: resolve,
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(w), 1);
          this.refused++;
          reject(
            busy(
              `no database connection for reads came free within ${this.waitMs} ms (READ_TIMEOUT_MS); retry later`,
            ),
          );
        }, this.waitMs),
      };
      this.waiting.push(w);
    });
  }

  private leave(): void {
    const next = this.waiting.shift();
    if (next === undefined) {
      this.running--;
      return;
    }
    // The slot passes straight to the next waiter: `running` stays the same.
    clearTimeout(next.timer);
    next.admit();
  }
}

function busy(message: string): PulseboardError {
  return new PulseboardError('PB_ERR_READ_BUSY', message);
}
