import { classifyDbError, dbErrorCode, shouldRetry } from '../../src/db/db-errors.js';
import {
  type WriterMessage,
  WS_BATCHES,
  WS_ERRORS,
  WS_LAST_COMMIT_MS,
  WS_QUARANTINED,
  WS_RETRIES,
  WS_RETRYING_SINCE_MS,
  WS_ROWS,
} from '../../src/shared/writer-protocol.js';
import { backoffMs, sleep } from '../common/backoff.js';
import { type CommitContext, commitBatch, type RowRange } from './commit-batch.js';
import type { Lane } from './lane.js';
import type { Quarantine } from './quarantine.js';

/**
 * Writes one claimed batch until every row in it is durable: committed, or — if the
 * database refuses it for good — in the quarantine. Errors are classified (db-errors.ts):
 *
 *   transient  retry the same rows with capped, jittered backoff, without limit (the
 *              database is down or busy: the ring fills and the shards throttle; nothing is
 *              dropped). The time the batch has been retrying is published for /readyz.
 *   permanent  the batch never commits as a whole: bisect it. Halves that commit are done;
 *              a single row that is still refused goes to the quarantine.
 *
 *   [0 ……………………… 4999] ✗ permanent
 *   [0 … 2499] ok   [2500 … 4999] ✗
 *                   [2500 … 3749] ok   [3750 … 4999] ✗   …   [3811] ✗ → quarantine
 *
 * One refused row in a batch of n costs about 2·log2(n) commits. Every attempt after a
 * failed one skips ids already stored (commitBatch's checkExisting), so nothing is written
 * twice whichever attempt's reply was lost.
 */

const WARN_EVERY_MS = 5000;

export class BatchWriter {
  private lastWarnAt = 0;
  /** Lanes retrying a batch → when that batch first failed. */
  private readonly retrying = new Map<Lane, number>();

  constructor(
    private readonly ctx: CommitContext,
    private readonly stats: Float64Array,
    private readonly quarantine: Quarantine,
    private readonly post: (m: WriterMessage) => void,
  ) {}

  /**
   * `maybeCommitted`: the batch was claimed again after a writer thread died holding it (it
   * may have committed before dying), so even its first attempt skips ids already stored.
   */
  async write(lane: Lane, batch: RowRange & { maybeCommitted?: boolean }): Promise<void> {
    try {
      await this.part(lane, batch, batch.maybeCommitted === true);
    } finally {
      this.setRetrying(lane, 0);
    }
  }

  private async part(lane: Lane, range: RowRange, failedBefore: boolean): Promise<void> {
    try {
      await this.withRetry(lane, range, failedBefore);
    } catch (err) {
      if (range.count === 1) {
        const where = await this.quarantine.put(lane, range, err, (cause, attempt) =>
          this.failed(lane, cause, attempt),
        );
        this.setRetrying(lane, 0);
        this.stats[WS_QUARANTINED]!++;
        this.post({
          type: 'quarantined',
          writerIndex: this.ctx.writerIndex,
          code: dbErrorCode(err),
          message: (err as Error).message,
          rows: 1,
          where,
        });
        return;
      }
      const half = range.count >> 1;
      const { cursor, start } = range;
      await this.part(lane, { cursor, start, count: half }, true);
      await this.part(lane, { cursor, start: (start + half) | 0, count: range.count - half }, true);
    }
  }

  /** Commits `range`, retrying while that can help; throws the error that says it cannot. */
  private async withRetry(lane: Lane, range: RowRange, failedBefore: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const rows = await commitBatch(lane, range, failedBefore || attempt > 0, this.ctx);
        this.stats[WS_ROWS]! += rows;
        this.stats[WS_BATCHES]!++;
        this.stats[WS_LAST_COMMIT_MS] = Date.now();
        this.setRetrying(lane, 0);
        return;
      } catch (err) {
        // After a failed multi-statement batch the server-side transaction state is
        // unknown: a fresh connection (the server rolls the old one back) is the clean one.
        lane.drop();
        this.stats[WS_ERRORS]!++;
        if (!shouldRetry(err, attempt)) {
          this.setRetrying(lane, 0);
          throw err;
        }
        this.failed(lane, err, attempt);
        await sleep(backoffMs(attempt));
      }
    }
  }

  /** An attempt that will be retried: count it, mark the lane retrying, warn (throttled). */
  private failed(lane: Lane, err: unknown, attempt: number): void {
    this.stats[WS_RETRIES]!++;
    if (!this.retrying.has(lane)) this.setRetrying(lane, Date.now());
    const now = Date.now();
    if (now - this.lastWarnAt >= WARN_EVERY_MS || attempt === 0) {
      this.lastWarnAt = now;
      this.post({
        type: 'warn',
        writerIndex: this.ctx.writerIndex,
        code: dbErrorCode(err),
        message: `${classifyDbError(err)}: ${(err as Error).message}`,
        attempt,
      });
    }
  }

  /** Publishes when the oldest batch still retrying first failed (0: none is). */
  private setRetrying(lane: Lane, since: number): void {
    if (since === 0) this.retrying.delete(lane);
    else this.retrying.set(lane, since);
    let oldest = 0;
    for (const t of this.retrying.values()) if (oldest === 0 || t < oldest) oldest = t;
    this.stats[WS_RETRYING_SINCE_MS] = oldest;
  }
}
