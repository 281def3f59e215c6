/**
 * Log-bucketed processing-time histogram with a fixed layout, so it can live inside the
 * shared per-second metric buckets and be merged by plain addition (across seconds, shards
 * and, later, nodes). A histogram library (hdr-histogram-js) keeps its counts in its own
 * heap objects, which cannot sit in a SharedArrayBuffer written by one thread and read by
 * another; this is the few lines we need instead.
 *
 * Bucket 0 holds values below 1 ms; bucket k ≥ 1 holds [2^((k-1)/8), 2^(k/8)) ms, eight
 * buckets per doubling, up to 2^(126/8) ms ≈ 55 s; the last bucket takes everything above.
 * A percentile is reported as the geometric middle of its bucket, so it is within
 * ±HISTOGRAM_RELATIVE_ERROR of the true value (for values ≥ 1 ms).
 */

export const HISTOGRAM_BUCKETS = 128;
const STEPS_PER_DOUBLING = 8;
export const HISTOGRAM_RELATIVE_ERROR = 2 ** (1 / (2 * STEPS_PER_DOUBLING)) - 1; // ≈ 4.4 %

const LOOKUP_LIMIT = 65_536;
/** Bucket index for every integer millisecond below LOOKUP_LIMIT: no log2 on the hot path. */
const LOOKUP = new Uint8Array(LOOKUP_LIMIT);
for (let ms = 0; ms < LOOKUP_LIMIT; ms++) LOOKUP[ms] = computeBucket(ms);

function computeBucket(ms: number): number {
  if (ms < 1) return 0;
  const k = Math.floor(Math.log2(ms) * STEPS_PER_DOUBLING) + 1;
  return k >= HISTOGRAM_BUCKETS ? HISTOGRAM_BUCKETS - 1 : k;
}

/** Bucket index for a non-negative duration in ms. */
export function histogramBucket(ms: number): number {
  return ms < LOOKUP_LIMIT ? LOOKUP[ms | 0]! : HISTOGRAM_BUCKETS - 1;
}

/** Representative value (geometric middle) of bucket k, in ms. */
export function bucketValue(k: number): number {
  if (k === 0) return 0.5;
  return 2 ** ((k - 0.5) / STEPS_PER_DOUBLING);
}

/**
 * The q-quantile (0 < q ≤ 1) of the counts stored at `counts[offset .. offset+BUCKETS)`,
 * or 0 for an empty histogram.
 */
export function histogramQuantile(
  counts: ArrayLike<number>,
  offset: number,
  total: number,
  q: number,
): number {
  if (total <= 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let k = 0; k < HISTOGRAM_BUCKETS; k++) {
    seen += counts[offset + k]!;
    if (seen >= rank) return bucketValue(k);
  }
  return bucketValue(HISTOGRAM_BUCKETS - 1);
}
