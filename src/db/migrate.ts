import mysql from 'mysql2/promise';
import { PulseboardError } from '../errors.js';
import { connectionOptions, type DbConfig } from './db-config.js';
import { MIGRATIONS } from './schema.js';

/**
 * Creates the database if needed and applies pending migrations. Two processes starting
 * at once serialise on a named lock (GET_LOCK), and each re-reads the applied versions
 * once it holds it, so every migration runs exactly once.
 */

const LOCK_TIMEOUT_S = 30;

export interface MigrateResult {
  applied: number[];
  version: number;
}

export async function ensureDatabase(cfg: DbConfig): Promise<void> {
  const conn = await mysql.createConnection(connectionOptions(cfg, false));
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${cfg.database}\` CHARACTER SET utf8mb4`);
  } finally {
    await conn.end();
  }
}

export async function migrate(cfg: DbConfig, nowMs = Date.now()): Promise<MigrateResult> {
  await ensureDatabase(cfg);
  const conn = await mysql.createConnection(connectionOptions(cfg));
  const lock = `pulseboard_migrate_${cfg.database}`;
  try {
    const [got] = await conn.query('SELECT GET_LOCK(?, ?) AS ok', [lock, LOCK_TIMEOUT_S]);
    if ((got as { ok: number | null }[])[0]?.ok !== 1) {
      throw new PulseboardError(
        'PB_ERR_DB_MIGRATION',
        `could not take the migration lock within ${LOCK_TIMEOUT_S} s`,
      );
    }
    try {
      await conn.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
          version INT UNSIGNED NOT NULL PRIMARY KEY,
          name VARCHAR(200) NOT NULL,
          applied_ms BIGINT NOT NULL
        ) ENGINE=InnoDB`,
      );
      const [rows] = await conn.query('SELECT version FROM schema_migrations');
      const done = new Set((rows as { version: number }[]).map((r) => Number(r.version)));
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        try {
          // DDL commits implicitly; every statement is IF NOT EXISTS so a crash between
          // a statement and the version row is repaired by simply running it again.
          for (const sql of m.statements(nowMs)) await conn.query(sql);
          for (const c of m.addColumns ?? []) {
            const [have] = await conn.query(
              `SELECT 1 FROM information_schema.COLUMNS
                WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?`,
              [c.table, c.column],
            );
            if ((have as unknown[]).length === 0)
              await conn.query(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.definition}`);
          }
          for (const x of m.dropIndexes ?? []) {
            const [have] = await conn.query(
              `SELECT 1 FROM information_schema.STATISTICS
                WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?`,
              [x.table, x.index],
            );
            if ((have as unknown[]).length > 0)
              await conn.query(`ALTER TABLE ${x.table} DROP INDEX ${x.index}`);
          }
          await conn.query(
            'INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)',
            [m.version, m.name, Date.now()],
          );
        } catch (err) {
          throw new PulseboardError(
            'PB_ERR_DB_MIGRATION',
            `migration ${m.version} (${m.name}) failed: ${(err as Error).message}`,
          );
        }
        applied.push(m.version);
      }
      const version = Math.max(0, ...done, ...applied);
      return { applied, version };
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lock]);
    }
  } finally {
    await conn.end();
  }
}
