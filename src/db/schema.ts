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
  /**
   * Columns to add to existing tables, each only when information_schema says it is
   * missing: MySQL 8 has no `ADD COLUMN IF NOT EXISTS`, and a re-run must be harmless.
   */
  addColumns?: readonly { table: string; column: string; definition: string }[];
  /** Indexes to drop, each only when it exists (MySQL 8 has no `DROP INDEX IF EXISTS`). */
  dropIndexes?: readonly { table: string; index: string }[];
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
  {
    version: 2,
    name: 'rollups carry volume and the latency histogram (restart reload, history)',
    // The in-memory windows need, per second, what p50/p95/p99 and the volume panels are
    // computed from. Percentiles do not merge, so the rollups store the same thing the
    // shared buckets hold: the 128-bucket log histogram (latency-histogram.ts), sparse, one
    // row per non-empty bucket. Summed over writers and seconds it is exactly the
    // in-memory histogram, so windows reloaded after a restart report the same percentiles.
    addColumns: [
      {
        table: 'rollup_seconds',
        // Amount of the completed (not failed) transactions: "volume" is money that moved.
        column: 'volume',
        definition: 'BIGINT NOT NULL DEFAULT 0',
      },
    ],
    // by_source cost the server ~35 % more CPU per inserted row (measured with LOAD DATA:
    // 4.8 → 3.1 µs/row, bench/db/load-vs-insert.ts), and the database's CPU is the pipeline's
    // ceiling on this box. GET /api/transactions?source=… pages by a bounded scan of the
    // primary key instead (transactions-query.ts).
    dropIndexes: [{ table: 'transactions', index: 'by_source' }],
    statements: () => [
      `CREATE TABLE IF NOT EXISTS rollup_latency (
        second INT UNSIGNED NOT NULL,
        writer SMALLINT UNSIGNED NOT NULL,
        bucket TINYINT UNSIGNED NOT NULL,
        count INT UNSIGNED NOT NULL,
        PRIMARY KEY (second, writer, bucket)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
  },
  // Version 3 is another branch's (it lands before this one); 4 only adds new tables, so it
  // applies the same after 3 or, on a database that has not seen 3 yet, before it.
  {
    version: 4,
    name: 'alert rules and their state changes',
    statements: () => [
      // One row per rule, the validated rule as JSON (src/alerts/rule-schema.ts): the API
      // writes here, and RULES_FILE seeds it (rules-store.ts).
      `CREATE TABLE IF NOT EXISTS alert_rules (
        name VARCHAR(64) NOT NULL,
        definition TEXT NOT NULL,
        origin VARCHAR(8) NOT NULL,
        updated_ms BIGINT NOT NULL,
        PRIMARY KEY (name)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // The rules file last applied (its SHA-256): an unchanged file does not undo API edits.
      `CREATE TABLE IF NOT EXISTS alert_rules_seed (
        id TINYINT UNSIGNED NOT NULL,
        file_sha256 CHAR(64) NOT NULL,
        seeded_ms BIGINT NOT NULL,
        PRIMARY KEY (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      // Every state change of every alert (GET /api/alerts). by_ts serves time ranges, and
      // by_state_ts the dashboard's "what fired" and a state filter within a range.
      `CREATE TABLE IF NOT EXISTS alert_events (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        ts_ms BIGINT NOT NULL,
        rule VARCHAR(64) NOT NULL,
        source VARCHAR(32) NULL,
        state VARCHAR(8) NOT NULL,
        previous VARCHAR(8) NOT NULL,
        value DOUBLE NULL,
        threshold DOUBLE NOT NULL,
        active_at_ms BIGINT NULL,
        severity VARCHAR(8) NOT NULL,
        labels TEXT NOT NULL,
        annotations TEXT NOT NULL,
        expr VARCHAR(255) NOT NULL,
        PRIMARY KEY (id),
        KEY by_ts (ts_ms),
        KEY by_state_ts (state, ts_ms)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
