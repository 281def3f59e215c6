import { isLoopbackHost } from './exposure.js';
import { TokenBuckets } from './token-buckets.js';

/**
 * Throttles token guessing per client address: each wrong token takes one from the
 * address's bucket (AUTH_FAILURE_LIMIT per minute, the same number at once); once it is
 * empty, every request of that address that needs a token is answered 429 with
 * Retry-After *without checking the token*, so a guesser learns nothing more until the
 * bucket refills — not even that a guess was right. Requests with a right token take
 * nothing; a missing token is not a guess and takes nothing either.
 *
 * The buckets are in shared memory (token-buckets.ts: fixed size, idle buckets reused), one
 * table for the primary and every fan-out thread, so a guesser gets AUTH_FAILURE_LIMIT
 * wrong tokens per minute from the whole process whichever thread its requests reach.
 * Loopback clients are exempt unless LOOPBACK_LIMITS=true: a loopback peer is a local
 * process or a local reverse proxy speaking for every client, whom one guesser would
 * lock out.
 */
export class AuthThrottle {
  private readonly buckets: TokenBuckets;

  constructor(
    perMinute: number,
    private readonly limitLoopback: boolean,
    /** This thread's id and, in a fan-out thread, the primary's table (token-buckets.ts). */
    shared: { holder: number; sab?: SharedArrayBuffer },
  ) {
    this.buckets = new TokenBuckets(
      perMinute / 60,
      Math.max(1, perMinute),
      shared.holder,
      shared.sab,
    );
  }

  /** The table, for the fan-out threads (FanoutInit.authSab). */
  get sab(): SharedArrayBuffer {
    return this.buckets.sab;
  }

  /** Primary only, after fan-out thread `t` exited (it may have died holding the lock). */
  releaseThread(t: number): void {
    this.buckets.releaseThread(t);
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
