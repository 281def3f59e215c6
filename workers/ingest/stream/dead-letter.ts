import type { Rejection } from '../../../src/ingest/validate-item.js';

/**
 * Which answers of the ingest path make a stream message a dead letter, and the headers
 * that say why. The payload is the original message's, unchanged, so it can be fixed and
 * published again (a retry of its valid items is answered `duplicate`, nothing doubles).
 *
 *   Pulseboard-Error-Code   PB_ERR_* of the whole message (bad JSON, too many items,
 *                           refused by the database) or PB_ERR_INGEST_INVALID for items
 *   Pulseboard-Error        the message in words
 *   Pulseboard-Rejected     JSON [{index, field, reason}] of the invalid items (the first
 *                           MAX_REJECTED_IN_HEADER; the payload holds them all)
 *   Pulseboard-Accepted     items of the same message that were stored
 */

export interface DeadLetter {
  headers: Record<string, string>;
}

const MAX_REJECTED_IN_HEADER = 50;

interface Answer {
  error?: { code?: string; message?: string };
  accepted?: number;
  rejected?: Rejection[];
}

/** undefined: the message is done (acknowledge it); else its dead letter. */
export function deadLetterOf(status: number, body: unknown): DeadLetter | undefined {
  const a = body as Answer;
  const rejected = a.rejected ?? [];
  if (status === 200 && rejected.length === 0) return undefined;
  const headers: Record<string, string> = {};
  if (status === 200) {
    headers['Pulseboard-Error-Code'] = 'PB_ERR_INGEST_INVALID';
    headers['Pulseboard-Error'] =
      `${rejected.length} item(s) of this message are invalid and were not stored; the other ${a.accepted ?? 0} were`;
  } else {
    headers['Pulseboard-Error-Code'] = a.error?.code ?? `HTTP_${status}`;
    headers['Pulseboard-Error'] = a.error?.message ?? `answered ${status}`;
  }
  if (rejected.length > 0)
    headers['Pulseboard-Rejected'] = JSON.stringify(rejected.slice(0, MAX_REJECTED_IN_HEADER));
  headers['Pulseboard-Accepted'] = String(a.accepted ?? 0);
  // Header values are one line.
  for (const k of Object.keys(headers)) headers[k] = headers[k]!.replace(/[\r\n]+/g, ' ');
  return { headers };
}
