import { RateLimiter } from '../http/rate-limit.js';
import { isLoopbackHost } from './exposure.js';

/**
 * Throttles token guessing per client address: each wrong token takes one from the
 * address's bucket (AUTH_FAILURE_LIMIT per minute, the same number at once); once it is
 * empty, every request of that address that needs a token is answered 429 with
 * Retry-After *without checking the token*, so a guesser learns nothing more until the
 * bucket refills — not even that a guess was right. Requests with a right token take
 * nothing; a missing token is not a guess and takes nothing either.
 *
 * Memory is bounded by the RateLimiter (idle buckets are evicted, at most 50,000).
 * Loopback clients are exempt unless LOOPBACK_LIMITS=true: a loopback peer is a local
 * process or a local reverse proxy speaking for every client, whom one guesser would
 * lock out.
 */
export class AuthThrottle {
  private readonly buckets: RateLimiter;

  constructor(
    perMinute: number,
    private readonly limitLoopback: boolean,
  ) {
    this.buckets = new RateLimiter(perMinute / 60, Math.max(1, perMinute));
  }

  private exempt(address: string): boolean {
    return !this.buckets.enabled || (!this.limitLoopback && isLoopbackHost(address));
  }

  /** 0 when `address` may present a token; else the seconds it must wait (Retry-After). */
  retryAfterS(address: string): number {
    return this.exempt(address) ? 0 : this.buckets.wait(address);
  }

  /** Records a wrong token from `address`. */
  failed(address: string): void {
    if (!this.exempt(address)) this.buckets.take(address);
  }
}
