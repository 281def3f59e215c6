import { CURRENCIES, TX_TYPES } from '../shared/catalog.js';
import { SOURCE_NAME, SOURCE_NAME_RULE } from '../shared/source-name.js';

/**
 * Validation of one ingest item (DESIGN §5 contract). Hand-written rather than a schema
 * library: the rules are few, it allocates nothing for a valid item, and every rejection
 * names its field and a reason a producer can act on. Free-text fields are restricted to a
 * plain charset, so quotes, backslashes, NUL, emoji and SQL fragments never reach storage.
 */

export interface ValidItem {
  ref: string;
  /**
   * Any name of the documented charset: it becomes a tracked source on first use
   * (source-registry.ts), and is stored as sent.
   */
  source: string;
  account: string;
  amount: number;
  currency: number;
  type: number;
  failed: boolean;
  processingMs: number;
  createdAt: number;
}

export interface Rejection {
  index: number;
  field: string | null;
  reason: string;
}

/** Largest accepted amount in minor units: exact in a float64 and far below BIGINT. */
export const MAX_AMOUNT = 1e15;
const MAX_PROCESSING_MS = 86_400_000;
const MIN_CREATED_AT = Date.UTC(2000, 0, 1);
const FUTURE_SLACK_MS = 5 * 60_000;
const REF = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const ACCOUNT = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const ISO_CODE = /^[A-Z]{3}$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const FIELDS = new Set([
  'ref',
  'source',
  'account',
  'amount',
  'currency',
  'type',
  'status',
  'processingMs',
  'createdAt',
]);
const CURRENCY_CODES = CURRENCIES.map((c) => c.code);

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Returns the valid item, or the rejection of its first problem. */
export function validateItem(raw: unknown, index: number, nowMs: number): ValidItem | Rejection {
  const bad = (field: string | null, reason: string): Rejection => ({ index, field, reason });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return bad(null, `item must be an object, got ${kind(raw)}`);
  const o = raw as Record<string, unknown>;
  // The unknown key is the producer's text: named by what is allowed, never echoed.
  for (const k of Object.keys(o))
    if (!FIELDS.has(k)) return bad(null, `unknown field (known: ${[...FIELDS].join(', ')})`);

  const { ref, source, account, amount, currency } = o;
  if (ref === undefined) return bad('ref', 'required');
  if (typeof ref !== 'string') return bad('ref', `must be a string, got ${kind(ref)}`);
  if (!REF.test(ref))
    return bad(
      'ref',
      '1–128 characters of A–Z a–z 0–9 . _ : / - (starting with a letter or digit)',
    );

  if (source === undefined) return bad('source', 'required');
  if (typeof source !== 'string') return bad('source', `must be a string, got ${kind(source)}`);
  if (!SOURCE_NAME.test(source)) return bad('source', SOURCE_NAME_RULE);

  if (account === undefined) return bad('account', 'required');
  if (typeof account !== 'string') return bad('account', `must be a string, got ${kind(account)}`);
  if (!ACCOUNT.test(account))
    return bad(
      'account',
      '1–64 characters of A–Z a–z 0–9 . _ : - (starting with a letter or digit)',
    );

  if (amount === undefined) return bad('amount', 'required');
  if (typeof amount !== 'number')
    return bad('amount', `must be a number (integer minor units), got ${kind(amount)}`);
  if (!Number.isInteger(amount))
    return bad('amount', 'must be an integer number of minor units (no fractions)');
  if (amount <= 0) return bad('amount', 'must be greater than 0');
  if (amount > MAX_AMOUNT) return bad('amount', 'must be at most 10^15 minor units');

  if (currency === undefined) return bad('currency', 'required');
  if (typeof currency !== 'string')
    return bad('currency', `must be a string, got ${kind(currency)}`);
  if (!ISO_CODE.test(currency))
    return bad('currency', 'must be an ISO 4217 code (three capital letters)');
  const cur = CURRENCY_CODES.indexOf(currency);
  if (cur === -1)
    return bad('currency', `unsupported currency (supported: ${CURRENCY_CODES.join(', ')})`);

  let type = 0;
  if (o.type !== undefined) {
    type = typeof o.type === 'string' ? (TX_TYPES as readonly string[]).indexOf(o.type) : -1;
    if (type === -1) return bad('type', `must be one of ${TX_TYPES.join(', ')}`);
  }
  let failed = false;
  if (o.status !== undefined) {
    if (o.status !== 'completed' && o.status !== 'failed')
      return bad('status', 'must be "completed" or "failed"');
    failed = o.status === 'failed';
  }
  let processingMs = 0;
  if (o.processingMs !== undefined) {
    const p = o.processingMs;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > MAX_PROCESSING_MS) {
      return bad('processingMs', `must be an integer between 0 and ${MAX_PROCESSING_MS}`);
    }
    processingMs = p;
  }
  let createdAt = nowMs - processingMs;
  if (o.createdAt !== undefined) {
    const c = o.createdAt;
    let ms = Number.NaN;
    if (typeof c === 'number' && Number.isInteger(c)) ms = c;
    else if (typeof c === 'string' && ISO_8601.test(c)) ms = Date.parse(c);
    if (Number.isNaN(ms))
      return bad('createdAt', 'must be an ISO 8601 date-time with a zone, or integer epoch ms');
    if (ms < MIN_CREATED_AT || ms > nowMs + FUTURE_SLACK_MS)
      return bad('createdAt', 'must be after 2000-01-01 and not in the future');
    createdAt = ms;
  }
  return {
    ref,
    source,
    account,
    amount,
    currency: cur,
    type,
    failed,
    processingMs,
    createdAt,
  };
}

export function isRejection(v: ValidItem | Rejection): v is Rejection {
  return (v as Rejection).reason !== undefined;
}
