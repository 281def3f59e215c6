import { jsonSyntaxWhere, PulseboardError } from '../errors.js';
import { isRejection, type Rejection, type ValidItem, validateItem } from './validate-item.js';

/**
 * Turns a POST /api/transactions body into valid items and rejections. JSON bodies are one
 * object or an array; NDJSON bodies are one object per line (blank lines ignored), and a
 * line that does not parse, e.g. a truncated last line, is rejected on its own. A ref that
 * appears twice in one body is accepted once.
 */

export interface ParsedBody {
  items: { index: number; item: ValidItem }[];
  rejected: Rejection[];
  total: number;
}

export function parseIngestBody(
  body: Buffer,
  ndjson: boolean,
  maxItems: number,
  nowMs: number,
): ParsedBody {
  const text = body.toString('utf8');
  if (text.trim() === '') throw new PulseboardError('PB_ERR_INGEST_EMPTY', 'request body is empty');
  const raws: { index: number; value: unknown; error?: string }[] = [];
  if (ndjson) {
    const lines = text.split('\n');
    let index = 0;
    for (const line of lines) {
      if (line.trim() === '') continue;
      if (index >= maxItems) throw tooMany(maxItems);
      try {
        raws.push({ index, value: JSON.parse(line) });
      } catch (err) {
        raws.push({
          index,
          value: undefined,
          error: `line is not valid JSON${jsonSyntaxWhere(err)}`,
        });
      }
      index++;
    }
  } else {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new PulseboardError(
        'PB_ERR_HTTP_BAD_JSON',
        `request body is not valid JSON${jsonSyntaxWhere(err)}`,
      );
    }
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0)
      throw new PulseboardError('PB_ERR_INGEST_EMPTY', 'request body is an empty array');
    if (list.length > maxItems) throw tooMany(maxItems);
    for (const [index, value] of list.entries()) raws.push({ index, value });
  }
  const items: ParsedBody['items'] = [];
  const rejected: Rejection[] = [];
  const seen = new Map<string, number>();
  for (const r of raws) {
    if (r.error !== undefined) {
      rejected.push({ index: r.index, field: null, reason: r.error });
      continue;
    }
    const v = validateItem(r.value, r.index, nowMs);
    if (isRejection(v)) {
      rejected.push(v);
      continue;
    }
    const key = `${v.source}\u0000${v.ref}`;
    const first = seen.get(key);
    if (first !== undefined) {
      rejected.push({
        index: r.index,
        field: 'ref',
        reason: `duplicate of item ${first} in this body`,
      });
      continue;
    }
    seen.set(key, r.index);
    items.push({ index: r.index, item: v });
  }
  return { items, rejected, total: raws.length };
}

function tooMany(max: number): PulseboardError {
  return new PulseboardError(
    'PB_ERR_INGEST_TOO_MANY',
    `at most ${max} transactions per request (INGEST_MAX_ITEMS)`,
  );
}
