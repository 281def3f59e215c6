import mysql from 'mysql2/promise';
import { connectionOptions, type DbConfig } from '../../src/db/db-config.js';
import { RollupAccumulator } from '../../src/db/ring-rows.js';
import { CURRENCIES, DEFAULT_SOURCES } from '../../src/shared/catalog.js';

/**
 * Fills a migrated database with the last hour of per-second rollups, written the way the
 * server's writers write them: one RollupAccumulator per minute of seconds, fed one
 * transaction at a time, its own upsert SQL (rollup_seconds + rollup_latency) as writer 0.
 * Running the simulator with persistence for an hour would be the same rows an hour later;
 * the transactions table itself is not needed, since the restart reload and the 1 h window
 * read only the rollups (src/persistence/persistence.ts, src/db/rollup-read.ts).
 *
 * The traffic has the simulator's rough shape at `tps`: a random walk around the rate with
 * a slow wave, ~3 % failures, ~1 % flagged, log-normal-ish processing times, amounts from
 * 1 to 500 units of each currency, sources and currencies by weight.
 */

const MINUTE = 60;

export async function writeHourOfRollups(
  db: DbConfig,
  tps: number,
  nowMs = Date.now(),
): Promise<number> {
  const conn = await mysql.createConnection({ ...connectionOptions(db), multipleStatements: true });
  const sources = [...DEFAULT_SOURCES];
  const cumulative: number[] = [];
  let sum = 0;
  for (const c of CURRENCIES) {
    sum += c.weight;
    cumulative.push(sum);
  }
  const currency = () => {
    const r = Math.random() * sum;
    const i = cumulative.findIndex((w) => r < w);
    return i === -1 ? 0 : i;
  };
  const end = Math.floor(nowMs / 1000);
  const start = end - 3600;
  let rate = tps;
  let items = 0;
  try {
    for (let s0 = start; s0 < end; s0 += MINUTE) {
      const acc = new RollupAccumulator();
      for (let s = s0; s < Math.min(end, s0 + MINUTE); s++) {
        // Pulled back towards `tps`, so an hour of steps does not wander off.
        rate = Math.max(
          tps / 4,
          rate +
            (tps - rate) * 0.05 +
            (Math.random() - 0.5) * tps * 0.05 +
            Math.sin(s / 300) * tps * 0.01,
        );
        const n = Math.round(rate);
        for (let k = 0; k < n; k++) {
          const ms = Math.round(
            15 * Math.exp(Math.random() * 2 + Math.random() * Math.random() * 2),
          );
          acc.add(
            s,
            Math.floor(Math.random() * sources.length),
            currency(),
            Math.random() < 0.03,
            Math.random() < 0.01,
            100 + Math.floor(Math.random() * 50_000),
            ms,
          );
        }
        items += n;
      }
      await conn.query(acc.sql(0, sources));
    }
  } finally {
    await conn.end();
  }
  return items;
}
