/**
 * When to restart a failed thread, and when to stop trying. A thread that fails now and
 * then is restarted after a short, growing delay (capped exponential backoff: the cause may
 * be transient, and a tight crash loop would burn the cores the other threads need). A
 * thread that keeps failing — more than MAX_FAILURES in WINDOW_MS — will not get better by
 * restarting it again: the process gives up and exits non-zero, so the service manager
 * (systemd, Kubernetes) restarts the whole process and somebody gets paged, instead of a
 * server that flaps forever while looking alive.
 */

export const RESTART_BASE_MS = 500;
export const RESTART_CAP_MS = 5000;
export const MAX_FAILURES = 5;
export const WINDOW_MS = 60_000;

export type RestartDecision =
  | { giveUp: false; delayMs: number; attempt: number }
  | { giveUp: true; failures: number };

export class RestartPolicy {
  private failures: number[] = [];

  /** Records a failure at `now` and says what to do about it. */
  next(now: number): RestartDecision {
    this.failures = this.failures.filter((t) => now - t < WINDOW_MS);
    this.failures.push(now);
    const n = this.failures.length;
    if (n > MAX_FAILURES) return { giveUp: true, failures: n };
    return {
      giveUp: false,
      delayMs: Math.min(RESTART_CAP_MS, RESTART_BASE_MS * 2 ** (n - 1)),
      attempt: n,
    };
  }
}
