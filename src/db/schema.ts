import { initialPartitionClause } from './partitions.js';

/**
 * Versioned schema. Each migration runs once, in order, recorded in `schema_migrations`;
 * migrate.ts serialises concurrent starts with GET_LOCK. Append new versions, never edit
 * applied ones. SQL is the subset MySQL 8 and MariaDB 10.6+ both accept.
 *
 * Times are epoch milliseconds in BIGINT columns: timezone-free, exact, and cheap to write
 * from the hot path (no date formatting per row).
 */

export interface Migration {
  version: number;
  name: string;
  statements(nowMs: number): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'transactions, per-second rollups, ingest references',
    statements: (nowMs) => [
      // PK = the time-ordered id: inserts append at the right edge of the B-tree, and a
      // re-sent batch hits the PK (ON DUPLICATE KEY UPDATE id = id) instead of duplicating.
      // by_source serves "latest of a source" with keyset paging on id; other filters
      // (status, flagged, amount) are applied within an id range, which the PK bounds.
      `CREATE TABLE IF NOT EXISTS transactions (
        id BIGINT UNSIGNED NOT NULL,
        ref VARCHAR(128) NULL,
        source VARCHAR(32) NOT NULL,
        account VARCHAR(64) NOT NULL,
        type VARCHAR(16) NOT NULL,
        amount BIGINT NOT NULL,
        currency CHAR(3) NOT NULL,
        status ENUM('completed', 'failed') NOT NULL,
        failure_reason VARCHAR(32) NULL,
        created_ms BIGINT NOT NULL,
        completed_ms BIGINT NOT NULL,
        processing_ms INT UNSIGNED NOT NULL,
        flag_rule VARCHAR(32) NULL,
        risk_score TINYINT UNSIGNED NOT NULL,
        PRIMARY KEY (id),
        KEY by_source (source, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ${initialPartitionClause(nowMs)}`,
      // One row per (second, source, currency, writer): each writer thread owns its rows,
      // so concurrent writers never wait on each other's row locks. Readers SUM over writer.
      `CREATE TABLE IF NOT EXISTS rollup_seconds (
        second INT UNSIGNED NOT NULL,
        source VARCHAR(32) NOT NULL,
        currency CHAR(3) NOT NULL,
        writer SMALLINT UNSIGNED NOT NULL,
        count INT UNSIGNED NOT NULL,
        failed INT UNSIGNED NOT NULL,
        flagged INT UNSIGNED NOT NULL,
        amount BIGINT NOT NULL,
        processing_ms BIGINT UNSIGNED NOT NULL,
        PRIMARY KEY (second, source, currency, writer)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // Idempotency of HTTP ingest on (source, ref). A unique key on a partitioned table
      // must include the partitioning column, so the pair lives in its own small table.
      `CREATE TABLE IF NOT EXISTS ingest_refs (
        source VARCHAR(32) NOT NULL,
        ref VARCHAR(128) NOT NULL,
        id BIGINT UNSIGNED NOT NULL,
        created_ms BIGINT NOT NULL,
        PRIMARY KEY (source, ref),
        KEY by_created (created_ms)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
