/**
 * Capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff
 * and Jitter"): a random delay in [0, min(cap, base · 2^attempt)], so writers that lost the
 * database together do not reconnect in lockstep.
 */
export function backoffMs(attempt: number, baseMs = 50, capMs = 5000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(Math.random() * ceiling);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
