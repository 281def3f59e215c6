import type mysql from 'mysql2/promise';
import { RollupAccumulator, TX_COLUMNS } from '../../src/db/ring-rows.js';
import type { ValidItem } from '../../src/ingest/validate-item.js';
import { CURRENCIES, FLAG_RULES, TX_TYPES } from '../../src/shared/catalog.js';
import { INGEST_ROLLUP_WRITER } from '../../src/shared/ingest-protocol.js';

/**
 * One group commit: the items of many requests in one transaction.
 *
 *   1. INSERT the (source, ref) keys with our new ids, ON DUPLICATE KEY UPDATE id = id,
 *      then read them back FOR UPDATE: a key that comes back with another id is a retry of
 *      something already stored (the producer gets the original id, nothing is written).
 *   2. INSERT the new transactions and their rollup cells; COMMIT.
 *
 * Retry after a lost reply: the keys then come back with *our* ids; the rows that already
 * exist are found (FOR UPDATE) and skipped, so neither rows nor rollups are doubled.
 * ref and account passed the validator's charset, so quoting them needs no escaping.
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
): Promise<PendingItem[]> {
  // The name passed the validator's charset (SOURCE_NAME): no quote can be in it.
  const src = (p: PendingItem) => `'${p.item.source}'`;
  const keys = group.map((p) => `(${src(p)},'${p.item.ref}')`);
  const refRows = group.map((p) => `(${src(p)},'${p.item.ref}',${p.id},${p.receivedAt})`);
  const [res] = await conn.query(
    `START TRANSACTION;
     INSERT INTO ingest_refs (source, ref, id, created_ms) VALUES ${refRows.join(',')} ON DUPLICATE KEY UPDATE id = id;
     SELECT source, ref, id FROM ingest_refs WHERE (source, ref) IN (${keys.join(',')}) FOR UPDATE`,
  );
  const stored = new Map<string, string>();
  for (const r of (res as unknown[])[2] as { source: string; ref: string; id: string }[]) {
    stored.set(`${r.source}\u0000${r.ref}`, String(r.id));
  }
  const fresh: PendingItem[] = [];
  for (const p of group) {
    const id = stored.get(`${p.item.source}\u0000${p.item.ref}`) ?? p.id;
    p.storedId = id;
    p.duplicate = id !== p.id;
    if (!p.duplicate) fresh.push(p);
  }
  let toInsert = fresh;
  if (attempt > 0 && fresh.length > 0) {
    const [found] = await conn.query(
      `SELECT id FROM transactions WHERE id IN (${fresh.map((p) => p.id).join(',')}) FOR UPDATE`,
    );
    const there = new Set((found as { id: string }[]).map((r) => String(r.id)));
    toInsert = fresh.filter((p) => !there.has(p.id));
  }
  let sql = '';
  if (toInsert.length > 0) {
    const rollup = new RollupAccumulator();
    // Rollup cells key on the source's real name (never `other`): numbered per group here.
    const names: string[] = [];
    const numbers = new Map<string, number>();
    const numberOf = (name: string) => {
      let n = numbers.get(name);
      if (n === undefined) {
        n = names.push(name) - 1;
        numbers.set(name, n);
      }
      return n;
    };
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
    sql += rollup.sql(INGEST_ROLLUP_WRITER, names);
  }
  await conn.query(`${sql}COMMIT`);
  // Metrics count what is new to the store, including rows a lost-reply attempt committed.
  return fresh;
}
