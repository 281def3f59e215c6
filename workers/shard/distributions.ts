/**
 * Pre-drawn samples for the skewed distributions the simulator needs, so the hot path
 * draws with one Math.random() and a table lookup instead of log/sqrt/cos per transaction.
 * A table of 64 Ki samples reproduces the distribution far more finely than any chart shows.
 */

const TABLE_SIZE = 1 << 16;
export const TABLE_MASK = TABLE_SIZE - 1;

/** Standard normal deviate (Box–Muller). */
function gaussian(): number {
  let u = 0;
  while (u === 0) u = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}

/**
 * Log-normal around `median`, clipped to [min, max]: the long right tail of real
 * processing times (most settle fast, a few wait on a slow issuer).
 */
export function processingDelayTable(minMs: number, medianMs: number, maxMs: number): Uint16Array {
  const table = new Uint16Array(TABLE_SIZE);
  // sigma puts the 99th percentile at max: median·e^(2.326σ) = max
  const sigma = medianMs > 0 && maxMs > medianMs ? Math.log(maxMs / medianMs) / 2.326 : 0;
  for (let i = 0; i < TABLE_SIZE; i++) {
    const v = medianMs * Math.exp(sigma * gaussian());
    table[i] = Math.round(Math.min(maxMs, Math.max(minMs, v)));
  }
  return table;
}

/** Amounts in USD minor units: log-normal, median $42, most between $5 and $500. */
export function amountTable(): Float64Array {
  const table = new Float64Array(TABLE_SIZE);
  for (let i = 0; i < TABLE_SIZE; i++) {
    table[i] = Math.max(1, Math.round(4200 * Math.exp(1.2 * gaussian())));
  }
  return table;
}

/**
 * A lookup table of 256 entries filled with indexes in proportion to `weights`: one
 * random byte picks an index with the right probability.
 */
export function weightedPicker(weights: readonly number[]): Uint8Array {
  const table = new Uint8Array(256);
  const total = weights.reduce((a, b) => a + b, 0);
  let at = 0;
  for (let i = 0; i < weights.length; i++) {
    const end = i === weights.length - 1 ? 256 : Math.round(at + (weights[i]! / total) * 256);
    table.fill(i, Math.round(at), end);
    at = end;
  }
  return table;
}
