import type { TemplatedApp } from 'uWebSockets.js';
import type { DbConfig } from '../db/db-config.js';
import { parseTxQuery } from '../db/transactions-query.js';
import { PulseboardError } from '../errors.js';
import { type ReadPool, readRetryAfter } from '../history/read-pool.js';
import { sendError, sendJson, track } from './respond.js';

/**
 * GET /api/transactions: filtered, keyset-paged reads from MySQL (parameters and cost bounds
 * in src/db/transactions-query.ts). The primary checks the parameters, a piscina read
 * thread runs the query and encodes the page: {items: [...], next: cursor | null,
 * scanLimited}. 400 names the bad parameter (`error.field`); 503 + Retry-After without a
 * database, past READ_TIMEOUT_MS (PB_ERR_DB_TIMEOUT) or beyond the reads' share
 * (PB_ERR_READ_BUSY, src/history/read-gate.ts).
 */

export interface TransactionReads {
  pool: ReadPool;
  db: DbConfig | null;
  pageMax: number;
}

export function registerTransactionsRoute(app: TemplatedApp, reads: TransactionReads): void {
  app.get('/api/transactions', async (res, req) => {
    const t = track(res);
    try {
      const query = parseTxQuery(new URLSearchParams(req.getQuery() ?? ''), reads.pageMax);
      if (reads.db === null) {
        throw new PulseboardError(
          'PB_ERR_DB_UNAVAILABLE',
          'transactions are read from the database, and persistence is off (see GET /readyz)',
        );
      }
      sendJson(t, 200, await reads.pool.run({ kind: 'transactions', db: reads.db, query }));
    } catch (err) {
      sendError(t, err, readRetryAfter(err));
    }
  });
}
