import {
  CURRENCIES,
  FAILURE_REASONS,
  FLAG_RULES,
  STATUS_NAMES,
  TX_TYPES,
} from '../shared/catalog.js';
import type { SourceNames } from '../shared/source-name.js';
import { txIdToString } from '../shared/tx-id.js';
import type { RecordViews } from '../shared/tx-ring.js';

/** A transaction as clients see it (`tx`, `alerts` and `source/<name>` topics). */
export interface TxItem {
  id: string;
  ref: string | null;
  source: string;
  account: string;
  type: string;
  /** Integer minor units of `currency`. */
  amount: number;
  currency: string;
  status: (typeof STATUS_NAMES)[number];
  failureReason: string | null;
  createdAt: number;
  completedAt: number;
  processingMs: number;
  flagged: boolean;
  flagRule: string | null;
  riskScore: number;
}

export function accountName(account: number): string {
  return `AC${String(account).padStart(8, '0')}`;
}

/** Encodes record `i` of a ring. Only sampled records get here, never the full stream. */
export function txItem(f: RecordViews, i: number, sources: SourceNames): TxItem {
  const flag = f.flagRule[i]!;
  const reason = f.failureReason[i]!;
  return {
    id: txIdToString(f.idHi[i]!, f.idLo[i]!),
    ref: null,
    source: sources.nameOf(f.source[i]!),
    account: accountName(f.account[i]!),
    type: TX_TYPES[f.type[i]!] ?? 'purchase',
    amount: f.amount[i]!,
    currency: CURRENCIES[f.currency[i]!]?.code ?? 'USD',
    status: STATUS_NAMES[f.status[i]!] ?? 'completed',
    failureReason: reason === 0 ? null : (FAILURE_REASONS[reason] ?? null),
    createdAt: f.createdAt[i]!,
    completedAt: f.completedAt[i]!,
    processingMs: f.processingMs[i]!,
    flagged: flag !== 0,
    flagRule: flag === 0 ? null : (FLAG_RULES[flag] ?? null),
    riskScore: f.riskScore[i]!,
  };
}
