/**
 * Token bucket on the monotonic clock: the shard asks how many transactions it may start
 * now. Tokens accrue at `rate` per second and are capped at `burstSeconds` of rate, so a
 * stall (GC, a full ring) is caught up for a moment but never turns into a flood.
 * `rate = Infinity` means "as fast as the pipeline goes".
 */
export class TokenBucket {
  private tokens = 0;
  private last: number;
  private rate = 0;

  constructor(
    private readonly burstSeconds: number,
    now: number,
  ) {
    this.last = now;
  }

  setRate(rate: number, now: number): void {
    if (rate === this.rate) return;
    this.refill(now);
    this.rate = rate;
    if (rate === 0) this.tokens = 0;
  }

  /** Whole tokens available now, at most `max`. */
  available(now: number, max: number): number {
    if (this.rate === Number.POSITIVE_INFINITY) return max;
    this.refill(now);
    const whole = Math.floor(this.tokens);
    return Math.min(whole, max);
  }

  take(n: number): void {
    if (this.rate !== Number.POSITIVE_INFINITY) this.tokens -= n;
  }

  /** ms until the next whole token, or Infinity when idle. */
  msUntilNext(): number {
    if (this.rate <= 0) return Number.POSITIVE_INFINITY;
    if (this.rate === Number.POSITIVE_INFINITY) return 0;
    const missing = 1 - this.tokens;
    return missing <= 0 ? 0 : (missing / this.rate) * 1000;
  }

  private refill(now: number): void {
    const dt = now - this.last;
    this.last = now;
    if (dt <= 0 || this.rate === Number.POSITIVE_INFINITY) return;
    const cap = Math.max(1, this.rate * this.burstSeconds);
    this.tokens = Math.min(cap, this.tokens + (this.rate * dt) / 1000);
  }
}
