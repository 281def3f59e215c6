import { idText } from '../../src/db/ring-rows.js';
import { idHigh, idLow, TX_ID_EPOCH_MS } from '../../src/shared/tx-id.js';

/**
 * Snowflake ids for ingested transactions: time + this thread's worker number + a 12-bit
 * sequence. When 4096 ids are taken within one ms the clock part borrows the next ms, so ids
 * stay unique and increasing under any burst.
 */
export class IdSource {
  private lastMs = 0;
  private seq = 0;

  /** `afterMs`: a restarted thread mints only above the last ms the failed one used. */
  constructor(
    private readonly worker: number,
    afterMs?: number,
  ) {
    if (afterMs !== undefined) {
      this.lastMs = afterMs;
      this.seq = 4095; // as if that ms were used up: the next id borrows the next ms
    }
  }

  /** The ms part (since TX_ID_EPOCH_MS) of the last id minted. */
  get lastIdMs(): number {
    return this.lastMs;
  }

  next(nowMs: number): { hi: number; lo: number; text: string } {
    let ms = Math.max(nowMs - TX_ID_EPOCH_MS, this.lastMs);
    if (ms === this.lastMs) {
      if (++this.seq === 4096) {
        ms++;
        this.seq = 0;
      }
    } else this.seq = 0;
    this.lastMs = ms;
    const hi = idHigh(ms);
    const lo = idLow(ms, this.worker, this.seq);
    // idText, not BigInt: this runs for every item ingested, and two BigInts, a shift, an
    // or and a toString were a visible part of it.
    return { hi, lo, text: idText(hi, lo) };
  }
}
