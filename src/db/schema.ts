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
  {
    version: 3,
    name: 'rollup money sums that cannot overflow; quarantine of refused rows',
    statements: () => [
      // A signed BIGINT cell overflowed at ~9.2·10^18: ten thousand ingested amounts of
      // 10^15 in one second (one request) were enough, and the writer retried the refused
      // upsert forever (issue 15). The bound now, per cell = (second, source, currency, writer):
      //   items in a cell      ≤ 2^32 − 1 ≈ 4.3·10^9    `count` is INT UNSIGNED, and the
      //                                                   upsert that would pass it is refused
      //                                                   (a permanent error: that request or
      //                                                   row is refused, nothing else stops)
      //   amount of one item   ≤ 10^15 minor units       validate-item.ts MAX_AMOUNT (the
      //                                                   simulator's are below 10^9)
      //   amount, volume       ≤ 4.3·10^9 × 10^15 ≈ 4.3·10^24 per cell
      // A day of such maximal traffic summed over its cells (what a 24 h history read adds
      // up), for every writer id a SMALLINT UNSIGNED can name:
      //   86,400 s × 65,536 writers × 4.3·10^24 ≈ 2.4·10^34  <  10^38 − 1 = DECIMAL(38,0)'s max.
      // Today's real ceiling is ~10^5 items/s per node, 10^4 × below the count bound.
      // processing_ms stays BIGINT UNSIGNED: 4.3·10^9 items × 86,400,000 ms (the largest
      // processingMs accepted) ≈ 3.7·10^17 < 1.8·10^19. rollup_latency.count (INT UNSIGNED)
      // counts one writer's second across sources and currencies: refused, like `count`,
      // past 4.3·10^9 items in one second. Both MySQL 8 and MariaDB 10.6+ accept MODIFY, and
      // running it twice is harmless.
      `ALTER TABLE rollup_seconds
         MODIFY amount DECIMAL(38,0) NOT NULL,
         MODIFY volume DECIMAL(38,0) NOT NULL DEFAULT 0`,
      // Simulator rows the database refused for good (a permanent error, db-errors.ts),
      // isolated from their batch by the writer and kept here for the operator, with the
      // cause. Every column is bounded text or a small integer the writer makes, so writing
      // here cannot fail for the reason the row was refused (the row travels as a string).
      `CREATE TABLE IF NOT EXISTS quarantine (
        seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        at_ms BIGINT NOT NULL,
        writer SMALLINT UNSIGNED NOT NULL,
        tx_id VARCHAR(20) NOT NULL,
        error_code VARCHAR(64) NOT NULL,
        error VARCHAR(512) NOT NULL,
        row_format VARCHAR(8) NOT NULL,
        row_text TEXT NOT NULL,
        PRIMARY KEY (seq),
        KEY by_time (at_ms)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
  },
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
