import { CURRENCIES, FLAG_RULE } from '../../src/shared/catalog.js';

/**
 * The fraud rules a simulated (or ingested) transaction passes, cheapest first:
 *  1. amount over threshold (USD-equivalent minor units);
 *  2. velocity: more than `velocityMax` transactions for one account in a 10 s window —
 *     accounts are partitioned across shards, so each shard sees all of its accounts;
 *  3. unusual source/currency pairing: each source has a set of usual currencies.
 * The first rule that matches is the one recorded.
 */

const VELOCITY_WINDOW_MS = 10_000;

/** Usual currencies of source s: USD, EUR, GBP plus one regional currency per source. */
export function usualCurrencyMask(source: number): number {
  return 0b111 | (1 << (3 + (source % (CURRENCIES.length - 3))));
}

export class FraudRules {
  private readonly windowOf: Uint32Array;
  private readonly countOf: Uint16Array;
  private readonly usualMask: Uint32Array;

  constructor(
    accountSlots: number,
    sourceCount: number,
    private readonly amountThresholdUsd: number,
    private readonly velocityMax: number,
  ) {
    this.windowOf = new Uint32Array(accountSlots);
    this.countOf = new Uint16Array(accountSlots);
    this.usualMask = new Uint32Array(sourceCount);
    for (let s = 0; s < sourceCount; s++) this.usualMask[s] = usualCurrencyMask(s);
  }

  /** Counts the transaction for its account and returns the rule that flags it (0 = none). */
  check(
    accountSlot: number,
    nowMs: number,
    amountUsd: number,
    source: number,
    currency: number,
  ): number {
    const window = (nowMs / VELOCITY_WINDOW_MS) >>> 0;
    let count: number;
    if (this.windowOf[accountSlot] !== window) {
      this.windowOf[accountSlot] = window;
      count = 1;
    } else {
      count = this.countOf[accountSlot]! + 1;
      if (count > 65_535) count = 65_535;
    }
    this.countOf[accountSlot] = count;
    if (amountUsd > this.amountThresholdUsd) return FLAG_RULE.amount;
    if (count > this.velocityMax) return FLAG_RULE.velocity;
    if ((this.usualMask[source]! & (1 << currency)) === 0) return FLAG_RULE.pairing;
    return FLAG_RULE.none;
  }

  /** Velocity count of the account in the current window (for the risk score). */
  velocity(accountSlot: number): number {
    return this.countOf[accountSlot]!;
  }
}
