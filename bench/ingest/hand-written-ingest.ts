import Fastify from 'fastify';
import mysql from 'mysql2/promise';

/**
 * The ingest endpoint a team typically writes by hand, Pulseboard's peer in
 * bench/ingest/http-ingest.ts (issue 12 §3): Fastify with a JSON schema for the item,
 * mysql2 with a pool of POOL_SIZE (env, default 10) connections, one `INSERT … ON DUPLICATE KEY UPDATE` per
 * request (autocommit: the row is committed when the statement returns), and the answer
 * sent after it. Idempotent on (source, ref) by a unique key, as ours is. Its table has
 * the same columns as Pulseboard's `transactions` plus an AUTO_INCREMENT id.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/db [POOL_SIZE=10] node dist/bench/ingest/hand-written-ingest.js <port>
 * Prints `listening <port>` when ready. Loopback only.
 */

const POOL_SIZE = Number(process.env.POOL_SIZE ?? 10);

const url = process.env.MYSQL_URL;
if (!url) {
  process.stderr.write('hand-written-ingest: set MYSQL_URL\n');
  process.exit(2);
}
const pool = mysql.createPool({ uri: url, connectionLimit: POOL_SIZE });
await pool.query(`CREATE TABLE IF NOT EXISTS transactions (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  ref VARCHAR(128) NOT NULL,
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
  UNIQUE KEY by_ref (source, ref)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);

interface Item {
  ref: string;
  source: string;
  account: string;
  amount: number;
  currency: string;
  type?: string;
  status?: 'completed' | 'failed';
  processingMs?: number;
  createdAt?: number;
}

const app = Fastify({ logger: false });
app.post<{ Body: Item }>(
  '/api/transactions',
  {
    schema: {
      body: {
        type: 'object',
        required: ['ref', 'source', 'account', 'amount', 'currency'],
        properties: {
          ref: { type: 'string', minLength: 1, maxLength: 128 },
          source: { type: 'string', minLength: 1, maxLength: 32 },
          account: { type: 'string', minLength: 1, maxLength: 64 },
          amount: { type: 'integer', minimum: 1 },
          currency: { type: 'string', pattern: '^[A-Z]{3}$' },
          type: { type: 'string', maxLength: 16 },
          status: { type: 'string', enum: ['completed', 'failed'] },
          processingMs: { type: 'integer', minimum: 0 },
          createdAt: { type: 'integer', minimum: 0 },
        },
      },
    },
  },
  async (req) => {
    const t = req.body;
    const now = Date.now();
    const [r] = await pool.execute<mysql.ResultSetHeader>(
      `INSERT INTO transactions
         (ref, source, account, type, amount, currency, status, created_ms, completed_ms, processing_ms, risk_score)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
       ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)`,
      [
        t.ref,
        t.source,
        t.account,
        t.type ?? 'purchase',
        t.amount,
        t.currency,
        t.status ?? 'completed',
        t.createdAt ?? now,
        now,
        t.processingMs ?? 0,
      ],
    );
    // affectedRows: 1 = inserted, 0 or 2 = the (source, ref) was already there.
    return { accepted: 1, duplicates: r.affectedRows === 1 ? 0 : 1, id: String(r.insertId) };
  },
);
const port = Number(process.argv[2] ?? 0);
await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`listening ${(app.server.address() as { port: number }).port}\n`);
