import { isRejection, type Rejection, type ValidItem, validateItem } from './validate-item.js';

/**
 * The common path of every door (HTTP, the JetStream stream): raw items, as the door decoded
 * them, become valid items and rejections. Each item is validated on its own
 * (validate-item.ts); a ref that appears twice in one batch is accepted once.
 */

export interface RawItem {
  /** Position in the request (array index, or the n-th non-blank NDJSON line, 0-based). */
  index: number;
  value: unknown;
}

export interface ValidatedBatch {
  items: { index: number; item: ValidItem }[];
  rejected: Rejection[];
  total: number;
}

export function validateBatch(raws: readonly RawItem[], nowMs: number): ValidatedBatch {
  const items: ValidatedBatch['items'] = [];
  const rejected: Rejection[] = [];
  // A single item (the common producer) needs no duplicate check.
  const seen = raws.length > 1 ? new Map<string, number>() : null;
  for (const r of raws) {
    const v = validateItem(r.value, r.index, nowMs);
    if (isRejection(v)) {
      rejected.push(v);
      continue;
    }
    if (seen !== null) {
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
    }
    items.push({ index: r.index, item: v });
  }
  return { items, rejected, total: raws.length };
}
