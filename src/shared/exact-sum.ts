/**
 * An exact sum of non-negative integer amounts (minor units), cheap on the hot path.
 *
 * A float64 adds integers exactly only while the total stays at or below 2^53 − 1
 * (Number.MAX_SAFE_INTEGER ≈ 9.0·10^15), and ten ingested amounts of 10^15 already pass
 * it. So the sum is kept in two parts: `small`, a float64 that never passes 2^53 − 1, and
 * `carried`, a BigInt that takes `small` over whenever the next addend would push it past.
 * Every amount we accept is ≤ 10^15 < 2^53 (validate-item.ts; the simulator's are far
 * smaller), so an addition is one float64 add and one compare, and the BigInt is touched
 * once per ~9 maximal amounts at worst — never with ordinary traffic.
 */

const MAX = Number.MAX_SAFE_INTEGER;

export class ExactSum {
  private small = 0;
  private carried = 0n;

  /** Adds `n`, which must be an integer in [0, 2^53 − 1] (throws RangeError otherwise). */
  add(n: number): void {
    if (!(n >= 0 && n <= MAX && Number.isInteger(n)))
      throw new RangeError(`amount ${n} is not an integer in [0, 2^53 - 1]`);
    if (this.small > MAX - n) {
      this.carried += BigInt(this.small);
      this.small = 0;
    }
    this.small += n;
  }

  toBigInt(): bigint {
    return this.carried + BigInt(this.small);
  }

  /** The exact decimal digits (SQL literal, JSON string). */
  toString(): string {
    return this.carried === 0n
      ? String(this.small)
      : (this.carried + BigInt(this.small)).toString();
  }
}
