/**
 * Fixed vocabularies shared by the primary and the workers. Records carry small integer
 * indexes into these tables (struct-of-arrays, fixed width), never strings: at 1M tx/s a
 * string per field is allocation we do not pay. Names appear only when the primary
 * encodes a sampled record for a client.
 */

/**
 * Upper bound on the simulator's sources (SOURCES): C_SOURCE_MASK (shard-protocol.ts) has a
 * bit per source. Producers' sources are not in this list (source-registry.ts).
 */
export const MAX_SOURCES = 32;

export const DEFAULT_SOURCES = ['card-pos', 'ach', 'wire', 'mobile', 'atm', 'p2p'] as const;

export interface CurrencyInfo {
  readonly code: string;
  /** Minor units per major unit exponent (USD 2 → cents, JPY 0). */
  readonly exponent: number;
  /** Fixed demo rate: USD minor units per one minor unit of this currency. */
  readonly usdPerMinor: number;
  /** Share of simulated traffic in this currency. */
  readonly weight: number;
}

/** Upper bound on currencies: the metric buckets reserve this many volume slots. */
export const MAX_CURRENCIES = 16;

export const CURRENCIES: readonly CurrencyInfo[] = [
  { code: 'USD', exponent: 2, usdPerMinor: 1, weight: 0.55 },
  { code: 'EUR', exponent: 2, usdPerMinor: 1.08, weight: 0.2 },
  { code: 'GBP', exponent: 2, usdPerMinor: 1.27, weight: 0.1 },
  { code: 'JPY', exponent: 0, usdPerMinor: 0.67, weight: 0.05 },
  { code: 'CAD', exponent: 2, usdPerMinor: 0.73, weight: 0.04 },
  { code: 'AUD', exponent: 2, usdPerMinor: 0.66, weight: 0.03 },
  { code: 'CHF', exponent: 2, usdPerMinor: 1.13, weight: 0.02 },
  { code: 'MXN', exponent: 2, usdPerMinor: 0.058, weight: 0.01 },
];

export const TX_TYPES = [
  'purchase',
  'refund',
  'transfer',
  'withdrawal',
  'deposit',
  'payment',
] as const;

export const STATUS = { pending: 0, processing: 1, completed: 2, failed: 3 } as const;
export const STATUS_NAMES = ['pending', 'processing', 'completed', 'failed'] as const;

export const FAILURE_REASONS = [
  '',
  'insufficient_funds',
  'card_declined',
  'issuer_timeout',
  'limit_exceeded',
  'network_error',
] as const;

/** Fraud rules; index 0 means "not flagged". */
export const FLAG_RULES = ['', 'amount_over_threshold', 'velocity', 'unusual_pairing'] as const;
export const FLAG_RULE = { none: 0, amount: 1, velocity: 2, pairing: 3 } as const;

export function currencyIndex(code: string): number {
  return CURRENCIES.findIndex((c) => c.code === code);
}
