import { createHash } from 'node:crypto';
import { PulseboardError } from '../errors.js';
import { MAX_AMOUNT } from '../ingest/validate-item.js';
import { SOURCE_NAME } from '../shared/source-name.js';
import { firstIdAt } from './tx-id-time.js';

/**
 * GET /api/transactions: the query parameters, checked, and the SQL of one page.
 *
 *   ?source=ach&status=failed&flagged=true&minAmount=100&maxAmount=5000
 *    &from=<epoch ms | ISO 8601>&to=…&limit=100&cursor=<opaque>
 *
 * Newest first, keyset-paged on the primary key: ids are time-ordered (tx-id.ts), so the
 * time range is an id range and every page is a backwards range scan of the PK from the
 * cursor, never an OFFSET. The time range is the server-assigned id time (completion for
 * simulated transactions, the same second the rollups count them in; arrival for ingested
 * ones).
 *
 * Bounded cost: the PK bounds the scan; the other filters (source, status, flagged, amount)
 * are checked on the rows scanned, and one page reads at most SCAN_LIMIT rows. When the scan
 * stops there before the page is full, the page comes back short with a cursor that resumes
 * where the scan stopped (`scanLimited: true`), so a rare filter costs more round trips,
 * never an unbounded query. (No secondary index: see schema.ts migration 2.)
 *
 * The cursor is base64url of `v1.<last id>.<filter hash>`: opaque to clients, and a cursor
 * replayed with other filters is a 400 instead of a silently wrong page.
 */

export const SCAN_LIMIT = 20_000;
const DEFAULT_LIMIT = 100;
const MAX_MS = 8_640_000_000_000;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export interface TxQuery {
  source?: string;
  status?: 'completed' | 'failed';
  flagged?: boolean;
  minAmount?: number;
  maxAmount?: number;
  fromMs?: number;
  toMs?: number;
  limit: number;
  /** Exclusive upper id bound from the cursor. */
  beforeId?: string;
}

function bad(field: string, message: string): PulseboardError {
  return new PulseboardError('PB_ERR_HTTP_BAD_QUERY', `${field}: ${message}`, { field });
}

const KNOWN = new Set([
  'source',
  'status',
  'flagged',
  'minAmount',
  'maxAmount',
  'from',
  'to',
  'limit',
  'cursor',
]);

function amount(raw: string, field: string): number {
  if (!/^\d{1,16}$/.test(raw)) throw bad(field, 'must be a whole number of minor units ≥ 0');
  const n = Number(raw);
  if (n > MAX_AMOUNT) throw bad(field, 'must be at most 10^15');
  return n;
}

function time(raw: string, field: string): number {
  let ms = Number.NaN;
  if (/^\d{1,16}$/.test(raw)) ms = Number(raw);
  else if (ISO_8601.test(raw)) ms = Date.parse(raw);
  if (Number.isNaN(ms) || ms > MAX_MS) throw bad(field, 'must be epoch ms or an ISO 8601 date');
  return ms;
}

/** Hash of the filters a cursor is valid for (not limit, not cursor). */
function filterHash(q: TxQuery): string {
  const key = JSON.stringify([
    q.source,
    q.status,
    q.flagged,
    q.minAmount,
    q.maxAmount,
    q.fromMs,
    q.toMs,
  ]);
  return createHash('sha1').update(key).digest('base64url').slice(0, 10);
}

export function encodeCursor(q: TxQuery, lastId: string): string {
  return Buffer.from(`v1.${lastId}.${filterHash(q)}`).toString('base64url');
}

/** Parses the query string parameters (`get(name)` → raw value or undefined). */
export function parseTxQuery(params: URLSearchParams, pageMax: number): TxQuery {
  for (const k of params.keys())
    if (!KNOWN.has(k))
      // The unknown name is the client's text: never echoed in the answer.
      throw new PulseboardError(
        'PB_ERR_HTTP_BAD_QUERY',
        `unknown query parameter (known: ${[...KNOWN].join(', ')})`,
      );
  const get = (k: string) => {
    const v = params.get(k);
    return v === null || v === '' ? undefined : v;
  };
  const q: TxQuery = { limit: DEFAULT_LIMIT };
  const source = get('source');
  if (source !== undefined) {
    if (!SOURCE_NAME.test(source)) throw bad('source', 'not a source name');
    q.source = source;
  }
  const status = get('status');
  if (status !== undefined) {
    if (status !== 'completed' && status !== 'failed')
      throw bad('status', 'must be completed or failed');
    q.status = status;
  }
  const flagged = get('flagged');
  if (flagged !== undefined) {
    if (flagged !== 'true' && flagged !== 'false') throw bad('flagged', 'must be true or false');
    q.flagged = flagged === 'true';
  }
  const min = get('minAmount');
  if (min !== undefined) q.minAmount = amount(min, 'minAmount');
  const max = get('maxAmount');
  if (max !== undefined) q.maxAmount = amount(max, 'maxAmount');
  if (q.minAmount !== undefined && q.maxAmount !== undefined && q.minAmount > q.maxAmount)
    throw bad('minAmount', 'must not be above maxAmount');
  const from = get('from');
  if (from !== undefined) q.fromMs = time(from, 'from');
  const to = get('to');
  if (to !== undefined) q.toMs = time(to, 'to');
  if (q.fromMs !== undefined && q.toMs !== undefined && q.fromMs > q.toMs)
    throw bad('from', 'must not be after to');
  const limit = get('limit');
  if (limit !== undefined) {
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1 || Number(limit) > pageMax)
      throw bad('limit', `must be a whole number between 1 and ${pageMax} (TX_PAGE_MAX)`);
    q.limit = Number(limit);
  }
  const cursor = get('cursor');
  if (cursor !== undefined) {
    const parts = Buffer.from(cursor, 'base64url').toString('latin1').split('.');
    if (parts.length !== 3 || parts[0] !== 'v1' || !/^\d{1,20}$/.test(parts[1]!))
      throw bad('cursor', 'not a cursor this server issued (use `next` from a previous page)');
    if (parts[2] !== filterHash(q))
      throw bad('cursor', 'was issued for other filters; repeat the same filters with a cursor');
    q.beforeId = parts[1]!;
  }
  return q;
}

export interface PageSql {
  /** The page: matching rows, newest first, at most limit + 1 (one more says "more"). */
  page: { sql: string; values: unknown[] };
  /** Where a scan of SCAN_LIMIT rows stops (only when some filter is not on the key). */
  scanEnd: { sql: string; values: unknown[] } | null;
}

export const TX_SELECT =
  'id, ref, source, account, type, amount, currency, status, failure_reason, created_ms, completed_ms, processing_ms, flag_rule, risk_score';

export function pageSql(q: TxQuery): PageSql {
  // The key range: id < cursor, and the time range as ids.
  const key: string[] = [];
  const keyValues: unknown[] = [];
  if (q.beforeId !== undefined) {
    key.push('id < ?');
    keyValues.push(q.beforeId);
  }
  if (q.fromMs !== undefined) {
    key.push('id >= ?');
    keyValues.push(firstIdAt(q.fromMs).toString());
  }
  if (q.toMs !== undefined) {
    key.push('id < ?');
    keyValues.push(firstIdAt(q.toMs + 1).toString());
  }
  const rest: string[] = [];
  const restValues: unknown[] = [];
  if (q.source !== undefined) {
    rest.push('source = ?');
    restValues.push(q.source);
  }
  if (q.status !== undefined) {
    rest.push('status = ?');
    restValues.push(q.status);
  }
  if (q.flagged !== undefined) rest.push(q.flagged ? 'flag_rule IS NOT NULL' : 'flag_rule IS NULL');
  if (q.minAmount !== undefined) {
    rest.push('amount >= ?');
    restValues.push(q.minAmount);
  }
  if (q.maxAmount !== undefined) {
    rest.push('amount <= ?');
    restValues.push(q.maxAmount);
  }
  const where = (c: string[]) => (c.length > 0 ? `WHERE ${c.join(' AND ')}` : '');
  if (rest.length === 0) {
    return {
      page: {
        sql: `SELECT ${TX_SELECT} FROM transactions ${where(key)} ORDER BY id DESC LIMIT ${q.limit + 1}`,
        values: keyValues,
      },
      scanEnd: null,
    };
  }
  // The derived table bounds the rows read; the outer filter picks the page from them.
  return {
    page: {
      sql: `SELECT ${TX_SELECT} FROM (SELECT ${TX_SELECT} FROM transactions ${where(key)} ORDER BY id DESC LIMIT ${SCAN_LIMIT}) scanned ${where(rest)} ORDER BY id DESC LIMIT ${q.limit + 1}`,
      values: [...keyValues, ...restValues],
    },
    scanEnd: {
      sql: `SELECT id FROM transactions ${where(key)} ORDER BY id DESC LIMIT 1 OFFSET ${SCAN_LIMIT - 1}`,
      values: keyValues,
    },
  };
}

/** A row as the API returns it (same names as the live feed's items). */
export function txJson(r: unknown[]): Record<string, unknown> {
  return {
    id: String(r[0]),
    ref: r[1] ?? null,
    source: r[2],
    account: r[3],
    type: r[4],
    amount: Number(r[5]),
    currency: r[6],
    status: r[7],
    failureReason: r[8] ?? null,
    createdAt: Number(r[9]),
    completedAt: Number(r[10]),
    processingMs: Number(r[11]),
    flagged: r[12] !== null,
    flagRule: r[12] ?? null,
    riskScore: Number(r[13]),
  };
}
