import type mysql from 'mysql2/promise';
import { RollupAccumulator, TX_COLUMNS } from '../../src/db/ring-rows.js';
import type { ValidItem } from '../../src/ingest/validate-item.js';
import { CURRENCIES, FLAG_RULES, TX_TYPES } from '../../src/shared/catalog.js';

/**
 * One group commit: the items of many requests in one transaction.
 *
 *   1. INSERT the (source, ref) keys with our new ids, ON DUPLICATE KEY UPDATE id = id; if
 *      fewer rows were inserted than keys sent, read them back FOR UPDATE: a key that comes
 *      back with another id is a retry of something already stored (the producer gets the
 *      original id, nothing is written).
 *   2. INSERT the new transactions and their rollup cells; COMMIT.
 *
 * Retry after a lost reply: the keys then come back with *our* ids; the rows that already
 * exist are found (FOR UPDATE) and skipped, so neither rows nor rollups are doubled.
 * ref and account passed the validator's charset, so quoting them needs no escaping.
 *
 * Several groups may be in flight at once (group-committer.ts): a key another running group
 * inserted makes this INSERT wait for that group's end; after its COMMIT the key is a
 * duplicate here (the read-back, a locking read, sees the committed id), after its rollback
 * it is ours. Either way every answer for one key carries one id.
 */

export interface PendingItem {
  item: ValidItem;
  id: string;
  flagRule: number;
  receivedAt: number;
  /**
   * When it finished, the second it counts in (rollups, live windows): createdAt +
   * processingMs, but never later than receivedAt.
   */
  completedAt: number;
  /**
   * Its second was still open in the live windows when it arrived (else it is a late
   * arrival: stored and in history, never in the live windows).
   */
  live: boolean;
  /** Set by commitGroup: the stored id (ours, or the original one for a duplicate). */
  storedId?: string;
  duplicate?: boolean;
}

const TYPE_SQL = TX_TYPES.map((t) => `'${t}'`);
const CURRENCY_SQL = CURRENCIES.map((c) => `'${c.code}'`);
const RULE_SQL = FLAG_RULES.map((r) => (r === '' ? 'NULL' : `'${r}'`));

export async function commitGroup(
  conn: mysql.Connection,
  group: PendingItem[],
  attempt: number,
  /** The `writer` column of this thread's rollup rows (src/db/rollup-writers.ts). */
  rollupWriter: number,
): Promise<PendingItem[]> {
  // The name passed the validator's charset (SOURCE_NAME): no quote can be in it.
  const src = (p: PendingItem) => `'${p.item.source}'`;
  // Keys in one order (source, ref) in every group: two groups in flight that share keys
  // lock them in the same order, so the later waits for the earlier instead of deadlocking.
  const refRows = [...group]
    .sort(byKey)
    .map((p) => `(${src(p)},'${p.item.ref}',${p.id},${p.receivedAt})`);
  const [res] = await conn.query(
    `START TRANSACTION;
     INSERT INTO ingest_refs (source, ref, id, created_ms) VALUES ${refRows.join(',')} ON DUPLICATE KEY UPDATE id = id`,
  );
  // One affected row per key inserted, none for a key already there (the connection runs
  // without CLIENT_FOUND_ROWS): when every key was new, every id is ours and the read-back
  // (a locking read of the whole group) is skipped. That is the common case.
  const inserted = ((res as unknown[])[1] as { affectedRows: number }).affectedRows;
  const stored = new Map<string, string>();
  if (inserted !== group.length) {
    const [found] = await conn.query(
      `SELECT source, ref, id FROM ingest_refs WHERE (source, ref) IN (${group.map((p) => `(${src(p)},'${p.item.ref}')`).join(',')})`,
    );
    for (const r of found as { source: string; ref: string; id: string }[])
      stored.set(`${r.source}\u0000${r.ref}`, String(r.id));
  }
  const fresh: PendingItem[] = [];
  for (const p of group) {
    const id =
      stored.size === 0 ? p.id : (stored.get(`${p.item.source}\u0000${p.item.ref}`) ?? p.id);
    p.storedId = id;
    p.duplicate = id !== p.id;
    if (!p.duplicate) fresh.push(p);
  }
  let toInsert = fresh;
  if (attempt > 0 && fresh.length > 0) {
    const [found] = await conn.query(
      `SELECT id FROM transactions WHERE id IN (${fresh.map((p) => p.id).join(',')})`,
    );
    const there = new Set((found as { id: string }[]).map((r) => String(r.id)));
    toInsert = fresh.filter((p) => !there.has(p.id));
  }
  let sql = '';
  if (toInsert.length > 0) {
    const rollup = new RollupAccumulator();
    // Rollup cells key on the source's real name (never `other`): numbered per group here,
    // in name order, so the cells (sorted by second, number, currency) are upserted in the
    // same order by every group: overlapping groups that share a cell do not deadlock on it.
    const names = [...new Set(toInsert.map((p) => p.item.source))].sort();
    const numbers = new Map<string, number>();
    for (let i = 0; i < names.length; i++) numbers.set(names[i]!, i);
    const numberOf = (name: string) => numbers.get(name)!;
    const rows = toInsert.map((p) => {
      const it = p.item;
      rollup.add(
        Math.floor(p.completedAt / 1000),
        numberOf(it.source),
        it.currency,
        it.failed,
        p.flagRule !== 0,
        it.amount,
        it.processingMs,
      );
      return `(${p.id},'${it.ref}',${src(p)},'${it.account}',${TYPE_SQL[it.type]},${it.amount},${CURRENCY_SQL[it.currency]},${it.failed ? "'failed'" : "'completed'"},NULL,${it.createdAt},${p.completedAt},${it.processingMs},${RULE_SQL[p.flagRule]},0)`;
    });
    sql += `INSERT INTO transactions (${TX_COLUMNS}) VALUES ${rows.join(',')} ON DUPLICATE KEY UPDATE id = id;`;
    sql += rollup.sql(rollupWriter, names);
  }
  await conn.query(`${sql}COMMIT`);
  // Metrics count what is new to the store, including rows a lost-reply attempt committed.
  return fresh;
}

function byKey(a: PendingItem, b: PendingItem): number {
  const s = a.item.source < b.item.source ? -1 : a.item.source > b.item.source ? 1 : 0;
  if (s !== 0) return s;
  return a.item.ref < b.item.ref ? -1 : a.item.ref > b.item.ref ? 1 : 0;
}
