/**
 * Per-client token buckets (one per remote address): a client may send `burst` requests at
 * once, then `ratePerSec` per second. `take` is O(1); the map is bounded by evicting
 * buckets that refilled completely (idle clients), so a flood of distinct addresses cannot
 * grow it without limit.
 *
 *   tokens ─► min(burst, tokens + elapsed × rate) ─► ≥ 1? take one : answer 429
 */

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_BUCKETS = 50_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {}

  get enabled(): boolean {
    return this.ratePerSec > 0;
  }

  /** 0 when the request may pass; otherwise the whole seconds to wait (for Retry-After). */
  take(key: string, now = performance.now()): number {
    if (this.ratePerSec <= 0) return 0;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.evictIdle(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerSec));
  }

  /** Like `take`, without taking: 0 when a token is there, else the whole seconds to wait. */
  wait(key: string, now = performance.now()): number {
    if (this.ratePerSec <= 0) return 0;
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.ratePerSec));
  }

  private evictIdle(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.ratePerSec >= this.burst)
        this.buckets.delete(key);
    }
    // Everyone is active: drop the oldest half rather than grow (Map iterates in insertion order).
    if (this.buckets.size >= MAX_BUCKETS) {
      let n = this.buckets.size / 2;
      for (const key of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }
}
